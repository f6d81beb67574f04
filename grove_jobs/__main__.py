"""``python -m grove_jobs``: the same CLI as the ``grove-jobs`` script."""

from grove_jobs.cli import main

if __name__ == "__main__":
    main(prog_name="grove-jobs")
