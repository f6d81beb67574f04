"""Page paths, relative to ``dashboard/app.py``; links and switches use these names."""

CONSOLE = "views/console.py"
INSPECTOR = "views/inspector.py"
NEW_CONFIG = "views/new_config.py"
RUNS = "views/runs.py"
UPCOMING = "views/upcoming.py"
ALERTS = "views/alerts.py"
ADMIN = "views/admin.py"

# Query parameter naming the inspected config: /inspector?config=<id> is a shareable URL.
CONFIG_PARAM = "config"
