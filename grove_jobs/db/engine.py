"""Engine and session factory. SQLite gets WAL, a busy timeout, foreign keys and
``BEGIN IMMEDIATE`` for writes; PostgreSQL goes through psycopg 3, with a pool that checks a
connection before use only when it has sat idle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled connection used this recently is taken as alive, unchecked (HikariCP's
# aliveBypassWindowMs is the same idea and value). A check is a round trip, and on a hot path
# such as Run Now or the sidecar's claim loop it was one of every five; a connection that died
# inside the window fails its first statement, which invalidates the pool, and the I/O
# boundaries retry transient errors.
PING_AFTER_IDLE_SECONDS = 0.5

# Set while a write transaction is opened: SQLite then takes the write lock up front, so two
# writers queue on the busy timeout instead of failing on a read-to-write lock upgrade.
_immediate: ContextVar[bool] = ContextVar("grove_sqlite_immediate", default=False)


class Database:
    """A configured engine plus read and write session scopes."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10):
        self.url = url
        self.engine = make_engine(url, echo=echo, pool_size=pool_size)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        token = _immediate.set(True)
        try:
            with self._sessions() as session, session.begin():
                yield session
        finally:
            _immediate.reset(token)

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """A connection for work whose every write is one statement, atomic on its own.

        On PostgreSQL it is in autocommit mode: no BEGIN and COMMIT round trips, which are most
        of a hot path such as Run Now. On SQLite it is one write transaction, as ``write``."""
        if self.is_sqlite:
            token = _immediate.set(True)
            try:
                with self.engine.begin() as connection:
                    yield connection
            finally:
                _immediate.reset(token)
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (rolled back at the end)."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Create an engine with the per-dialect settings grove-jobs relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, skipped for a connection checked in less than
    ``PING_AFTER_IDLE_SECONDS`` ago."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()  # a new connection needs no check either

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (or a new one).
            raise DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")
