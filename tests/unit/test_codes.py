"""Unit tests for ledger.codes: check digits, payment codes, static codes and PINs."""

from __future__ import annotations

import hashlib
import hmac
import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codes
from ledger.codes import (
    IssuedPaymentCode,
    Keyring,
    PaymentCodeClaims,
    card_code,
    check_pin,
    classify_code,
    damm_check_digit,
    damm_is_valid,
    format_for_display,
    hash_pin,
    issue_payment_code,
    merchant_code,
    new_account_number,
    new_card_number,
    new_checkin_code,
    parse_card_code,
    parse_checkin_code,
    parse_merchant_code,
    validate_pin,
    verify_payment_code,
)
from ledger.errors import CodeExpired, InvalidCode, ValidationError

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))
ACCOUNT = "12345678"
NOW = datetime(2024, 5, 17, 10, 30, 0, tzinfo=UTC)


def ring(*key_ids: int, current: int | None = None) -> Keyring:
    keys = {1: KEY_1, 2: KEY_2}
    chosen = {key_id: keys[key_id] for key_id in key_ids}
    return Keyring(chosen, current=key_ids[-1] if current is None else current)


def single_digit_changes(code: str):
    for position, digit in enumerate(code):
        for replacement in "0123456789":
            if replacement != digit:
                yield code[:position] + replacement + code[position + 1 :]


def adjacent_transpositions(code: str):
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            yield code[:position] + b + a + code[position + 2 :]


# --- Damm check digit --------------------------------------------------------------


def test_the_damm_check_digit_of_572_is_4():
    assert damm_check_digit("572") == "4"
    assert damm_is_valid("5724")


def test_a_damm_checked_number_with_any_single_digit_changed_is_invalid():
    number = "4917352806" + damm_check_digit("4917352806")
    assert damm_is_valid(number)
    assert not any(damm_is_valid(changed) for changed in single_digit_changes(number))


def test_a_damm_checked_number_with_adjacent_digits_swapped_is_invalid():
    number = "4917352806" + damm_check_digit("4917352806")
    swapped = list(adjacent_transpositions(number))
    assert swapped
    assert not any(damm_is_valid(changed) for changed in swapped)


@pytest.mark.parametrize("value", ["", "12a4", "١٢٣", None, 1234])
def test_damm_is_valid_is_false_for_anything_but_digits(value):
    assert damm_is_valid(value) is False


def test_damm_check_digit_refuses_non_digits():
    with pytest.raises(ValueError):
        damm_check_digit("12a")


# --- Account numbers ---------------------------------------------------------------


def test_a_new_account_number_is_8_digits_not_starting_with_zero():
    for _ in range(200):
        number = new_account_number()
        assert len(number) == 8 and number.isdigit() and number[0] != "0"


# --- Keyring -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "current"),
    [
        ({10: KEY_1}, 10),
        ({-1: KEY_1}, -1),
        ({True: KEY_1}, True),
        ({1: b"short"}, 1),
        ({1: "not bytes, a str!"}, 1),
        ({1: KEY_1}, 2),
        ({}, 0),
    ],
)
def test_a_keyring_with_bad_ids_short_keys_or_a_missing_current_key_is_refused(keys, current):
    with pytest.raises(ValueError):
        Keyring(keys, current=current)


def test_a_keyring_from_secrets_takes_the_last_entry_as_current():
    keyring = Keyring.from_secrets([f"1:{KEY_1.hex()}", f" 2:{KEY_2.hex()} "])
    assert keyring.current == 2
    assert keyring.key_ids == (1, 2)
    assert keyring.key(1) == KEY_1 and keyring.key(2) == KEY_2


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [f"1{KEY_1.hex()}"],
        [f"x:{KEY_1.hex()}"],
        [f"12:{KEY_1.hex()}"],
        ["1:zz" + KEY_1.hex()],
        ["1:00ff"],
        [f"1:{KEY_1.hex()}", f"1:{KEY_2.hex()}"],
    ],
)
def test_malformed_keyring_secrets_are_refused(entries):
    with pytest.raises(ValueError):
        Keyring.from_secrets(entries)


def test_a_malformed_keyring_secret_is_not_echoed_in_the_error():
    secret = "zz" + KEY_2.hex()
    with pytest.raises(ValueError) as refused:
        Keyring.from_secrets([f"1:{secret}"])
    assert secret not in str(refused.value)


