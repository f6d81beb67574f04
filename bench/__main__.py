"""``python -m bench``: every benchmark, one JSON object per line."""

import sys

from bench import engine

if __name__ == "__main__":
    engine.main(sys.argv[1:])
    if not sys.argv[1:]:
        from bench import dashboard  # written alongside the dashboard

        dashboard.main()
