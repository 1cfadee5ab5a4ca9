"""The API's relational side store: users, tokens, terminals and their pairing codes,
idempotency keys, login failures, the database's own marks (who built it), merchants'
payee bank details and the digests of short payment codes, in plain tables beside the
event log (they must never enter the auditable log).

:class:`Store` wraps one SQLAlchemy Core engine for the same database URL as the ledger
(see :mod:`ledger.persistence`):

* ``memory://`` -- one SQLite database in memory, shared by the threads of this process
  through a single connection (``StaticPool``). SQLite would mix the transactions of two
  threads on one connection, so every transaction here also holds a process lock;
* ``sqlite:///path`` -- the ledger's own SQLite file (WAL, 30 s busy timeout). Writes begin
  with ``BEGIN IMMEDIATE``, so a transaction never has to upgrade a read lock to a write
  lock, which SQLite refuses at once with "database is locked" instead of waiting;
* ``postgresql://user:pass@host:port/db?schema=NAME&pool_size=N...`` -- psycopg 3; the
  ``schema`` is applied by SQLAlchemy's ``schema_translate_map``; ``pool_size``,
  ``max_overflow`` and ``connect_timeout`` configure the pool, and the other Goldbean-only
  parameters are dropped; libpq's own parameters (``sslmode``...) pass through.

Timestamps are timezone-aware UTC in Python on every database (:class:`UTCDateTime`).
Tables are created only by :meth:`Store.create_tables` (``goldbean db init``), never by
workers: concurrent ``CREATE`` on PostgreSQL fails with "tuple concurrently updated".
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    make_url,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from projections.tables import metadata as read_tables
from projections.types import UTCDateTime

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Query parameters of a Goldbean PostgreSQL URL that are not libpq's.
GOLDBEAN_PG_PARAMS = ("schema", "pool_size", "max_overflow", "connect_timeout", "lock_timeout")


metadata = MetaData()

users = Table(
    "gb_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("account_id", String(64)),
    Column("merchant_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

tokens = Table(
    "gb_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the bearer token
    Column("username", String(64)),  # None for a terminal token
    Column("role", String(32), nullable=False),
    Column("account_id", String(64)),
    Column("merchant_id", String(64)),
    Column("terminal_id", String(64)),
    Column("kind", String(16), nullable=False),  # 'session' | 'terminal'
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),  # None: never
    Column("revoked_at", UTCDateTime),
    Index("gb_tokens_username", "username"),
    Index("gb_tokens_terminal_id", "terminal_id"),
)

terminals = Table(
    "gb_terminals",
    metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("merchant_id", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("token_expires_at", UTCDateTime),  # of its current token (issued or rotated)
)

# A one-time code that lets a till fetch its terminal's token (POST /terminals/pair): kept
# only as a keyed digest, beside the log, never in it; single use, valid for 10 minutes.
terminal_pairings = Table(
    "gb_terminal_pairings",
    metadata,
    Column("code_digest", String(64), primary_key=True),  # HMAC-SHA256 hex of the code
    Column("terminal_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Index("gb_terminal_pairings_terminal_id", "terminal_id"),
)

idempotency = Table(
    "gb_idempotency",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status", Integer),  # None while the claiming request is in progress
    Column("response_body", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index("gb_idempotency_created_at", "created_at"),
)

# Invalid codes and wrong PINs presented by a till or a phone, per time bucket.
login_failures = Table(
    "gb_login_failures",
    metadata,
    Column("subject", Text, primary_key=True),  # 'code:<terminal or user>'
    Column("window_start", UTCDateTime, primary_key=True),
    Column("failures", Integer, nullable=False),
)

# Sign-in attempts that did not (yet) succeed, per (user, address) pair and per address,
# with the time before which the next one waits (api/login_throttle.py).
login_attempts = Table(
    "gb_login_attempts",
    metadata,
    Column("subject", Text, primary_key=True),  # 'pair:<user>|<address>' or 'addr:<address>'
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
)

# Facts about the database itself, one row a name: ``built_by`` = ``demo`` when the demo
# built it (api/demo_mark.py), so demo mode never runs on a database holding real data.
marks = Table(
    "gb_marks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)


jobs = Table(
    "gb_jobs",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),  # e.g. 'audit-verify'
    Column("started_by", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # progress, or the worker's heartbeat
    Column("finished_at", UTCDateTime),
    Column("stage", String(32), nullable=False),
    Column("done", BigInteger, nullable=False, default=0),
    Column("total", BigInteger, nullable=False, default=0),
    Column("result", Text),  # JSON, once finished
    Index("gb_jobs_kind_started_at", "kind", "started_at"),
)


# Where a merchant's settlement payments go (api/payees.py): never in the event log, which
# is published; one row a merchant, replaced whole when the admin or the shop saves it.
payees = Table(
    "gb_merchant_payees",
    metadata,
    Column("merchant_id", String(64), primary_key=True),
    Column("payee_name", String(120), nullable=False),
    Column("bank", String(120), nullable=False),
    Column("branch", String(120), nullable=False),  # "" when not given
    Column("account_number", String(40), nullable=False),  # digits only
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),  # a username
)

# Short payment codes (api/short_codes.py): 8 digits a cashier can type, each standing for
# one volunteer's payment code for as long as that code lives. The short code itself is
# kept only as a keyed digest; a live digest is unique (the primary key; a row is taken
# over only once it has expired).
short_codes = Table(
    "gb_short_codes",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("code", String(64), nullable=False),  # the payment code it stands for
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)


class Store:
    """One SQLAlchemy engine on the API's tables for a Goldbean database URL.

    Use :meth:`read` for queries and :meth:`write` for changes; both yield a connection
    inside one transaction that commits on leaving the block (rolls back on an error).
    ValueError for an unsupported URL. Nothing connects until the first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock: threading.RLock | None = None
        self._base_engine: Engine | None = None
        self.schema: str | None = None  # PostgreSQL's schema from the URL, if any
        scheme = urlsplit(url).scheme
        if scheme == "memory" or url in ("sqlite:///:memory:", "sqlite://"):
            self.engine = self._memory_engine()
        elif scheme == "sqlite":
            self.engine = self._sqlite_engine(url)
        elif scheme in ("postgresql", "postgres"):
            self.engine = self._postgres_engine(url)
        else:
            raise ValueError(
                f"unsupported database URL scheme {scheme!r} (sqlite, postgresql, memory)"
            )

    # ----------------------------------------------------------------------------------
    # Engines

    def _memory_engine(self) -> Engine:
        self._lock = threading.RLock()
        engine = create_engine(
            "sqlite+pysqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
        _take_over_sqlite_transactions(engine)
        return engine

    def _sqlite_engine(self, url: str) -> Engine:
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("a SQLite URL looks like sqlite:///path/to/file.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            make_url("sqlite+pysqlite://").set(database=path),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
                # The ledger's recorder switches the file to WAL too; once set it persists.
                cursor.execute("PRAGMA journal_mode")
                if cursor.fetchone()[0].lower() != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL")
            finally:
                cursor.close()

        _take_over_sqlite_transactions(engine)
        return engine

    def _postgres_engine(self, url: str) -> Engine:
        sa_url = make_url(url)
        query = {k: (v[-1] if isinstance(v, tuple) else v) for k, v in sa_url.query.items()}
        sa_url = sa_url.set(drivername="postgresql+psycopg").difference_update_query(
            GOLDBEAN_PG_PARAMS
        )
        # The ledger's defaults, so that both open the same database.
        if sa_url.username is None:
            sa_url = sa_url.set(username=os.environ.get("USER", "postgres"))
        if not sa_url.host:
            sa_url = sa_url.set(host="127.0.0.1")
        if not sa_url.database:
            sa_url = sa_url.set(database="goldbean")
        # No pre-ping, as for the ledger: it costs a round trip per checkout.
        engine = create_engine(
            sa_url,
            pool_size=int(query.get("pool_size", "10")),
            max_overflow=int(query.get("max_overflow", "10")),
            pool_pre_ping=False,
            connect_args={"connect_timeout": int(query.get("connect_timeout", "10"))},
        )
        self._base_engine = engine
        self.schema = query.get("schema") or None
        if self.schema:
            engine = engine.execution_options(schema_translate_map={None: self.schema})
        return engine

    # ----------------------------------------------------------------------------------
    # Transactions

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (deferred ``BEGIN`` on SQLite)."""
        with self._serialized(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self._serialized(), self.engine.connect() as conn:
            conn.execution_options(goldbean_write=True)
            with conn.begin():
                yield conn

    def _serialized(self) -> Any:
        return self._lock if self._lock is not None else nullcontext()

    def insert(self, table: Table) -> Any:
        """An ``INSERT`` with ``on_conflict_do_nothing``/``_do_update`` for this dialect."""
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    # ----------------------------------------------------------------------------------
    # Life cycle

    def create_tables(self) -> None:
        """Create the API's tables, the projections' read tables and their indexes if
        missing (idempotent). Run once, by
        ``goldbean db init``, before any worker starts."""
        with self._serialized(), self.engine.begin() as conn:
            metadata.create_all(conn, checkfirst=True)
            read_tables.create_all(conn, checkfirst=True)
        log.info("API tables and read tables ready")

    def ping(self) -> bool:
        """Readiness: True if the database answers a trivial query; raises if not."""
        with self.read() as conn:
            conn.execute(select(1)).scalar_one()
        return True

    def close(self) -> None:
        """Close the pooled connections (an in-memory database is gone afterwards)."""
        (self._base_engine or self.engine).dispose()


def _take_over_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit ``BEGIN`` (SQLAlchemy's documented recipe), so a
    write transaction can take the write lock up front with ``BEGIN IMMEDIATE``."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("goldbean_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
