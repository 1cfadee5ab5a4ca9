"""Goldbean's settings, in one place, with one order of precedence (DESIGN.md rule 9):

    defaults  <  environment (``GOLDBEAN_*``)  <  explicit config (``Settings.load(config)``)

An empty environment variable counts as unset. Config keys are the field names below
(``database_url`` or ``DATABASE_URL``); an unknown key is an error, so a typo cannot
silently fall back to a default.

==========================  ==================  ===============================================
environment variable        default             meaning
==========================  ==================  ===============================================
GOLDBEAN_DATABASE_URL       ``sqlite:///var/    where the event log lives: ``sqlite:///rel/path``
                            goldbean.sqlite3``  or ``sqlite:////abs/path``, ``postgresql://user:
                                                pass@host:port/db[?schema=NAME&pool_size=N]``,
                                                or ``memory://``
GOLDBEAN_DEMO               ``false``           demo mode (``1/true/yes/on``, ``0/false/no/off``):
                                                the server seeds a demo community into an empty
                                                database; a random secret key is used if unset
GOLDBEAN_SECRET_KEY         none: **required    signs sessions and tokens; at least 16
                            unless demo**       characters
GOLDBEAN_PAYMENT_CODE_KEYS  derived from the    payment-code signing keys, comma-separated
                            secret key          ``ID:HEX`` (one-digit id, key >= 16 bytes); the
                                                last signs new codes, the others still verify.
                                                Default: key ``1`` = HMAC-SHA256(secret key,
                                                "goldbean payment codes"), so a restart keeps
                                                codes valid
GOLDBEAN_TIME_ZONE          ``Asia/Shanghai``   the programme's zone (IANA name) for days,
                                                months, caps and periods
GOLDBEAN_BEAN_VALUE_FEN     ``100``             cash value of one bean in fen (> 0)
GOLDBEAN_REBATE_BPS         ``1000``            default merchant rebate in basis points
                                                (0..10000; 1000 = 10 %); the first value
                                                of the rule on the record (docs/LEDGER.md)
GOLDBEAN_ADMIN_PASSWORD     none                if set and no admin exists, the server creates
                                                the user ``admin`` with this password
GOLDBEAN_LOG_LEVEL          ``INFO``            DEBUG, INFO, WARNING, ERROR or CRITICAL
GOLDBEAN_PROJECTIONS_INLINE ``true``            every read of a read model first applies the
                                                events recorded since (read-your-writes in one
                                                process); set ``false`` when ``goldbean
                                                projections run`` keeps them up to date and
                                                reads should never write
GOLDBEAN_TRUSTED_PROXIES    ``0``               how many reverse proxies in front of the server
                                                append to ``X-Forwarded-For`` and set
                                                ``X-Forwarded-Proto``: the client's address is
                                                taken that many hops from the right (sign-in
                                                throttling), and HTTPS from the proxy; 0: the
                                                headers are ignored (anyone can forge them)
GOLDBEAN_COOKIE_SECURE      ``true`` (``false`` cookies carry the Secure flag (sent over HTTPS
                            in demo mode)       only); when false, they still get it on a
                                                request that came over HTTPS. Never decided by
                                                the Host header. Browsers treat
                                                http://localhost as secure, so local development
                                                works either way
GOLDBEAN_TERMINAL_TOKEN_DAYS ``180``            a POS terminal's token expires this many days
                                                after it was issued or rotated (1..3650)
GOLDBEAN_CORRECTION_APPROVAL_ABOVE
                            ``100``             a correction of more than this many beans is
                                                prepared by one coordinator and approved by
                                                another (four eyes); 0: every correction
GOLDBEAN_ALLOTMENT_BATCH_APPROVAL_ABOVE
                            ``10000``           an allotment batch granting more than this many
                                                beans in all is prepared by one coordinator and
                                                approved by another; 0: every batch
GOLDBEAN_COMMUNITY_HOTLINE  none (demo: a made- the community's telephone number, printed on
                            up number)          the beneficiary cards ("lost card, questions:
                                                call ..."); at most 40 characters. The first
                                                value only: once the rules are on the record
                                                (docs/LEDGER.md), the hotline is a rule that
                                                admins change there
GOLDBEAN_NOTIFY_WEBHOOK     none                an http(s) URL that receives each notice as
                                                JSON (api/notify.py), for the community's SMS
                                                or WeChat gateway; unset: notices stay in the
                                                people's inboxes only
GOLDBEAN_NOTIFY_INCLUDE_PHONE
                            ``false``           add the recipient's phone number (from the
                                                personal-data store) to each posted notice
GOLDBEAN_NOTIFY_MAX_AGE_HOURS
                            ``72``              a notice not delivered this many hours after
                                                its event is not posted any more (1..8760)
==========================  ==================  ===============================================

Nothing happens at import time: :meth:`Settings.load` reads the environment when called.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.codes import Keyring
from ledger.errors import LedgerError
from ledger.persistence import DEFAULT_URL
from ledger.rules import Rules

log = logging.getLogger(__name__)

ENV_PREFIX = "GOLDBEAN_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "memory")
MIN_SECRET_LENGTH = 16
PAYMENT_KEY_CONTEXT = b"goldbean payment codes"
PAIRING_KEY_CONTEXT = b"goldbean terminal pairing"
MAX_HOTLINE = 40
#: the demo community's telephone (a made-up number, printed on the demo's cards)
DEMO_HOTLINE = "0871-6000 0000"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """Raised when a setting is missing or has a bad value; the message names the
    environment variable, or the config key when the value came from the config."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build them with :meth:`load`; the table is in the module docstring.

    Secrets (``secret_key``, ``payment_code_keys``, ``admin_password``) are left out of
    ``repr`` so that logging a Settings never leaks them.
    """

    database_url: str = DEFAULT_URL
    demo: bool = False
    secret_key: str | None = field(default=None, repr=False)
    payment_code_keys: tuple[str, ...] = field(default=(), repr=False)
    time_zone: str = "Asia/Shanghai"
    bean_value_fen: int = 100
    rebate_bps: int = 1000
    admin_password: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    projections_inline: bool = True
    trusted_proxies: int = 0
    cookie_secure: bool = True
    terminal_token_days: int = 180
    correction_approval_above: int = 100
    allotment_batch_approval_above: int = 10_000
    community_hotline: str | None = None
    notify_webhook: str | None = field(default=None, repr=False)  # may hold a token
    notify_include_phone: bool = False
    notify_max_age_hours: int = 72
    # True when demo mode made up the secret key (it then changes at every start).
    secret_key_generated: bool = False

    @classmethod
    def load(
        cls,
        config: Mapping[str, object] | None = None,
        environ: Mapping[str, str] = os.environ,
        *,
        require_secret: bool = True,
    ) -> Settings:
        """Resolve every setting: defaults < ``environ`` (``GOLDBEAN_*``) < ``config``.

        ``require_secret=False`` is for commands that never sign anything (``goldbean db
        init``): a missing secret key is then left as None instead of an error.

        Raises SettingsError naming the variable for a missing or malformed value.
        """
        raw: dict[str, tuple[object, str]] = {}  # name -> (value, where it came from)
        for name in _NAMES:
            env_value = environ.get(_env_name(name))
            if env_value is not None and env_value.strip() != "":
                raw[name] = (env_value, "environment")
        for key, value in (config or {}).items():
            name = str(key).lower()
            if name not in _NAMES:
                raise SettingsError(
                    f"unknown setting {key!r} in config; known settings: {', '.join(_NAMES)}"
                )
            if value is not None:
                raw[name] = (value, "config")

        def get(name: str, parse, default):
            if name not in raw:
                return default
            value, source = raw[name]
            try:
                return parse(value)
            except (TypeError, ValueError) as error:
                what = f"setting {name}" if source == "config" else _env_name(name)
                raise SettingsError(f"{what}: {error}") from None

        demo = get("demo", _parse_bool, False)
        secret_key = get("secret_key", _parse_secret, None)
        generated = False
        if secret_key is None:
            if demo:
                secret_key, generated = secrets.token_hex(32), True
                log.info("demo mode: using a random %s for this run", _env_name("secret_key"))
            elif require_secret:
                raise SettingsError(
                    f"{_env_name('secret_key')} is required (at least {MIN_SECRET_LENGTH} "
                    f"characters, e.g. the output of "
                    f"`python -c 'import secrets; print(secrets.token_hex(32))'`), "
                    f"unless {_env_name('demo')}=1"
                )
        keys = get("payment_code_keys", _parse_keys, None)
        if keys is None:
            keys = (_derived_payment_key(secret_key),) if secret_key is not None else ()

        settings = cls(
            database_url=get("database_url", _parse_database_url, DEFAULT_URL),
            demo=demo,
            secret_key=secret_key,
            payment_code_keys=keys,
            time_zone=get("time_zone", _parse_time_zone, "Asia/Shanghai"),
            bean_value_fen=get("bean_value_fen", _parse_positive_int, 100),
            rebate_bps=get("rebate_bps", _parse_bps, 1000),
            admin_password=get("admin_password", _parse_text, None),
            log_level=get("log_level", _parse_log_level, "INFO"),
            projections_inline=get("projections_inline", _parse_bool, True),
            trusted_proxies=get("trusted_proxies", _parse_proxies, 0),
            cookie_secure=get("cookie_secure", _parse_bool, not demo),
            terminal_token_days=get("terminal_token_days", _parse_token_days, 180),
            correction_approval_above=get("correction_approval_above", _parse_beans, 100),
            allotment_batch_approval_above=get(
                "allotment_batch_approval_above", _parse_beans, 10_000
            ),
            community_hotline=get(
                "community_hotline", _parse_hotline, DEMO_HOTLINE if demo else None
            ),
            notify_webhook=get("notify_webhook", _parse_webhook, None),
            notify_include_phone=get("notify_include_phone", _parse_bool, False),
            notify_max_age_hours=get("notify_max_age_hours", _parse_max_age, 72),
            secret_key_generated=generated,
        )
        settings.rules()  # every rule the ledger checks itself, checked now
        return settings

    def rules(self) -> Rules:
        """The programme rules these settings choose (SPEC §4 defaults otherwise)."""
        try:
            return Rules(
                time_zone=self.time_zone,
                bean_value_fen=self.bean_value_fen,
                default_rebate_bps=self.rebate_bps,
                correction_approval_above=self.correction_approval_above,
                allotment_batch_approval_above=self.allotment_batch_approval_above,
                community_hotline=self.community_hotline,
            )
        except LedgerError as error:
            raise SettingsError(f"the programme rules are invalid: {error}") from None

    def keyring(self) -> Keyring:
        """The payment-code keyring: ``payment_code_keys``, the last one current."""
        if not self.payment_code_keys:
            raise SettingsError(
                f"no payment-code keys: set {_env_name('secret_key')} "
                f"or {_env_name('payment_code_keys')}"
            )
        try:
            return Keyring.from_secrets(list(self.payment_code_keys))
        except ValueError as error:  # the message never echoes key material
            raise SettingsError(f"{_env_name('payment_code_keys')}: {error}") from None

    def pairing_key(self) -> bytes | None:
        """The key of the till pairing codes' digests: HMAC-SHA256(secret key, "goldbean
        terminal pairing"), the same in every worker (None without a secret key)."""
        if self.secret_key is None:
            return None
        return hmac.new(
            self.secret_key.encode("utf-8"), PAIRING_KEY_CONTEXT, hashlib.sha256
        ).digest()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_NAMES = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "secret_key_generated")


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _derived_payment_key(secret_key: str) -> str:
    key = hmac.new(secret_key.encode("utf-8"), PAYMENT_KEY_CONTEXT, hashlib.sha256).hexdigest()
    return f"1:{key}"