def test_a_generated_keyring_holds_one_random_32_byte_key_with_id_1():
    first, second = Keyring.generate(), Keyring.generate()
    assert first.current == 1 and first.key_ids == (1,)
    assert len(first.key(1)) == 32
    assert first.key(1) != second.key(1)


def test_a_keyring_repr_never_shows_its_keys():
    keyring = ring(1, 2)
    text = repr(keyring) + str(keyring)
    assert KEY_1.hex() not in text and KEY_2.hex() not in text
    assert repr(KEY_1) not in text and repr(KEY_2) not in text
    assert "current=2" in text


# --- Volunteer payment codes -------------------------------------------------------


def test_a_payment_code_round_trips_to_its_account_and_issue_time():
    issued = issue_payment_code(ring(1), ACCOUNT, NOW)
    claims = verify_payment_code(ring(1), issued.code, NOW + timedelta(seconds=10))
    assert isinstance(issued, IssuedPaymentCode)
    assert claims == PaymentCodeClaims(
        account_number=ACCOUNT,
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
        code=issued.code,
    )
    assert issued.expires_at == NOW + timedelta(seconds=60)


def test_a_payment_code_is_37_digits_starting_with_8_and_the_key_id():
    code = issue_payment_code(ring(1, 2), ACCOUNT, NOW).code
    assert len(code) == 37 and code.isdigit()
    assert code[:2] == "82"


def test_the_payment_code_contains_the_account_number_but_nothing_else_personal():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    stamp = f"{int(NOW.timestamp()) % 100_000:05d}"
    body = "81" + ACCOUNT + stamp + code[15:17]  # the last two are the random nonce
    message = f"goldbean/payment-code/v1/{body}/{int(NOW.timestamp())}".encode()
    digest = hmac.new(KEY_1, message, hashlib.sha256).digest()
    mac = f"{int.from_bytes(digest[:8], 'big'):020d}"
    assert code == body + mac


def test_the_issue_second_is_truncated_and_the_expiry_follows_the_ttl():
    issued = issue_payment_code(
        ring(1), ACCOUNT, NOW + timedelta(microseconds=999_999), ttl_seconds=90
    )
    assert issued.expires_at == NOW + timedelta(seconds=90)
    claims = verify_payment_code(ring(1), issued.code, NOW, ttl_seconds=90)
    assert claims.issued_at == NOW


def test_codes_shown_within_the_same_second_differ_by_their_nonce():
    codes = {issue_payment_code(ring(1), ACCOUNT, NOW).code for _ in range(50)}
    assert len(codes) > 1
    stamp = f"{int(NOW.timestamp()) % 100_000:05d}"
    assert {code[:15] for code in codes} == {"81" + ACCOUNT + stamp}


def test_a_payment_code_is_still_valid_at_exactly_its_ttl():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    claims = verify_payment_code(ring(1), code, NOW + timedelta(seconds=60))
    assert claims.account_number == ACCOUNT


def test_a_payment_code_is_expired_one_second_after_its_ttl():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(CodeExpired):
        verify_payment_code(ring(1), code, NOW + timedelta(seconds=61))


def test_a_payment_code_is_expired_a_microsecond_after_its_ttl():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(CodeExpired):
        verify_payment_code(ring(1), code, NOW + timedelta(seconds=60, microseconds=1))


def test_a_custom_ttl_is_honoured_when_verifying():
    code = issue_payment_code(ring(1), ACCOUNT, NOW, ttl_seconds=10).code
    verify_payment_code(ring(1), code, NOW + timedelta(seconds=10), ttl_seconds=10)
    with pytest.raises(CodeExpired):
        verify_payment_code(ring(1), code, NOW + timedelta(seconds=11), ttl_seconds=10)


def test_a_payment_code_from_within_the_clock_skew_is_accepted():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    claims = verify_payment_code(ring(1), code, NOW - timedelta(seconds=5))
    assert claims.issued_at == NOW


def test_a_payment_code_from_the_future_beyond_the_skew_is_refused():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(1), code, NOW - timedelta(seconds=6))


