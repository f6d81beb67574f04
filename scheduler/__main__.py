"""``python -m scheduler``: run the sidecar with settings from the environment."""

from grove_jobs.cli import main

if __name__ == "__main__":
    main(["scheduler"])
