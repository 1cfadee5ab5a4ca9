"""Codes that people type, scan or read out: formats, check digits, signatures and PINs.

Every code is a string of decimal digits whose first digit names its type. Parsing first
normalises the input by removing spaces and dashes, then refuses (:class:`InvalidCode`)
anything that is not all ASCII digits or has the wrong length or type digit.

Check digits use the Damm algorithm (quasigroup of order 10), which catches every
single-digit error and every transposition of adjacent digits.

* Account number, 8 digits, first digit 1-9 (random).
* Volunteer payment code, 37 digits, shown by the volunteer, valid for 60 s by default::

      8 | key id (1) | account number (8) | issue second mod 100000 (5) | nonce (2) | MAC (20)

  The random nonce lets a volunteer show a fresh code within the same second as one just
  used (the ledger draws again on the rare repeat).

  The issue second is whole UTC seconds since the epoch. The MAC is the first 8 bytes of
  HMAC-SHA256(key, b"goldbean/payment-code/v1/" + the first 17 digits + "/" + the *full*
  issue second), read as a big-endian unsigned integer and zero-padded to 20 digits (64
  bits). Only the last 5 digits of the issue second travel in the code; the verifier
  takes the latest matching second, so a code replayed a whole 100000 s cycle later is
  checked against another second and its MAC fails. The key id names the key in the
  :class:`Keyring`, so codes issued before a key rotation keep verifying while the old
  key stays in the ring. Using a code only once is enforced by the ledger.
* Beneficiary card code, 17 digits: ``6`` + card number (15, first 1-9) + Damm digit.
  Printed once; it uses no key, so key rotation never invalidates a card.
* Merchant counter code, 10 digits: ``7`` + account number (8) + Damm digit.
* Activity check-in code, 13 digits: ``5`` + 11 random digits + Damm digit.

Card PINs are 4 digits, stored as ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TypeGuard

from ledger.errors import CodeExpired, InvalidCode, ValidationError

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

PAYMENT_PREFIX, CARD_PREFIX, MERCHANT_PREFIX, CHECKIN_PREFIX = "8", "6", "7", "5"
PAYMENT_LENGTH, CARD_LENGTH, MERCHANT_LENGTH, CHECKIN_LENGTH = 37, 17, 10, 13
_PAYMENT_BODY = 17  # digits before the MAC
_KINDS = {
    (PAYMENT_PREFIX, PAYMENT_LENGTH): "payment",
    (CARD_PREFIX, CARD_LENGTH): "card",
    (MERCHANT_PREFIX, MERCHANT_LENGTH): "merchant",
    (CHECKIN_PREFIX, CHECKIN_LENGTH): "checkin",
}
_MAC_CONTEXT = b"goldbean/payment-code/v1/"
_TIME_MODULUS = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

# A 4-digit PIN has only 10,000 values, so no hash makes it resist offline guessing;
# the protection is the card lock-out after 5 wrong tries. The cost is kept low so a
# PIN check does not slow down the point of sale.
PIN_ITERATIONS = 20_000
_PIN_SALT_BYTES = 16


def _is_digits(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _random_digits(count: int, *, nonzero_first: bool = False) -> str:
    first = 1 + secrets.randbelow(9) if nonzero_first else secrets.randbelow(10)
    return str(first) + "".join(str(secrets.randbelow(10)) for _ in range(count - 1))


def _digits_of(code: object) -> str:
    """Remove spaces and dashes; InvalidCode unless only ASCII digits remain."""
    digits = code.replace(" ", "").replace("-", "") if isinstance(code, str) else ""
    if not _is_digits(digits):
        raise InvalidCode("a code is a string of decimal digits")
    return digits


def _normalise(code: object, prefix: str, length: int, what: str) -> str:
    digits = _digits_of(code)
    if len(digits) != length or digits[0] != prefix:
        raise InvalidCode(f"not a {what}: {length} digits starting with {prefix}")
    return digits


def _has_shape(value: object, length: int) -> TypeGuard[str]:
    return _is_digits(value) and len(value) == length and value[0] != "0"


def _check_account_number(account_number: object) -> str:
    if not _has_shape(account_number, 8):
        raise ValueError("an account number is 8 digits, the first one 1-9")
    return account_number


def _whole_seconds(moment: datetime) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return (moment - _EPOCH) // _SECOND


# --- Damm check digit --------------------------------------------------------------


def damm_check_digit(digits: str) -> str:
    """Return the Damm check digit for a string of decimal digits."""
    if not isinstance(digits, str) or (digits and not _is_digits(digits)):
        raise ValueError("damm_check_digit needs a string of decimal digits")
    interim = 0
    for char in digits:
        interim = _DAMM[interim][ord(char) - 48]
    return str(interim)


def damm_is_valid(digits_with_check: str) -> bool:
    """Return True if the last digit is the Damm check digit of the digits before it."""
    if not _is_digits(digits_with_check):
        return False
    return damm_check_digit(digits_with_check) == "0"


# --- Account numbers ---------------------------------------------------------------


def new_account_number() -> str:
    """Return a random 8-digit account number whose first digit is 1-9."""
    return _random_digits(8, nonzero_first=True)


# --- Volunteer payment codes -------------------------------------------------------


class Keyring:
    """Payment-code signing keys by one-digit key id; ``current`` signs new codes."""

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        checked: dict[int, bytes] = {}
        for key_id, key in keys.items():
            if type(key_id) is not int or not 0 <= key_id <= 9:
                raise ValueError("key ids are integers 0..9")
            if not isinstance(key, bytes) or len(key) < 16:
                raise ValueError(f"key {key_id} must be at least 16 bytes")
            checked[key_id] = key
        if type(current) is not int or current not in checked:
            raise ValueError("the current key id must be one of the keys")
        self._keys = MappingProxyType(checked)
        self._current = current

    @classmethod
    def from_secrets(cls, secrets_: Sequence[str]) -> Keyring:
        """Build a keyring from "ID:HEXKEY" strings; the last one is the current key."""
        if isinstance(secrets_, str) or not secrets_:
            raise ValueError("give a non-empty sequence of 'ID:HEXKEY' strings")
        keys: dict[int, bytes] = {}
        key_id = -1
        for position, entry in enumerate(secrets_, start=1):
            id_text, sep, hex_key = str(entry).strip().partition(":")
            try:
                if not sep or not _is_digits(id_text) or len(id_text) != 1:
                    raise ValueError
                key_id, key = int(id_text), bytes.fromhex(hex_key)
            except ValueError:
                # Never echo the entry itself: it holds key material.
                message = f"keyring entry {position} is not 'ID:HEXKEY'"
                raise ValueError(message) from None
            if key_id in keys:
                raise ValueError(f"key id {key_id} appears more than once")
            keys[key_id] = key
        return cls(keys, current=key_id)

    @classmethod
    def generate(cls) -> Keyring:
        """Return a keyring with one random 32-byte key, id 1 (for tests and demos)."""
        return cls({1: secrets.token_bytes(32)}, current=1)

    @property
    def current(self) -> int:
        """The id of the key that signs new codes."""
        return self._current

    def card_number_for(self, *parts: str) -> str:
        """A 15-digit card number (first digit 1-9) derived from ``parts`` with the current
        key: the same parts give the same number, and without the key it is as hard to
        guess as a random one. A keyed card issue (a request sent again) prints one card."""
        message = "\x00".join(("card number", *parts)).encode()
        mac = hmac.new(self._keys[self._current], message, hashlib.sha256).digest()
        return str(10**14 + int.from_bytes(mac) % (9 * 10**14))

    @property
    def key_ids(self) -> tuple[int, ...]:
        """The ids of all keys in the ring, in ascending order."""
        return tuple(sorted(self._keys))

    def key(self, key_id: int) -> bytes | None:
        """Return the key with this id, or None if the ring does not hold it."""
        return self._keys.get(key_id)

    def __repr__(self) -> str:
        return f"Keyring(key_ids={list(self.key_ids)}, current={self._current})"


@dataclass(frozen=True)
class IssuedPaymentCode:
    """A freshly issued payment code and the moment it stops being accepted."""

    code: str
    expires_at: datetime


@dataclass(frozen=True)
class PaymentCodeClaims:
    """What a verified payment code says: who presents it and when it was issued."""

    account_number: str
    issued_at: datetime
    expires_at: datetime
    code: str


def _payment_mac(key: bytes, body: str, issued: int) -> str:
    message = _MAC_CONTEXT + f"{body}/{issued}".encode("ascii")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big")).zfill(20)


def _check_window(ttl_seconds: int, skew_seconds: int = 0) -> None:
    if not (ttl_seconds > 0 and 0 <= skew_seconds < _TIME_MODULUS - ttl_seconds):
        raise ValueError("need 0 < ttl_seconds, 0 <= skew_seconds, ttl + skew < 100000")


def issue_payment_code(
    keyring: Keyring, account_number: str, now: datetime, ttl_seconds: int = 60
) -> IssuedPaymentCode:
    """Issue a payment code for an account, signed with the keyring's current key."""
    _check_account_number(account_number)
    _check_window(ttl_seconds)
    issued = _whole_seconds(now)
    stamp = issued % _TIME_MODULUS
    nonce = secrets.randbelow(100)
    body = f"{PAYMENT_PREFIX}{keyring.current}{account_number}{stamp:05d}{nonce:02d}"
    code = body + _payment_mac(keyring._keys[keyring.current], body, issued)
    expires_at = _EPOCH + (issued + ttl_seconds) * _SECOND
    return IssuedPaymentCode(code=code, expires_at=expires_at)


