"""Who is calling: users with argon2 password hashes, opaque bearer tokens stored hashed,
merchant terminal tokens, the bootstrap admin, and login throttling.

Framework-free: the Flask layer calls :class:`Auth` and maps its errors (one hierarchy
rooted at :class:`AuthError`) to ``401 unauthenticated``, ``422 validation_error`` and so
on. A bearer token is 32 random bytes (URL-safe base64); only its SHA-256 is stored, so a
copy of the database grants nobody a session. Passwords and tokens are never logged.

Sign-in throttling is :mod:`api.login_throttle`: growing delays per (user, address)
and per address, counted before the password is checked, never a lock-out of a user
everywhere. Invalid codes and wrong PINs from a till or a phone are counted here, per
caller, in buckets of ``failure_window / 15`` (rows of ``gb_login_failures``) summed
over the last ``failure_window``. New passwords are judged by :mod:`api.passwords`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, delete, or_, select, update

from api.login_throttle import LoginThrottle, Throttled
from api.passwords import MAX_PASSWORD, password_problem
from api.store import Store, login_failures, terminal_pairings, terminals, tokens, users
from ledger.clock import Clock

log = logging.getLogger(__name__)

ROLES = ("volunteer", "beneficiary", "merchant", "coordinator", "fund_officer", "auditor", "admin")
ACCOUNT_ROLES = frozenset({"volunteer", "beneficiary"})
SESSION = "session"
TERMINAL = "terminal"
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
MAX_LABEL = 200
MAX_TOKEN = 128  # issued tokens are 43 characters; anything much longer is not ours
BUCKETS_PER_WINDOW = 15
PAIRING_DIGITS = 8
PAIRING_CODE = re.compile(rf"[0-9]{{{PAIRING_DIGITS}}}")
PAIRING_TTL = timedelta(minutes=10)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def default_password_hasher() -> PasswordHasher:
    """argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane).

    About 20 ms per hash on this project's 2-core machine, well under the 50 ms budget of
    a login. One lane, because parallel lanes only speed up a single login while taking
    the other core from the worker next door; 19 MiB keeps 4 workers x a few concurrent
    logins small. Raising the cost later is safe: hashes are upgraded at the next login."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def new_token() -> str:
    """A random bearer token (256 bits, URL-safe), never starting with "-": a terminal's
    token is pasted into ``goldbean-pos --token``, where a leading dash reads as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


# ----------------------------------------------------------------------------------------
# Errors


class AuthError(Exception):
    """Raised when authentication or a user/terminal command is refused; the base class."""


class BadCredentials(AuthError):
    """Raised when a login names an unknown or disabled user or gives the wrong password
    (deliberately the same error for all three)."""


class BadToken(AuthError):
    """Raised when a bearer token is unknown, expired or revoked, or its user is
    disabled."""


class LoginThrottled(AuthError):
    """Raised when a sign-in must wait because its (user, address) pair or its address
    failed too often lately; ``retry_after_seconds`` says when the next attempt may be
    made."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class UserExists(AuthError):
    """Raised when a user is created with a username that is already taken."""


class InvalidUser(AuthError):
    """Raised when a new user's username, password, role or linked account/merchant is
    malformed or does not fit the role (or a new terminal's merchant or label)."""


# ----------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Principal:
    """The caller behind a token: a user's session, or a merchant's terminal."""

    username: str | None
    role: str
    account_id: str | None
    merchant_id: str | None
    terminal_id: str | None
    token_kind: str


