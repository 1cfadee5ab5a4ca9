"""Find or start a PostgreSQL server for the test suite.

The tests never need a particular PostgreSQL: they need *some* server they may create
schemas in.  :func:`resolve` picks one, in this order:

a. ``GOLDBEAN_TEST_POSTGRES_URL`` if set (e.g. ``postgresql://postgres@127.0.0.1:5432/test``).
   It is used as given; if it cannot be reached the PostgreSQL tests error out.
b. The local server at ``127.0.0.1:5432`` (user ``postgres``, database ``test``) if a psycopg
   connection succeeds within 2 seconds.
c. A throwaway cluster, if ``initdb`` and ``pg_ctl`` are found (on ``PATH``, via
   ``pg_config --bindir``, or under ``/usr/lib/postgresql/*/bin`` and similar).  It is created
   in a temporary directory with ``initdb -A trust -U postgres --no-sync``, started on a free
   port listening on 127.0.0.1 only (unix socket inside the temp dir, ``fsync=off``), given a
   database ``test``, and stopped and deleted by :meth:`Throwaway.stop`.  initdb refuses to run
   as root, so when running as root the cluster is created and run as an unprivileged user
   (``nobody``, else ``postgres``) through ``subprocess``'s ``user=``/``group=``.
d. Nothing: the PostgreSQL tests are skipped with :attr:`Resolution.reason`.

Switches (for checking the fallbacks):

* ``GOLDBEAN_TEST_FORCE_THROWAWAY=1`` skips (a) and (b);
* ``GOLDBEAN_TEST_NO_POSTGRES=1`` goes straight to (d).

Steps (a), (b) and the search for binaries are cheap and done by :func:`resolve` (cached);
the throwaway cluster is only started by :func:`start_throwaway`, which the ``conftest``
calls the first time a test asks for PostgreSQL.

URLs handed to tests carry the schema to use as a query parameter,
``postgresql://user@host:port/db?schema=t_1a2b3c``; :func:`split_schema` takes it apart again
into a libpq conninfo URL and the schema name.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ENV_URL = "GOLDBEAN_TEST_POSTGRES_URL"
ENV_FORCE_THROWAWAY = "GOLDBEAN_TEST_FORCE_THROWAWAY"
ENV_NO_POSTGRES = "GOLDBEAN_TEST_NO_POSTGRES"

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/test"
NO_POSTGRES_REASON = (
    "no PostgreSQL server and no PostgreSQL binaries: "
    "install postgresql or set GOLDBEAN_TEST_POSTGRES_URL"
)

# Users that may own a throwaway cluster when the tests run as root.
UNPRIVILEGED_USERS = ("nobody", "postgres")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------------------------
# URLs


def with_schema(url: str, schema: str) -> str:
    """Return ``url`` with ``schema=<schema>`` in its query string (replacing any)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    query.append(("schema", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


def split_schema(url: str) -> tuple[str, str | None]:
    """Split ``...?schema=x`` into (a URL libpq/psycopg accepts, ``"x"`` or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for printing)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def can_connect(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """Try a psycopg connection; return (ok, error message)."""
    try:
        import psycopg
    except ImportError:
        return False, "psycopg is not installed"
    conninfo, _ = split_schema(url)
    try:
        with psycopg.connect(conninfo, connect_timeout=max(2, int(timeout)), autocommit=True) as c:
            c.execute("SELECT 1")
    except Exception as exc:  # any failure means "not usable"
        return False, str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return True, ""


# --------------------------------------------------------------------------------------------
# Finding binaries


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def _bindir_candidates() -> Iterator[Path]:
    initdb = shutil.which("initdb")
    if initdb:
        yield Path(os.path.realpath(initdb)).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                yield Path(out)
    patterns = [
        "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
        "/usr/pgsql-*/bin",  # RHEL/Fedora PGDG packages
        "/usr/local/pgsql/bin",  # source installs
        "/opt/homebrew/opt/postgresql*/bin",  # macOS Homebrew
        "/usr/local/opt/postgresql*/bin",
        "/Applications/Postgres.app/Contents/Versions/*/bin",
    ]
    for pattern in patterns:
        yield from (Path(p) for p in sorted(glob.glob(pattern), key=_version_key, reverse=True))


def find_bindir() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    for d in _bindir_candidates():
        if all(os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


# --------------------------------------------------------------------------------------------
# Resolution


@dataclass
class Resolution:
    """Which PostgreSQL the tests use.

    ``kind`` is ``"env"``, ``"local"``, ``"throwaway"`` (not started yet: ``bindir`` says
    where the binaries are) or ``"none"`` (``reason`` says why).
    """

    kind: str
    url: str | None = None
    bindir: Path | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "env":
            return f"{redact(self.url or '')} (from ${ENV_URL})"
        if self.kind == "local":
            return f"local server {self.url}"
        if self.kind == "throwaway":
            extra = f" [{'; '.join(self.notes)}]" if self.notes else ""
            return f"throwaway cluster from {self.bindir}, started on first use{extra}"
        return f"none, PostgreSQL tests will be skipped: {self.reason}"


_resolution: Resolution | None = None


def resolve(refresh: bool = False) -> Resolution:
    """Decide which PostgreSQL to use (cached).  Never starts anything."""
    global _resolution
    if _resolution is not None and not refresh:
        return _resolution

    if _flag(ENV_NO_POSTGRES):
        _resolution = Resolution(
            "none", reason=f"{ENV_NO_POSTGRES} is set: PostgreSQL tests are disabled"
        )
        return _resolution

    notes: list[str] = []
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _resolution = Resolution(
            "none",
            reason="psycopg is not installed, so PostgreSQL cannot be used: "
            "pip install -e '.[postgres,test]' (or `make venv`)",
        )
        return _resolution

    if _flag(ENV_FORCE_THROWAWAY):
        notes.append(f"{ENV_FORCE_THROWAWAY} is set")
    else:
        env_url = os.environ.get(ENV_URL, "").strip()
        if env_url:
            _resolution = Resolution("env", url=env_url)
            return _resolution
        ok, err = can_connect(LOCAL_URL, timeout=2)
        if ok:
            _resolution = Resolution("local", url=LOCAL_URL)
            return _resolution
        notes.append(f"127.0.0.1:5432 not usable: {err}")

    bindir = find_bindir()
    if bindir is None:
        _resolution = Resolution("none", reason=NO_POSTGRES_REASON, notes=notes)
        return _resolution
    _resolution = Resolution("throwaway", bindir=bindir, notes=notes)
    return _resolution


# --------------------------------------------------------------------------------------------
# Throwaway cluster


class ThrowawayError(RuntimeError):
    """A throwaway cluster could not be created or started."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _RunAs:
    """Who runs initdb/pg_ctl: the current user, or (as root) an unprivileged one."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    def kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _pick_run_as() -> _RunAs:
    if os.name != "posix" or os.geteuid() != 0:
        return _RunAs()
    import pwd

    for name in UNPRIVILEGED_USERS:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        if pw.pw_uid != 0:
            return _RunAs(name, pw.pw_uid, pw.pw_gid)
    raise ThrowawayError(
        "running as root (initdb refuses to) and no unprivileged user "
        f"({', '.join(UNPRIVILEGED_USERS)}) exists to own a throwaway PostgreSQL cluster"
    )


def _make_tmpdir(run_as: _RunAs) -> Path:
    """A short temp dir (unix socket paths are limited to ~100 bytes) the server user owns."""
    bases = [tempfile.gettempdir(), "/tmp"]
    last_err = ""
    for base in dict.fromkeys(bases):
        d = Path(tempfile.mkdtemp(prefix="goldbean-pg-", dir=base))
        if run_as.uid is not None:
            os.chown(d, run_as.uid, run_as.gid if run_as.gid is not None else -1)
            os.chmod(d, 0o700)
            # Can the unprivileged user actually reach it (all parents traversable)?
            probe = subprocess.run(
                ["test", "-w", str(d), "-a", "-x", str(d)], cwd="/", **run_as.kwargs()
            )
            if probe.returncode != 0:
                last_err = f"{d} is not reachable by user {run_as.name}"
                shutil.rmtree(d, ignore_errors=True)
                continue
        if len(str(d / ".s.PGSQL.65535")) > 100:
            last_err = f"{d} is too long a path for a unix socket"
            shutil.rmtree(d, ignore_errors=True)
            continue
        return d
    raise ThrowawayError(f"no usable temporary directory for PostgreSQL: {last_err}")


@dataclass
class Throwaway:
    """A running throwaway cluster; :meth:`stop` stops it and deletes its directory."""

    bindir: Path
    tmpdir: Path
    port: int
    run_as: _RunAs
    stopped: bool = False

    @property
    def datadir(self) -> Path:
        return self.tmpdir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def describe(self) -> str:
        who = f", run as {self.run_as.name}" if self.run_as.name else ""
        return f"throwaway cluster {self.url} (binaries {self.bindir}, dir {self.tmpdir}{who})"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "LC_ALL"}
        env.update(LC_ALL="C", LANG="C", HOME=str(self.tmpdir))
        if self.run_as.name:
            env.update(USER=self.run_as.name, LOGNAME=self.run_as.name)
        return subprocess.run(
            list(args),
            cwd=self.tmpdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **self.run_as.kwargs(),
        )

    def _log_tail(self, n: int = 15) -> str:
        try:
            lines = (self.tmpdir / "server.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def _initdb(self) -> None:
        r = self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            timeout=120,
        )  # fmt: skip
        if r.returncode != 0:
            raise ThrowawayError(f"initdb failed (exit {r.returncode}):\n{r.stderr or r.stdout}")

    def _start(self) -> None:
        opts = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories='{self.tmpdir}'",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=100",
            ]
        )
        r = self._run(
            str(self.bindir / "pg_ctl"),
            "start", "-D", str(self.datadir), "-l", str(self.tmpdir / "server.log"),
            "-w", "-t", "60", "-o", opts,
            timeout=90,
        )  # fmt: skip
        if r.returncode != 0:
            raise ThrowawayError(
                f"pg_ctl start failed (exit {r.returncode}): {r.stderr.strip()}\n"
                f"server log:\n{self._log_tail()}"
            )

    def _wait_ready_and_create_db(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        while True:
            try:
                with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("CREATE DATABASE test")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ThrowawayError(
                        f"throwaway PostgreSQL did not accept connections: {exc}\n"
                        f"server log:\n{self._log_tail()}"
                    ) from exc
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server (fast, then by signal if needed) and delete the directory."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if (self.datadir / "postmaster.pid").exists():
                try:
                    r = self._run(
                        str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir),
                        "-m", "fast", "-w", "-t", "30",
                        timeout=45,
                    )  # fmt: skip
                    ok = r.returncode == 0
                except subprocess.TimeoutExpired:
                    ok = False
                if not ok:
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)


def start_throwaway(bindir: Path, attempts: int = 3) -> Throwaway:
    """Create and start a throwaway cluster with database ``test``.

    Raises :class:`ThrowawayError` with the reason (and server log) if that fails.
    The cluster is also stopped at interpreter exit, should the caller not get to it.
    """
    run_as = _pick_run_as()
    tmpdir = _make_tmpdir(run_as)
    cluster = Throwaway(bindir=bindir, tmpdir=tmpdir, port=0, run_as=run_as)
    atexit.register(cluster.stop)
    try:
        cluster._initdb()
        for attempt in range(attempts):
            cluster.port = _free_port()
            try:
                cluster._start()
                break
            except ThrowawayError:
                # Most likely someone took the port between _free_port() and the bind.
                if attempt == attempts - 1:
                    raise
        cluster._wait_ready_and_create_db()
    except BaseException:
        cluster.stop()
        raise
    return cluster