def test_an_unused_payment_code_replayed_a_whole_time_cycle_later_is_refused():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(1), code, NOW + timedelta(seconds=100_000))


def test_a_payment_code_issued_just_before_the_time_field_wraps_still_verifies():
    wrap = datetime.fromtimestamp(1_700_099_999, tz=UTC)
    assert int(wrap.timestamp()) % 100_000 == 99_999
    code = issue_payment_code(ring(1), ACCOUNT, wrap).code
    claims = verify_payment_code(ring(1), code, wrap + timedelta(seconds=3))
    assert claims.issued_at == wrap


def test_a_payment_code_an_hour_old_is_expired():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(CodeExpired):
        verify_payment_code(ring(1), code, NOW + timedelta(hours=1))


def test_payment_codes_work_with_any_aware_timezone():
    paris = timezone(timedelta(hours=2))
    code = issue_payment_code(ring(1), ACCOUNT, NOW.astimezone(paris)).code
    claims = verify_payment_code(ring(1), code, NOW.astimezone(paris))
    assert claims.issued_at == NOW


def test_a_naive_datetime_is_refused_when_issuing_or_verifying():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(ValueError):
        issue_payment_code(ring(1), ACCOUNT, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        verify_payment_code(ring(1), code, NOW.replace(tzinfo=None))


@pytest.mark.parametrize("account", ["1234567", "123456789", "01234567", "1234567a"])
def test_a_payment_code_is_not_issued_for_a_malformed_account_number(account):
    with pytest.raises(ValueError):
        issue_payment_code(ring(1), account, NOW)


def test_a_payment_code_with_one_digit_changed_is_refused():
    keyring = ring(1, 2)
    code = issue_payment_code(keyring, ACCOUNT, NOW).code
    changed = list(single_digit_changes(code))
    assert len(changed) == 37 * 9
    for candidate in changed:
        with pytest.raises(InvalidCode):
            verify_payment_code(keyring, candidate, NOW + timedelta(seconds=1))


def test_a_payment_code_with_an_unknown_key_id_is_refused():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    other = "83" + code[2:]
    with pytest.raises(InvalidCode, match="unknown key"):
        verify_payment_code(ring(1, 2), other, NOW)


def test_a_payment_code_signed_with_another_key_is_refused():
    code = issue_payment_code(Keyring.generate(), ACCOUNT, NOW).code
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(1), code, NOW)


@pytest.mark.parametrize(
    "code",
    ["", "8", "8" * 34, "8" * 36, "7" + "1" * 34, "8" + "1" * 33 + "x", None, 8],
)
def test_a_payment_code_of_the_wrong_shape_is_refused(code):
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(1), code, NOW)


def test_a_code_issued_under_key_1_still_verifies_after_rotation_to_key_2():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    rotated = ring(1, 2)
    assert rotated.current == 2
    assert verify_payment_code(rotated, code, NOW).account_number == ACCOUNT
    assert issue_payment_code(rotated, ACCOUNT, NOW).code[1] == "2"


def test_a_code_issued_under_key_1_is_refused_once_key_1_is_dropped():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(2), code, NOW)


def test_a_payment_code_with_spaces_and_dashes_verifies_and_is_normalised():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    typed = " " + format_for_display(code).replace(" ", "-", 3) + " "
    claims = verify_payment_code(ring(1), typed, NOW)
    assert claims.code == code


def test_a_payment_code_is_displayed_in_groups_of_four_digits():
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    shown = format_for_display(code)
    groups = shown.split(" ")
    assert [len(group) for group in groups] == [4] * 9 + [1]
    assert "".join(groups) == code


def test_display_grouping_normalises_first_and_refuses_non_digits():
    assert format_for_display("12-34 5678-9") == "1234 5678 9"
    with pytest.raises(InvalidCode):
        format_for_display("12a4")


@pytest.mark.parametrize(("ttl", "skew"), [(0, 5), (-1, 5), (60, -1), (99_990, 10)])
def test_an_impossible_validity_window_is_refused(ttl, skew):
    code = issue_payment_code(ring(1), ACCOUNT, NOW).code
    with pytest.raises(ValueError):
        verify_payment_code(ring(1), code, NOW, ttl_seconds=ttl, skew_seconds=skew)