def verify_payment_code(
    keyring: Keyring,
    code: str,
    now: datetime,
    ttl_seconds: int = 60,
    skew_seconds: int = 5,
) -> PaymentCodeClaims:
    """Check a payment code's format, key and MAC, then its age; return its claims.

    Raises InvalidCode for a malformed code, an unknown key id or a wrong MAC, and
    CodeExpired when ``now`` is more than ``ttl_seconds`` after the issue second.
    """
    _check_window(ttl_seconds, skew_seconds)
    now_seconds = _whole_seconds(now)
    digits = _normalise(code, PAYMENT_PREFIX, PAYMENT_LENGTH, "payment code")
    body, mac = digits[:_PAYMENT_BODY], digits[_PAYMENT_BODY:]
    key = keyring.key(int(digits[1]))
    if key is None:
        raise InvalidCode("the payment code names an unknown key")
    # The latest second <= now + skew whose value mod 100000 is the embedded one.
    latest = now_seconds + skew_seconds
    issued = latest - (latest - int(body[10:15])) % _TIME_MODULUS
    if not hmac.compare_digest(_payment_mac(key, body, issued), mac):
        raise InvalidCode("the payment code's signature does not match")
    issued_at = _EPOCH + issued * _SECOND
    expires_at = issued_at + ttl_seconds * _SECOND
    if now > expires_at:
        raise CodeExpired(f"the payment code expired at {expires_at.isoformat()}")
    return PaymentCodeClaims(
        account_number=body[2:10],
        issued_at=issued_at,
        expires_at=expires_at,
        code=digits,
    )


