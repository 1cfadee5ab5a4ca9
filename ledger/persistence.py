"""Where the event log lives, chosen by a URL (``GOLDBEAN_DATABASE_URL``):

* ``sqlite:///var/goldbean.sqlite3`` — one SQLite file (the embedded default; a relative
  path after ``sqlite:///``, an absolute one after ``sqlite:////``);
* ``postgresql://user:pass@host:port/db[?schema=NAME&pool_size=N]`` — PostgreSQL through
  eventsourcing's psycopg 3 recorder;
* ``memory://`` — in memory, for unit tests.

Tables are created only when asked (``create_tables=True``, as ``goldbean db init``
does): several workers creating PostgreSQL tables at once fail with "tuple concurrently
updated". ``POSTGRES_ENABLE_DB_FUNCTIONS`` is never set: its insert path skips the table
lock, and readers of the log would then miss events.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ledger.application import Ledger

DEFAULT_URL = "sqlite:///var/goldbean.sqlite3"


def env_for_url(url: str, *, create_tables: bool = False) -> dict[str, str]:
    """The eventsourcing settings for a database URL; ValueError for an unknown scheme."""
    parts = urlsplit(url)
    create = "y" if create_tables else "n"
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("a SQLite URL looks like sqlite:///path/to/file.sqlite3")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": create,
        }
    if parts.scheme in ("postgres", "postgresql"):
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "goldbean",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or os.environ.get("USER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": query.get("pool_size", "10"),
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", "10"),
            "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "10"),
            "POSTGRES_LOCK_TIMEOUT": query.get("lock_timeout", "10"),
            # No pre-ping: it costs a query per pooled connection checkout (a fifth of a
            # redemption); the recorder retries on a broken connection instead.
            "POSTGRES_PRE_PING": "n",
            "CREATE_TABLE": create,
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
        return env
    raise ValueError(
        f"unsupported database URL scheme {parts.scheme!r} (sqlite, postgresql, memory)"
    )


def open_ledger(url: str = DEFAULT_URL, *, create_tables: bool | None = None, **kwargs) -> Ledger:
    """A ledger on the database at ``url``. Keyword arguments (clock, rules, keyring)
    go to :class:`~ledger.application.Ledger`. By default tables are created for SQLite
    and memory, and never for PostgreSQL (use ``init_db``)."""
    if create_tables is None:
        create_tables = not url.startswith("postgres")
    return Ledger(env_for_url(url, create_tables=create_tables), **kwargs)


def init_db(url: str) -> None:
    """Create the ledger's tables (if missing) once, before any worker starts."""
    ledger = Ledger(env_for_url(url, create_tables=True))
    ledger.close()


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
