"""``python -m bench [NAME ...]``: the named benchmarks, or every one (the dashboard's last), one
JSON object per line."""

import json
import sys

from bench import anchor, engine, pauses, scale, startup

BENCHMARKS = {
    **engine.BENCHMARKS,
    **anchor.BENCHMARKS,
    **startup.BENCHMARKS,
    **pauses.BENCHMARKS,
    **scale.BENCHMARKS,
}


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    for name in names or list(BENCHMARKS):
        print(json.dumps(BENCHMARKS[name]()), flush=True)
    if not names:
        from bench import dashboard  # written alongside the dashboard

        dashboard.main()


if __name__ == "__main__":
    main(sys.argv[1:])