def format_for_display(code: str) -> str:
    """Return the code's digits in groups of 4 separated by spaces."""
    digits = _digits_of(code)
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


# --- Static codes: beneficiary cards, merchant counters, activity check-ins --------


def new_card_number() -> str:
    """Return a random 15-digit card number whose first digit is 1-9."""
    return _random_digits(15, nonzero_first=True)


def card_code(card_number: str) -> str:
    """Return the 17-digit printed card code for a 15-digit card number."""
    if not _has_shape(card_number, 15):
        raise ValueError("a card number is 15 digits, the first one 1-9")
    body = CARD_PREFIX + card_number
    return body + damm_check_digit(body)


def parse_card_code(code: str) -> str:
    """Validate a card code and return its card number."""
    digits = _normalise(code, CARD_PREFIX, CARD_LENGTH, "card code")
    if digits[1] == "0" or not damm_is_valid(digits):
        raise InvalidCode("the card code's check digit does not match")
    return digits[1:16]


def merchant_code(account_number: str) -> str:
    """Return the 10-digit counter code for a merchant's account number."""
    body = MERCHANT_PREFIX + _check_account_number(account_number)
    return body + damm_check_digit(body)


def parse_merchant_code(code: str) -> str:
    """Validate a merchant counter code and return the merchant's account number."""
    digits = _normalise(code, MERCHANT_PREFIX, MERCHANT_LENGTH, "merchant code")
    if digits[1] == "0" or not damm_is_valid(digits):
        raise InvalidCode("the merchant code's check digit does not match")
    return digits[1:9]


