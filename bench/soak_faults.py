"""The soak's lease faults: a sidecar's main process paused (SIGSTOP), and a sidecar cut off
from the database (its login role set NOLOGIN and its sessions terminated).

Each sidecar connects as a login role of its own so that one can be cut off while the others
still connect; the roles are created for the soak and dropped after it.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from grove_jobs.db.engine import Database


@contextmanager
def sidecar_roles(db: Database, count: int) -> Iterator[list[str]]:
    """``count`` login roles with full rights on the soak database's tables; yields their
    URLs (trust or peer authentication, as the soak's own connection uses)."""
    names = [f"grove_soak_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with db.engine.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
            connection.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{name}"')
            connection.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{name}"')
        connection.commit()
    url = make_url(db.url)
    try:
        yield [url.set(username=name).render_as_string(hide_password=False) for name in names]
    finally:
        with db.engine.connect() as connection:
            for name in names:
                _cut_off(connection, name)
                connection.exec_driver_sql(f'DROP OWNED BY "{name}"')
                connection.exec_driver_sql(f'DROP ROLE "{name}"')
            connection.commit()


def _cut_off(connection, role: str) -> int:
    connection.exec_driver_sql(f'ALTER ROLE "{role}" NOLOGIN')
    killed = connection.execute(
        text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = :r"),
        {"r": role},
    ).scalar_one()
    return int(killed)


def partition(db: Database, url: str, seconds: float) -> int:
    """Cut the sidecar connecting with ``url`` off the database for ``seconds``; returns how
    many of its sessions were terminated."""
    role = make_url(url).username
    with db.engine.connect() as connection:
        killed = _cut_off(connection, role)
        connection.commit()
    try:
        time.sleep(seconds)
    finally:
        with db.engine.connect() as connection:
            connection.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN')
            connection.commit()
    return killed


def pause(pid: int, seconds: float) -> None:
    """SIGSTOP a sidecar's main process (its workers keep running) for ``seconds``."""
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)
