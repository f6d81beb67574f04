#!/bin/sh
# Container entry point: the first argument names the service.
set -eu
service="${1:-sidecar}"
[ "$#" -gt 0 ] && shift
case "$service" in
    migrate)   exec grove-jobs db upgrade "$@" ;;
    sidecar)   exec grove-jobs scheduler "$@" ;;
    api)       exec grove-jobs api "$@" ;;
    dashboard) cd "$(dirname "$0")/.." && exec python -m dashboard.serve \
                   --server.address 0.0.0.0 --server.port "${PORT:-8501}" "$@" ;;
    seed)      exec grove-jobs demo seed "$@" ;;
    *)         exec "$service" "$@" ;;
esac