def new_checkin_code() -> str:
    """Return a new random 13-digit activity check-in code."""
    body = CHECKIN_PREFIX + _random_digits(11)
    return body + damm_check_digit(body)


def parse_checkin_code(code: str) -> str:
    """Validate a check-in code and return it normalised."""
    digits = _normalise(code, CHECKIN_PREFIX, CHECKIN_LENGTH, "check-in code")
    if not damm_is_valid(digits):
        raise InvalidCode("the check-in code's check digit does not match")
    return digits


def classify_code(code: str) -> str:
    """Return "payment", "card", "merchant" or "checkin" by type digit and length.

    Only the shape is looked at; the parse functions check the check digit or MAC.
    """
    digits = _digits_of(code)
    kind = _KINDS.get((digits[0], len(digits)))
    if kind is None:
        raise InvalidCode("not a recognised code")
    return kind


# --- Card PINs ---------------------------------------------------------------------


_PIN_SCHEME = "pbkdf2_sha256_peppered"


def validate_pin(pin: str) -> str:
    """Return the PIN if it is exactly 4 ASCII digits, else raise ValidationError."""
    if not (_is_digits(pin) and len(pin) == 4):
        raise ValidationError("a PIN is exactly 4 digits")
    return pin


def _pin_hash(pin: str, salt: bytes, iterations: int, pepper: bytes) -> bytes:
    # The pepper (a server key, never stored with the verifier) makes a stolen verifier
    # useless on its own: 10,000 PINs are quickly tried against a hash without one.
    peppered = hmac.new(pepper, pin.encode("ascii"), hashlib.sha256).digest()
    return hashlib.pbkdf2_hmac("sha256", peppered, salt, iterations)


def hash_pin(pin: str, pepper: bytes) -> str:
    """A PIN verifier "pbkdf2_sha256_peppered$<iterations>$<salt hex>$<hash hex>", new salt.
    It is kept in the personal-data store (ledger/personal.py), never in the log."""
    validate_pin(pin)
    salt = secrets.token_bytes(_PIN_SALT_BYTES)
    digest = _pin_hash(pin, salt, PIN_ITERATIONS, pepper)
    return f"{_PIN_SCHEME}${PIN_ITERATIONS}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str, pepper: bytes) -> bool:
    """Return True if the PIN matches the stored verifier; ValidationError if malformed."""
    validate_pin(pin)
    parts = stored.split("$") if isinstance(stored, str) else []
    try:
        if len(parts) != 4 or parts[0] != _PIN_SCHEME or not _is_digits(parts[1]):
            raise ValueError
        iterations = int(parts[1])
        salt, expected = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
        if not 1 <= iterations <= 10_000_000:
            raise ValueError
    except ValueError:
        raise ValueError("the stored PIN hash is malformed") from None
    return hmac.compare_digest(_pin_hash(pin, salt, iterations, pepper), expected)