@dataclass(frozen=True)
class User:
    """A stored user (without the password hash)."""

    username: str
    role: str
    account_id: str | None
    merchant_id: str | None
    created_at: datetime
    disabled: bool


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token (shown to the caller once) and whom it stands for."""

    token: str
    principal: Principal
    expires_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of a bearer token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------


class Auth:
    """Users, logins, tokens and terminals on a :class:`~api.store.Store`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        session_ttl: timedelta = timedelta(hours=12),
        terminal_ttl: timedelta = timedelta(days=180),
        throttle: LoginThrottle | None = None,
        max_code_failures: int = 20,
        failure_window: timedelta = timedelta(minutes=15),
        password_hasher: PasswordHasher | None = None,
        pairing_key: bytes | None = None,
    ) -> None:
        if min(failure_window, session_ttl, terminal_ttl) <= timedelta(0):
            raise ValueError("the failure window and the token lifetimes must be positive")
        self.store = store
        self.clock = clock
        self.session_ttl = session_ttl
        self.terminal_ttl = terminal_ttl
        self.throttle = throttle or LoginThrottle(store)
        self.max_code_failures = max_code_failures
        self.failure_window = failure_window
        self._bucket = failure_window / BUCKETS_PER_WINDOW
        self._hasher = password_hasher or default_password_hasher()
        # Pairing codes are kept as HMACs under this key: 10^8 codes are too few for a
        # plain hash to hide them from someone holding a copy of the database. Every
        # process of one server must have the same key (the app derives it from the
        # secret key); a random one suits a single process (tests).
        self._pairing_key = pairing_key or secrets.token_bytes(32)
        # Unknown users are checked against this, so they cost as much time as known ones.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    # ------------------------------------------------------------------------------------
    # Users

    def create_user(
        self,
        username: str,
        password: str,
        role: str,
        account_id: str | None = None,
        merchant_id: str | None = None,
    ) -> User:
        """Create a user. Raises InvalidUser (bad username, a password of fewer than 8 or
        more than 256 characters or too easy to guess (:mod:`api.passwords`), unknown
        role, a volunteer/beneficiary without an account, a merchant without a merchant,
        or an id the role does not take) and UserExists."""
        check_new_user(username, password, role, account_id, merchant_id)
        user = User(username, role, account_id, merchant_id, self.clock.now(), False)
        row = {**dataclasses.asdict(user), "password_hash": self._hasher.hash(password)}
        with self.store.write() as conn:
            stmt = self.store.insert(users).values(row).on_conflict_do_nothing()
            if conn.execute(stmt.returning(users.c.username)).first() is None:
                raise UserExists(f"the username {username!r} is taken")
        log.info("user created: %s (%s)", username, role)
        return user

    def get_user(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        with self.store.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            return None
        return User(
            row.username, row.role, row.account_id, row.merchant_id, row.created_at, row.disabled
        )

    def disable_user(self, username: str) -> bool:
        """Disable a user and revoke their sessions; False if there is no such user."""
        now = self.clock.now()
        with self.store.write() as conn:
            found = conn.execute(
                update(users).where(users.c.username == username).values(disabled=True)
            ).rowcount
            conn.execute(
                update(tokens)
                .where(tokens.c.username == username, tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        if found:
            log.info("user disabled: %s", username)
        return bool(found)

    def has_admin(self) -> bool:
        """True if a user with the admin role exists (a disabled one too: bootstrapping
        neither re-enables nor replaces an admin that was switched off on purpose)."""
        query = select(users.c.username).where(users.c.role == "admin")
        with self.store.read() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def bootstrap_admin(self, password: str) -> bool:
        """Create the user ``admin`` (role admin) unless an admin exists; True if created.
        Safe when several workers start at once: the losers get False."""
        if self.has_admin():
            return False
        try:
            self.create_user("admin", password, "admin")
        except UserExists:
            if self.has_admin():
                return False
            raise
        log.warning("bootstrap: created the user 'admin'")
        return True

    # ------------------------------------------------------------------------------------
    # Logins and tokens

    def authenticate(self, username: str, password: str, address: str | None) -> IssuedToken:
        """Check a password and issue a session token valid for ``session_ttl``.

        The attempt is counted first (:mod:`api.login_throttle`); raises LoginThrottled
        when this (username, address) pair or this address must still wait (whatever
        the password), else BadCredentials for an unknown or disabled user or a wrong
        password. A success takes the attempt back and clears the pair's failures."""
        now = self.clock.now()
        well_formed = USERNAME.fullmatch(username) is not None  # no user has another name
        subjects = self.throttle.subjects(username if well_formed else None, address)
        try:
            self.throttle.reserve(subjects, now)
        except Throttled as throttled:
            wait = throttled.retry_after_seconds
            log.warning("login throttled for %s s (address %s)", wait, address)
            raise LoginThrottled(wait) from None
        row = None
        if well_formed:
            with self.store.read() as conn:
                row = conn.execute(select(users).where(users.c.username == username)).first()

        verified = self._verify(row, password)
        if row is None or not verified:
            who = username if row is not None else "an unknown user"  # it may be a password
            log.info("login failed for %s from %s", who, address)
            raise BadCredentials("wrong username or password")

        self.throttle.succeeded(subjects)
        principal = Principal(username, row.role, row.account_id, row.merchant_id, None, SESSION)
        expires_at = now + self.session_ttl
        token = new_token()
        with self.store.write() as conn:
            conn.execute(tokens.insert().values(self._token_row(token, principal, now, expires_at)))
            if self._hasher.check_needs_rehash(row.password_hash):
                new_hash = self._hasher.hash(password)
                conn.execute(
                    update(users).where(users.c.username == username).values(password_hash=new_hash)
                )
        log.info("login: %s (%s) from %s", username, row.role, address)
        return IssuedToken(token, principal, expires_at)

    def resolve(self, token: str) -> Principal:
        """Whom a bearer token stands for. Raises BadToken if it is unknown, expired or
        revoked, or its user has been disabled."""
        if not token or len(token) > MAX_TOKEN:
            raise BadToken("unknown token")
        query = (
            select(tokens, users.c.disabled)
            .select_from(tokens.outerjoin(users, tokens.c.username == users.c.username))
            .where(tokens.c.token_hash == hash_token(token))
        )
        with self.store.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise BadToken("unknown token")
        if row.revoked_at is not None:
            raise BadToken("the token was revoked")
        if row.expires_at is not None and self.clock.now() >= row.expires_at:
            raise BadToken("the token has expired")
        if row.disabled:
            raise BadToken("the user is disabled")
        return Principal(
            row.username, row.role, row.account_id, row.merchant_id, row.terminal_id, row.kind
        )

    def revoke(self, token: str) -> bool:
        """Revoke a token (log out); False if it was unknown or revoked already."""
        with self.store.write() as conn:
            done = conn.execute(
                update(tokens)
                .where(tokens.c.token_hash == hash_token(token), tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            ).rowcount
        return bool(done)

    # ------------------------------------------------------------------------------------
    # Terminals

    def create_terminal(self, merchant_id: str, label: str) -> tuple[str, str]:
        """Register a POS terminal of a merchant: ``(terminal_id, token)``. The token is
        shown this once, authenticates as role ``merchant`` and expires after
        ``terminal_ttl`` (:meth:`rotate_terminal` gives a new one). The caller checks
        that the merchant exists and that the label is a clean name. Raises InvalidUser
        for an empty merchant id or a label that is empty or longer than 200 characters."""
        label = (label or "").strip()
        if not merchant_id or len(merchant_id) > 64:
            raise InvalidUser("a terminal needs its merchant's id")
        if not label or len(label) > MAX_LABEL:
            raise InvalidUser(f"a terminal label has 1 to {MAX_LABEL} characters")
        now = self.clock.now()
        expires_at = now + self.terminal_ttl
        terminal_id = str(uuid4())
        principal = Principal(None, "merchant", None, merchant_id, terminal_id, TERMINAL)
        token = new_token()
        with self.store.write() as conn:
            conn.execute(
                terminals.insert().values(
                    terminal_id=terminal_id,
                    merchant_id=merchant_id,
                    label=label,
                    created_at=now,
                    token_expires_at=expires_at,
                )
            )
            conn.execute(tokens.insert().values(self._token_row(token, principal, now, expires_at)))
        log.info("terminal %s created for merchant %s", terminal_id, merchant_id)
        return terminal_id, token

    def rotate_terminal(self, terminal_id: str) -> tuple[str, datetime] | None:
        """A new token for a terminal that is not revoked: ``(token, expires_at)``, shown
        this once; its earlier tokens stop working at once. None for an unknown or
        revoked terminal."""
        now = self.clock.now()
        expires_at = now + self.terminal_ttl
        token = new_token()
        with self.store.write() as conn:
            row = conn.execute(
                select(terminals.c.merchant_id)
                .where(terminals.c.terminal_id == terminal_id, terminals.c.revoked_at.is_(None))
                .with_for_update()
            ).first()
            if row is None:
                return None
            self._replace_terminal_token(conn, terminal_id, row.merchant_id, token, now)
        log.info("terminal %s: token rotated", terminal_id)
        return token, expires_at

    def _replace_terminal_token(
        self, conn: Connection, terminal_id: str, merchant_id: str, token: str, now: datetime
    ) -> datetime:
        """Revoke a terminal's tokens and record ``token`` as its only one; its expiry."""
        expires_at = now + self.terminal_ttl
        conn.execute(
            update(tokens)
            .where(tokens.c.terminal_id == terminal_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        principal = Principal(None, "merchant", None, merchant_id, terminal_id, TERMINAL)
        conn.execute(tokens.insert().values(self._token_row(token, principal, now, expires_at)))
        conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == terminal_id)
            .values(token_expires_at=expires_at)
        )
        return expires_at

    # ------------------------------------------------------------------------------------
    # Pairing a till: a short code instead of copying the 43-character token

    def pairing_digest(self, code: str) -> str:
        """The stored form of a pairing code: HMAC-SHA256 under the pairing key, hex."""
        return hmac.new(self._pairing_key, code.encode("ascii"), hashlib.sha256).hexdigest()

    def new_pairing(self, terminal_id: str) -> tuple[str, datetime] | None:
        """A one-time pairing code of 8 digits for a terminal that is not revoked, and its
        expiry (:data:`PAIRING_TTL` from now). Whoever presents it to :meth:`pair` in time
        gets the terminal's token. The terminal's earlier codes stop working; only the
        code's keyed digest is kept. None for an unknown or revoked terminal."""
        now = self.clock.now()
        expires_at = now + PAIRING_TTL
        with self.store.write() as conn:
            found = conn.execute(
                select(terminals.c.terminal_id).where(
                    terminals.c.terminal_id == terminal_id, terminals.c.revoked_at.is_(None)
                )
            ).first()
            if found is None:
                return None
            conn.execute(
                delete(terminal_pairings).where(
                    or_(
                        terminal_pairings.c.terminal_id == terminal_id,
                        terminal_pairings.c.expires_at <= now,
                    )
                )
            )
            while True:  # a live code of another terminal has these digits: draw again
                code = f"{secrets.randbelow(10**PAIRING_DIGITS):0{PAIRING_DIGITS}d}"
                stmt = self.store.insert(terminal_pairings).values(
                    code_digest=self.pairing_digest(code),
                    terminal_id=terminal_id,
                    created_at=now,
                    expires_at=expires_at,
                )
                stmt = stmt.on_conflict_do_nothing().returning(terminal_pairings.c.code_digest)
                if conn.execute(stmt).first() is not None:
                    break
        log.info("terminal %s: pairing code issued", terminal_id)
        return code, expires_at

    def pair(self, code: str) -> tuple[Terminal, str] | None:
        """Use a pairing code: the terminal and a new token for it (shown this once; the
        terminal's earlier tokens stop working). None for a code that is malformed,
        unknown, used, expired, or of a terminal revoked since."""
        if not isinstance(code, str) or not PAIRING_CODE.fullmatch(code):
            return None
        now = self.clock.now()
        token = new_token()
        with self.store.write() as conn:
            digest = self.pairing_digest(code)
            used = conn.execute(
                update(terminal_pairings)
                .where(
                    terminal_pairings.c.code_digest == digest,
                    terminal_pairings.c.used_at.is_(None),
                    terminal_pairings.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(terminal_pairings.c.terminal_id)
            ).first()
            if used is None:
                return None
            row = conn.execute(
                select(terminals).where(
                    terminals.c.terminal_id == used.terminal_id, terminals.c.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                return None  # (the code stays used: the transaction commits)
            expires_at = self._replace_terminal_token(
                conn, row.terminal_id, row.merchant_id, token, now
            )
        log.info("terminal %s paired", row.terminal_id)
        terminal = Terminal(
            row.terminal_id, row.merchant_id, row.label, row.created_at, None, expires_at
        )
        return terminal, token

    def revoke_terminal(self, terminal_id: str) -> bool:
        """Revoke a terminal and its tokens; False if unknown or already revoked."""
        now = self.clock.now()
        with self.store.write() as conn:
            done = conn.execute(
                update(terminals)
                .where(terminals.c.terminal_id == terminal_id, terminals.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
            conn.execute(
                update(tokens)
                .where(tokens.c.terminal_id == terminal_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        if done:
            log.info("terminal %s revoked", terminal_id)
        return bool(done)

    # ------------------------------------------------------------------------------------
    # Housekeeping

    def purge(self) -> int:
        """Delete expired or revoked tokens, expired pairing codes, code failures older
        than the window and sign-in attempts past being remembered; returns the number of
        rows deleted."""
        now = self.clock.now()
        with self.store.write() as conn:
            gone = conn.execute(
                delete(tokens).where(
                    or_(tokens.c.revoked_at.is_not(None), tokens.c.expires_at <= now)
                )
            ).rowcount
            gone += conn.execute(
                delete(terminal_pairings).where(terminal_pairings.c.expires_at <= now)
            ).rowcount
            gone += conn.execute(
                delete(login_failures).where(
                    login_failures.c.window_start <= now - self.failure_window
                )
            ).rowcount
        return gone + self.throttle.purge(now)

    # ------------------------------------------------------------------------------------

    def _verify(self, row: Row | None, password: str) -> bool:
        if row is None or row.disabled or len(password) > MAX_PASSWORD:
            self._check(self._dummy_hash, password[:MAX_PASSWORD])
            return False
        return self._check(row.password_hash, password)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            log.error("a stored password hash is malformed; the login is refused")
            return False

    @staticmethod
    def _token_row(token: str, p: Principal, now: datetime, expires: datetime | None) -> dict:
        return {
            "token_hash": hash_token(token),
            "username": p.username,
            "role": p.role,
            "account_id": p.account_id,
            "merchant_id": p.merchant_id,
            "terminal_id": p.terminal_id,
            "kind": p.token_kind,
            "created_at": now,
            "expires_at": expires,
        }

    # ------------------------------------------------------------------------------------
    # Guessing codes and PINs

    def code_attempts_wait(self, who: str) -> int:
        """0 if ``who`` (a terminal or user) may present a code now, else the seconds to
        wait: :attr:`max_code_failures` invalid codes or wrong PINs in the failure window
        stop a till or a phone from guessing cards, PINs or check-in codes."""
        with self.store.read() as conn:
            return self._retry_after(conn, f"code:{who}", self.max_code_failures, self.clock.now())

    def count_code_failure(self, who: str) -> None:
        """Count an invalid code or wrong PIN presented by ``who``."""
        with self.store.write() as conn:
            self._count_failure(conn, f"code:{who}", self.clock.now())
        log.info("invalid code or PIN presented by %s", who)

    def _window_start(self, now: datetime) -> datetime:
        return _EPOCH + ((now - _EPOCH) // self._bucket) * self._bucket

    def _count_failure(self, conn: Connection, subject: str, now: datetime) -> None:
        stmt = self.store.insert(login_failures).values(
            subject=subject, window_start=self._window_start(now), failures=1
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[login_failures.c.subject, login_failures.c.window_start],
                set_={"failures": login_failures.c.failures + 1},
            )
        )

    def _retry_after(self, conn: Connection, subject: str, limit: int, now: datetime) -> int:
        """0 if ``subject`` may try now, else the seconds until enough of its recent
        failures have left the window to bring it under ``limit``."""
        rows = conn.execute(
            select(login_failures.c.window_start, login_failures.c.failures)
            .where(
                login_failures.c.subject == subject,
                login_failures.c.window_start > now - self.failure_window,
            )
            .order_by(login_failures.c.window_start)
        ).all()
        total = sum(row.failures for row in rows)
        if total < limit:
            return 0
        for start, failures in rows:  # the oldest bucket leaves the window first
            total -= failures
            if total < limit:
                return max(1, math.ceil((start + self.failure_window - now).total_seconds()))
        raise AssertionError("unreachable: the counts are positive and the limit is >= 1")


def check_new_user(
    username: str, password: str, role: str, account_id: str | None, merchant_id: str | None
) -> None:
    """Raise InvalidUser unless these values make a valid new user."""
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise InvalidUser("a username has 3 to 64 characters: letters, digits and any of _ . - @")
    problem = password_problem(password, username)
    if problem:
        raise InvalidUser(problem)
    if role not in ROLES:
        raise InvalidUser(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role in ACCOUNT_ROLES and not account_id:
        raise InvalidUser(f"a {role} user needs the id of their account")
    # Staff who also volunteer may name their own bean account: the four-eyes rules
    # compare it (nobody verifies an incident they reported or handled). Merchants hold
    # no personal account.
    if role == "merchant" and account_id:
        raise InvalidUser("a merchant user has no personal account")
    if role == "merchant" and not merchant_id:
        raise InvalidUser("a merchant user needs the id of their merchant")
    if role != "merchant" and merchant_id:
        raise InvalidUser(f"a {role} user belongs to no merchant")
    for value in (account_id, merchant_id):
        if value is not None and (not isinstance(value, str) or len(value) > 64):
            raise InvalidUser("an account or merchant id has at most 64 characters")


# ----------------------------------------------------------------------------------------
# For the admin pages (api/web/admin.py): listing users and terminals, re-enabling a user.


@dataclass(frozen=True)
class Terminal:
    """A merchant's POS terminal (never its token)."""

    terminal_id: str
    merchant_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    token_expires_at: datetime | None


def list_users(auth: Auth) -> list[User]:
    """Every user (without password hashes), by username."""
    with auth.store.read() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
    return [
        User(r.username, r.role, r.account_id, r.merchant_id, r.created_at, r.disabled)
        for r in rows
    ]


def enable_user(auth: Auth, username: str) -> bool:
    """Let a disabled user sign in again (their old sessions stay revoked); False if there
    is no such user."""
    with auth.store.write() as conn:
        found = conn.execute(
            update(users).where(users.c.username == username).values(disabled=False)
        ).rowcount
    if found:
        log.info("user enabled: %s", username)
    return bool(found)


def terminals_of(auth: Auth, merchant_id: str) -> list[Terminal]:
    """A merchant's terminals, oldest first (revoked ones too)."""
    query = (
        select(terminals)
        .where(terminals.c.merchant_id == merchant_id)
        .order_by(terminals.c.created_at, terminals.c.terminal_id)
    )
    with auth.store.read() as conn:
        rows = conn.execute(query).all()
    return [
        Terminal(
            r.terminal_id, r.merchant_id, r.label, r.created_at, r.revoked_at, r.token_expires_at
        )
        for r in rows
    ]
