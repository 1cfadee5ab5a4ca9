"""Short payment codes: 8 digits a cashier can type when the till's camera fails.

A volunteer's payment code (ledger/codes.py) is 37 digits, which nobody types at a till
within its 60 seconds. Beside each payment code the volunteer's page shows a short code:
8 random digits that stand for that payment code for as long as it lives (60 s). A till
that types the short code redeems the payment code it stands for, so everything the
ledger checks of a payment code holds for the short one too: bound to the volunteer's
account, expiring with it, accepted once (``PaymentCodeUsed``), the same Idempotency-Key
replay. A short code that stands for no live payment code is an invalid code, throttled
like any other (20 a till per 15 minutes, :func:`api.security.limited_code_attempts`).

Nothing here enters the event log. The table ``gb_short_codes`` (api/store.py) keeps a
keyed digest of the short code (``Ledger.digest``, an HMAC under the database's lookup
key), never the digits, with the payment code, the account and the expiry; a live digest
is unique (the primary key: a row is taken over only after it expired), and each account
has at most one live short code (a new one replaces the last). Expired rows are deleted
as new codes are issued. The guessing bound is in docs/API.md ("Short payment codes").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select

from api.store import Store, short_codes

#: the ledger's keyed digest, ``Ledger.digest(kind, value)``
Digest = Callable[[str, str], str]

SHORT_LENGTH = 8
DIGEST_KIND = "short payment code"
#: draws before giving up on finding an unused short code (the space is 10^8)
DRAWS = 20
#: rows are kept this long after they expire, then deleted
KEEP_EXPIRED = timedelta(minutes=10)


class NoShortCode(Exception):
    """Every draw was taken (practically impossible: the space is 10^8)."""


def is_short_code(code: str) -> bool:
    """Whether a typed code has the shape of a short code (8 digits, spaces ignored)."""
    digits = _digits(code)
    return len(digits) == SHORT_LENGTH and digits.isascii() and digits.isdigit()


def format_short_code(code: str) -> str:
    """``1234 5678``: two groups of four, as the page shows it."""
    return f"{code[:4]} {code[4:]}"


def issue_short_code(
    store: Store,
    digest_of: Digest,
    account_id: str,
    payment_code: str,
    expires_at: datetime,
    now: datetime,
) -> str:
    """A fresh short code for ``payment_code`` (of ``account_id``), live until
    ``expires_at``; the account's earlier short code stops standing for anything."""
    t = short_codes.c
    # Drawn and digested before the transaction: the digest key may be read (or made, on a
    # new database) through the ledger's own connection, which on SQLite would wait for
    # this transaction's write lock.
    drawn = ["".join(str(secrets.randbelow(10)) for _ in range(SHORT_LENGTH)) for _ in range(DRAWS)]
    digests = {short: digest_of(DIGEST_KIND, short) for short in drawn}
    with store.write() as conn:
        conn.execute(delete(short_codes).where(t.expires_at < now - KEEP_EXPIRED))
        conn.execute(delete(short_codes).where(t.account_id == account_id))
        for short in drawn:
            row = {
                "digest": digests[short],
                "account_id": account_id,
                "code": payment_code,
                "expires_at": expires_at,
            }
            insert = store.insert(short_codes).values(**row)
            # a digest whose code has expired is taken over; a live one is left alone
            taken = insert.on_conflict_do_update(
                index_elements=[t.digest],
                set_={name: insert.excluded[name] for name in row if name != "digest"},
                where=short_codes.c.expires_at < now,
            )
            if conn.execute(taken.returning(t.digest)).first() is not None:
                return short
    raise NoShortCode("no unused short code was drawn")


def payment_code_for(store: Store, digest_of: Digest, short: str, now: datetime) -> str | None:
    """The payment code a typed short code stands for; None when it stands for none
    (never issued, replaced, or long expired). A code that expired a moment ago is still
    found, so that the ledger answers ``code_expired`` rather than ``invalid_code``."""
    t = short_codes.c
    digest = digest_of(DIGEST_KIND, _digits(short))  # before the read: see issue_short_code
    with store.read() as conn:
        query = select(t.code).where(and_(t.digest == digest, t.expires_at >= now - KEEP_EXPIRED))
        found: str | None = conn.execute(query).scalar_one_or_none()
    return found


def _digits(code: str) -> str:
    return str(code).replace(" ", "").replace("-", "")
