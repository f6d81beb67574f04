"""The console under a maintenance window and a pause (Streamlit AppTest, demo data): the
banner names them and a covered card says when it really runs next."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.components import pause_banner
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.pauses.store import pause
from grove_jobs.pauses.windows import WindowSpec, add_window
from tests.unit.test_dashboard_pages import _seeded_template, console, db, texts  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_status():
    pause_banner.scheduler_status.clear()
    yield
    pause_banner.scheduler_status.clear()


def test_a_window_for_a_tag_shows_a_banner_and_the_covered_card_a_later_run(
    db: Database,  # noqa: F811
) -> None:
    now = utcnow()
    spec = WindowSpec("freeze", starts_at=now, ends_at=now + timedelta(hours=1), tag="synthetic")
    add_window(db, spec, by="test", source="cli")
    at = console()
    assert not at.exception
    banners = texts(at.info)
    assert "Maintenance window freeze" in banners and "configs tagged synthetic" in banners
    notes = texts(at.markdown)
    # Of the two enabled demo configs only synthetic-every-minute has the tag.
    assert "Next run after maintenance" in notes
    assert notes.count("Next run after maintenance") == 1


def test_a_pause_shows_the_warning_banner_with_its_reason(db: Database) -> None:  # noqa: F811
    pause(db, reason="db migration", by="ann@example.com", source="cli", hold_manual=True)
    at = console()
    assert not at.exception
    warning = texts(at.warning)
    assert "Scheduler paused" in warning and "db migration" in warning
    assert "Manual runs are held too" in warning
    assert "Next run after the pause" in texts(at.markdown)


@pytest.mark.parametrize("page", ["views/inspector.py", "views/runs.py", "views/upcoming.py"])
def test_the_inspector_runs_and_upcoming_show_the_pause_too(db: Database, page: str) -> None:  # noqa: F811
    pause(db, reason="db migration", by="ann@example.com", source="cli")
    at = console()
    at.query_params["config"] = "mock-health-check"
    at = at.switch_page(page).run()
    assert not at.exception
    assert "Scheduler paused" in texts(at.warning) and "db migration" in texts(at.warning)


def test_upcoming_marks_the_fires_a_pause_skips(db: Database) -> None:  # noqa: F811
    pause(db, reason="db migration", by="ann@example.com", source="cli")
    at = console().switch_page("views/upcoming.py").run()
    assert not at.exception
    caption = next(line for line in texts(at.caption).splitlines() if "runs of" in line)
    # An open-ended pause skips every fire of the enabled demo configs in the window.
    assert caption.startswith("0 runs of 2 enabled configs, ")
    assert "skipped by a pause or maintenance" in caption
    states = set(at.dataframe[0].value["State"])
    assert states <= {"skipped (paused: db migration)", "disabled"}
    assert "skipped (paused: db migration)" in states
