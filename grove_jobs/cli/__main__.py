"""``python -m grove_jobs.cli``: the same CLI as the ``grove-jobs`` script."""

import sys

from grove_jobs.cli import main

if __name__ == "__main__":
    sys.exit(main(prog_name="grove-jobs"))