accounts = st.from_regex(r"\A[1-9][0-9]{7}\Z")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(account=accounts, issued_at=moments, age=st.integers(0, 60))
def test_any_issued_payment_code_verifies_within_its_lifetime(account, issued_at, age):
    issued = issue_payment_code(ring(1, 2), account, issued_at)
    later = issued.expires_at - timedelta(seconds=60 - age)
    claims = verify_payment_code(ring(1, 2), issued.code, later)
    assert claims.account_number == account
    assert claims.issued_at == issued_at.replace(microsecond=0)
    assert claims.expires_at == issued.expires_at


@given(
    account=accounts,
    issued_at=moments,
    position=st.integers(0, 34),
    shift=st.integers(1, 9),
)
def test_a_random_single_digit_mutation_never_verifies(account, issued_at, position, shift):
    code = issue_payment_code(ring(1, 2), account, issued_at).code
    digit = str((int(code[position]) + shift) % 10)
    mutated = code[:position] + digit + code[position + 1 :]
    with pytest.raises(InvalidCode):
        verify_payment_code(ring(1, 2), mutated, issued_at)


# --- Beneficiary cards -------------------------------------------------------------


def test_a_card_code_round_trips_to_its_card_number():
    number = new_card_number()
    code = card_code(number)
    assert len(code) == 17 and code[0] == "6"
    assert parse_card_code(code) == number


def test_a_new_card_number_is_15_digits_not_starting_with_zero():
    for _ in range(200):
        number = new_card_number()
        assert len(number) == 15 and number.isdigit() and number[0] != "0"


def test_a_card_code_with_one_digit_changed_or_swapped_is_refused():
    code = card_code("493817265012345")
    for candidate in [*single_digit_changes(code), *adjacent_transpositions(code)]:
        with pytest.raises(InvalidCode):
            parse_card_code(candidate)


def test_card_codes_do_not_depend_on_any_keyring():
    for function in (card_code, parse_card_code, new_card_number):
        assert "keyring" not in inspect.signature(function).parameters
    # A printed card from any past key generation parses the same today.
    assert card_code("100000000000001") == "61000000000000010"
    assert parse_card_code("6100-0000-0000-0001-0") == "100000000000001"


def test_a_card_code_tolerates_spaces_and_dashes():
    code = card_code("493817265012345")
    assert parse_card_code(format_for_display(code)) == "493817265012345"
    assert parse_card_code("-".join(code)) == "493817265012345"


@pytest.mark.parametrize("number", ["12345678901234", "049381726501234", "4938172650123x"])
def test_a_card_code_is_not_made_for_a_malformed_card_number(number):
    with pytest.raises(ValueError):
        card_code(number)


@pytest.mark.parametrize("code", ["", "7" * 17, "6" * 16, "6" * 18, "6abc"])
def test_a_card_code_of_the_wrong_shape_is_refused(code):
    with pytest.raises(InvalidCode):
        parse_card_code(code)


# --- Merchant counter codes --------------------------------------------------------


def test_a_merchant_code_round_trips_to_its_account_number():
    number = new_account_number()
    code = merchant_code(number)
    assert len(code) == 10 and code[0] == "7"
    assert parse_merchant_code(code) == number
    assert parse_merchant_code(format_for_display(code)) == number


def test_a_merchant_code_with_one_digit_changed_or_swapped_is_refused():
    code = merchant_code(ACCOUNT)
    for candidate in [*single_digit_changes(code), *adjacent_transpositions(code)]:
        with pytest.raises(InvalidCode):
            parse_merchant_code(candidate)


def test_a_merchant_code_is_not_made_for_a_malformed_account_number():
    with pytest.raises(ValueError):
        merchant_code("0123456")


@pytest.mark.parametrize("code", ["", "7123", "6" * 10, "7" * 11, "71234-567x9"])
def test_a_merchant_code_of_the_wrong_shape_is_refused(code):
    with pytest.raises(InvalidCode):
        parse_merchant_code(code)


# --- Activity check-in codes -------------------------------------------------------


def test_a_checkin_code_round_trips_and_is_returned_normalised():
    code = new_checkin_code()
    assert len(code) == 13 and code[0] == "5" and damm_is_valid(code)
    assert parse_checkin_code(code) == code
    assert parse_checkin_code(" " + format_for_display(code) + " ") == code