# --- parsers: each takes a value from the environment (str) or the config (any) and
# returns the typed value, or raises ValueError with a message that never repeats a secret.


def _parse_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value.strip()


def _parse_hotline(value: object) -> str:
    text = " ".join(str(value).split())
    if not text or len(text) > MAX_HOTLINE or not text.isprintable():
        raise ValueError(
            f"a telephone number of 1 to {MAX_HOTLINE} characters, e.g. 0871-6512 3456"
        )
    return text


def _parse_webhook(value: object) -> str:
    url = _parse_text(value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// address, e.g. https://gateway/notices")
    return url


def _parse_max_age(value: object) -> int:
    number = _parse_int(value)
    if not 1 <= number <= 8760:
        raise ValueError(f"must be a number of hours from 1 to 8760, got {number}")
    return number


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _parse_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected 1/true/yes/on or 0/false/no/off, got {value!r}")


def _parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    text = _parse_text(value)
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def _parse_positive_int(value: object) -> int:
    number = _parse_int(value)
    if number <= 0:
        raise ValueError(f"must be a positive whole number, got {number}")
    return number


def _parse_proxies(value: object) -> int:
    number = _parse_int(value)
    if not 0 <= number <= 10:
        raise ValueError(
            f"must be the number of proxies in front of the server, 0 to 10, got {number}"
        )
    return number


def _parse_token_days(value: object) -> int:
    number = _parse_int(value)
    if not 1 <= number <= 3650:
        raise ValueError(f"must be a number of days from 1 to 3650, got {number}")
    return number


def _parse_beans(value: object) -> int:
    number = _parse_int(value)
    if not 0 <= number <= 100_000_000:
        raise ValueError(f"must be a number of beans from 0 to 100000000, got {number}")
    return number


def _parse_bps(value: object) -> int:
    number = _parse_int(value)
    if not 0 <= number <= 10_000:
        raise ValueError(f"must be basis points from 0 to 10000, got {number}")
    return number


def _parse_secret(value: object) -> str:
    text = _parse_text(value)
    if len(text) < MIN_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
    return text


def _parse_keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    elif isinstance(value, list | tuple):
        entries = [_parse_text(entry) for entry in value]
    else:
        raise ValueError("expected comma-separated 'ID:HEX' entries")
    Keyring.from_secrets(entries)  # ValueError names the entry's position, not its key
    return tuple(entries)


def _parse_database_url(value: object) -> str:
    url = _parse_text(value)
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}; use sqlite:///path, "
            "postgresql://user:password@host:port/db or memory://"
        )
    if scheme == "sqlite" and not (url.startswith("sqlite:///") and len(url) > len("sqlite:///")):
        raise ValueError(
            "a SQLite URL looks like sqlite:///relative/path or sqlite:////absolute/path"
        )
    return url


def _parse_time_zone(value: object) -> str:
    name = _parse_text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)"
        ) from None
    return name


def _parse_log_level(value: object) -> str:
    level = _parse_text(value).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level