def test_new_checkin_codes_differ():
    assert len({new_checkin_code() for _ in range(50)}) == 50


def test_a_checkin_code_with_one_digit_changed_or_swapped_is_refused():
    code = "5" + "01928374650"
    code += damm_check_digit(code)
    assert parse_checkin_code(code) == code
    for candidate in [*single_digit_changes(code), *adjacent_transpositions(code)]:
        with pytest.raises(InvalidCode):
            parse_checkin_code(candidate)


@pytest.mark.parametrize("code", ["", "5" * 12, "5" * 14, "6" * 13, "5123456789o12"])
def test_a_checkin_code_of_the_wrong_shape_is_refused(code):
    with pytest.raises(InvalidCode):
        parse_checkin_code(code)


# --- Classifying codes -------------------------------------------------------------


def test_each_kind_of_code_is_classified_by_its_prefix_and_length():
    payment = issue_payment_code(ring(1), ACCOUNT, NOW).code
    assert classify_code(payment) == "payment"
    assert classify_code(format_for_display(payment)) == "payment"
    assert classify_code(card_code(new_card_number())) == "card"
    assert classify_code(merchant_code(ACCOUNT)) == "merchant"
    assert classify_code("-".join(new_checkin_code())) == "checkin"


@pytest.mark.parametrize(
    "code", ["", "  -", "9" * 35, "8" * 17, "6" * 10, "7" * 13, "5" * 35, "51x", None]
)
def test_an_unrecognised_code_is_refused_by_classify(code):
    with pytest.raises(InvalidCode):
        classify_code(code)


# --- PINs --------------------------------------------------------------------------


PEPPER = b"p" * 32


def test_a_hashed_pin_checks_and_a_wrong_pin_does_not():
    stored = hash_pin("0427", PEPPER)
    assert check_pin("0427", stored, PEPPER) is True
    assert check_pin("0428", stored, PEPPER) is False
    assert check_pin("7240", stored, PEPPER) is False


def test_a_pin_verifier_is_useless_without_the_pepper():
    """Only 10,000 PINs exist: a verifier that leaked alone must not be crackable, so the
    PIN is keyed with a server secret before the slow hash."""
    stored = hash_pin("0427", PEPPER)
    assert check_pin("0427", stored, b"q" * 32) is False


def test_a_pin_verifier_is_peppered_pbkdf2_sha256_with_20000_iterations_and_a_16_byte_salt():
    algorithm, iterations, salt, digest = hash_pin("1234", PEPPER).split("$")
    assert algorithm == "pbkdf2_sha256_peppered"
    assert iterations == "20000" == str(codes.PIN_ITERATIONS)
    assert len(bytes.fromhex(salt)) == 16
    peppered = hmac.new(PEPPER, b"1234", hashlib.sha256).digest()
    expected = hashlib.pbkdf2_hmac("sha256", peppered, bytes.fromhex(salt), 20000)
    assert digest == expected.hex()


def test_the_same_pin_hashes_differently_each_time():
    assert hash_pin("1234", PEPPER) != hash_pin("1234", PEPPER)


@pytest.mark.parametrize("pin", ["", "123", "12345", "12a4", " 1234", "١٢٣٤", None, 1234])
def test_a_pin_that_is_not_exactly_four_digits_is_refused(pin):
    with pytest.raises(ValidationError):
        validate_pin(pin)
    with pytest.raises(ValidationError):
        hash_pin(pin, PEPPER)
    with pytest.raises(ValidationError):
        check_pin(pin, hash_pin("1234", PEPPER), PEPPER)


def test_validate_pin_returns_a_good_pin():
    assert validate_pin("0000") == "0000"


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "1234",
        "md5$20000$00$00",
        "pbkdf2_sha256$20000$00$00",
        "pbkdf2_sha256_peppered$x$00$00",
        "pbkdf2_sha256_peppered$0$00$00",
        "pbkdf2_sha256_peppered$20000$zz$00",
        "pbkdf2_sha256_peppered$20000$00$zz",
        "pbkdf2_sha256_peppered$20000$00",
    ],
)
def test_a_malformed_stored_pin_hash_is_an_error_not_a_match(stored):
    with pytest.raises(ValueError):
        check_pin("1234", stored, PEPPER)
