"""Users, logins, tokens and terminals (api.auth), on the in-memory store.

The same behaviour on SQLite and PostgreSQL is in tests/integration/test_api_store.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from api.auth import (
    ROLES,
    Auth,
    BadCredentials,
    BadToken,
    InvalidUser,
    LoginThrottled,
    Principal,
    UserExists,
    default_password_hasher,
)
from api.login_throttle import LoginThrottle, address_key
from api.store import Store

ACCOUNT = "0b1c6f4e-2d8a-4c53-9a57-6f1f7a8e2b10"
MERCHANT = "7d0e9a3c-5b21-4f8e-8c44-1a2b3c4d5e6f"
HOME, CAFE = "192.0.2.10", "198.51.100.7"


def cheap_hasher() -> PasswordHasher:
    """argon2id at its lowest cost: the tests check behaviour, not hashing speed."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def store():
    store = Store("memory://")
    store.create_tables()
    yield store
    store.close()


@pytest.fixture
def auth(store, fake_clock) -> Auth:
    return Auth(store, fake_clock, password_hasher=cheap_hasher())


@pytest.fixture
def alice(auth):
    return auth.create_user("alice", "correct horse", "volunteer", account_id=ACCOUNT)


# --- users -------------------------------------------------------------------------------


def test_the_roles_are_exactly_those_of_spec_section_1() -> None:
    assert ROLES == (
        "volunteer",
        "beneficiary",
        "merchant",
        "coordinator",
        "fund_officer",
        "auditor",
        "admin",
    )


def test_a_new_volunteer_is_stored_with_their_account(auth, alice, fake_clock) -> None:
    assert (alice.username, alice.role, alice.account_id) == ("alice", "volunteer", ACCOUNT)
    assert alice.created_at == fake_clock.now() and not alice.disabled
    assert auth.get_user("alice") == alice
    assert auth.get_user("nobody") is None


@pytest.mark.parametrize(
    "username", ["al", "x" * 65, "alice smith", "alice/1", "álice", "", "alice\n"]
)
def test_a_username_has_3_to_64_letters_digits_or_marks(auth, username) -> None:
    with pytest.raises(InvalidUser, match="username"):
        auth.create_user(username, "correct horse", "coordinator")


def test_usernames_may_use_dots_dashes_underscores_and_at_signs(auth) -> None:
    for name in ("bob", "li.wei-2_x@jinsha", "x" * 64):
        assert auth.create_user(name, "correct horse", "auditor").username == name


@pytest.mark.parametrize("password", ["", "short12", "x" * 257])
def test_a_password_has_8_to_256_characters(auth, password) -> None:
    with pytest.raises(InvalidUser, match="password"):
        auth.create_user("carol", password, "coordinator")


def test_passwords_of_exactly_8_and_256_characters_are_accepted(auth) -> None:
    auth.create_user("carol", "kx7#Qm2v", "coordinator")
    long = "Tz9-ribbon-quartz-" + "y" * 238
    auth.create_user("dave", long, "coordinator")
    assert auth.authenticate("dave", long, HOME).principal.username == "dave"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("carol", "password1"),  # a very common password
        ("carol", "12345678"),
        ("carol", "qwertyuiop"),  # a keyboard walk
        ("carol", "carol2026"),  # the user's own name and a year
        ("carol", "xxxxxxxx"),
        ("carol", "a" * 200),  # long, but a repeat
        ("carol", "jindou123"),  # the programme's name
    ],
)
def test_a_new_password_that_is_easy_to_guess_is_refused(auth, username, password) -> None:
    with pytest.raises(InvalidUser, match="too easy to guess"):
        auth.create_user(username, password, "coordinator")
    assert auth.get_user(username) is None


def test_an_unknown_role_is_refused(auth) -> None:
    with pytest.raises(InvalidUser, match="unknown role 'superuser'"):
        auth.create_user("carol", "correct horse", "superuser")


@pytest.mark.parametrize(
    ("role", "account_id", "merchant_id", "message"),
    [
        ("volunteer", None, None, "needs the id of their account"),
        ("beneficiary", None, None, "needs the id of their account"),
        ("merchant", None, None, "needs the id of their merchant"),
        ("volunteer", ACCOUNT, MERCHANT, "belongs to no merchant"),
        ("merchant", ACCOUNT, MERCHANT, "has no personal account"),
        ("admin", None, MERCHANT, "belongs to no merchant"),
    ],
)
def test_account_and_merchant_ids_go_with_their_roles_only(
    auth, role, account_id, merchant_id, message
) -> None:
    with pytest.raises(InvalidUser, match=message):
        auth.create_user("carol", "correct horse", role, account_id, merchant_id)


def test_a_coordinator_who_volunteers_carries_their_account_for_the_four_eyes_rules(auth):
    auth.create_user("zhang", "correct horse", "coordinator", ACCOUNT)
    issued = auth.authenticate("zhang", "correct horse", "127.0.0.1")
    assert (issued.principal.role, issued.principal.account_id) == ("coordinator", ACCOUNT)


def test_a_taken_username_is_refused(auth, alice) -> None:
    with pytest.raises(UserExists, match="'alice' is taken"):
        auth.create_user("alice", "another horse", "coordinator")


def test_passwords_are_stored_as_argon2id_hashes_never_in_clear(auth, alice, store) -> None:
    with store.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM gb_users").scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


def test_the_default_hash_is_argon2id_with_19_mib_2_passes_and_1_lane() -> None:
    hashed = default_password_hasher().hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_login_upgrades_a_hash_made_with_older_parameters(store, fake_clock, alice) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    Auth(store, fake_clock, password_hasher=stronger).authenticate("alice", "correct horse", HOME)
    with store.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM gb_users").scalar_one()
    assert "$m=16,t=2,p=1$" in stored


# --- logins and tokens ---------------------------------------------------------------------


def test_a_login_issues_a_token_that_stands_for_the_user(auth, alice, fake_clock) -> None:
    issued = auth.authenticate("alice", "correct horse", HOME)
    expected = Principal("alice", "volunteer", ACCOUNT, None, None, "session")
    assert issued.principal == expected
    assert issued.expires_at == fake_clock.now() + timedelta(hours=12)
    assert len(issued.token) >= 40
    assert auth.resolve(issued.token) == expected


def test_each_login_gets_its_own_token(auth, alice) -> None:
    first = auth.authenticate("alice", "correct horse", HOME).token
    second = auth.authenticate("alice", "correct horse", HOME).token
    assert first != second


def test_a_wrong_password_an_unknown_user_and_a_disabled_user_look_the_same(auth, alice) -> None:
    auth.create_user("bob", "correct horse", "coordinator")
    auth.disable_user("bob")
    for username, password in [
        ("alice", "wrong horse"),
        ("zed", "correct horse"),
        ("bob", "correct horse"),
    ]:
        with pytest.raises(BadCredentials, match="wrong username or password"):
            auth.authenticate(username, password, HOME)


def test_a_session_ends_after_its_lifetime(auth, alice, fake_clock) -> None:
    token = auth.authenticate("alice", "correct horse", HOME).token
    fake_clock.advance(hours=11, minutes=59)
    assert auth.resolve(token).username == "alice"
    fake_clock.advance(minutes=1)
    with pytest.raises(BadToken, match="expired"):
        auth.resolve(token)


def test_a_revoked_token_is_refused_and_revoking_twice_does_nothing(auth, alice) -> None:
    token = auth.authenticate("alice", "correct horse", HOME).token
    assert auth.revoke(token) is True
    with pytest.raises(BadToken, match="revoked"):
        auth.resolve(token)
    assert auth.revoke(token) is False


@pytest.mark.parametrize("token", ["", "x", "not-a-token-we-issued", "t" * 5000])
def test_tokens_we_never_issued_are_refused(auth, alice, token) -> None:
    with pytest.raises(BadToken):
        auth.resolve(token)


def test_disabling_a_user_ends_their_sessions(auth, alice) -> None:
    token = auth.authenticate("alice", "correct horse", HOME).token
    assert auth.disable_user("alice") is True
    with pytest.raises(BadToken):
        auth.resolve(token)
    assert auth.disable_user("nobody") is False


def test_tokens_are_stored_only_as_their_sha256(auth, alice, store) -> None:
    token = auth.authenticate("alice", "correct horse", HOME).token
    with store.read() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM gb_tokens").scalar_one()
    assert len(stored) == 64 and token not in stored


def test_logs_never_show_a_password_or_a_token(auth, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    auth.create_user("alice", "correct horse", "volunteer", account_id=ACCOUNT)
    token = auth.authenticate("alice", "correct horse", HOME).token
    with pytest.raises(BadCredentials):
        auth.authenticate("alice", "wrong horse", HOME)
    with pytest.raises(BadCredentials):
        auth.authenticate("my secret pw", "correct horse", HOME)  # a password typed as name
    _, terminal_token = auth.create_terminal(MERCHANT, "till 1")
    auth.revoke(token)
    text = caplog.text
    assert "alice" in text
    for secret in ("correct horse", "wrong horse", "my secret pw", token, terminal_token):
        assert secret not in text


# --- throttling -----------------------------------------------------------------------------


def fail(auth: Auth, username: str, times: int, address: str = HOME) -> None:
    for _ in range(times):
        with pytest.raises(BadCredentials):
            auth.authenticate(username, "wrong horse", address)


def test_after_5_failures_from_one_address_its_next_tries_wait_1_2_4_seconds(
    auth, alice, fake_clock
) -> None:
    fail(auth, "alice", 5)
    for wait in (1, 2, 4, 8):
        with pytest.raises(LoginThrottled) as throttled:
            auth.authenticate("alice", "correct horse", HOME)  # even the right password
        assert throttled.value.retry_after_seconds == wait
        fake_clock.advance(seconds=wait)
        if wait < 8:
            fail(auth, "alice", 1)
    assert auth.authenticate("alice", "correct horse", HOME).principal.username == "alice"


def test_the_delay_doubles_up_to_15_minutes_and_no_further(auth, alice, fake_clock) -> None:
    waits = []
    for _ in range(40):
        try:
            auth.authenticate("alice", "wrong horse", HOME)
        except BadCredentials:
            continue
        except LoginThrottled as throttled:
            waits.append(throttled.retry_after_seconds)
            fake_clock.advance(seconds=throttled.retry_after_seconds)
    assert waits[:11] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    assert max(waits) == 900


def test_an_attacker_at_one_address_never_locks_the_user_out_elsewhere(auth, alice) -> None:
    """Reproduction (issue 15, 5): 5 wrong passwords from one address made the right
    password from any other address answer 429 for 15 minutes."""
    for _ in range(50):
        with pytest.raises((BadCredentials, LoginThrottled)):
            auth.authenticate("alice", "wrong horse", HOME)
    assert auth.authenticate("alice", "correct horse", CAFE).principal.username == "alice"
    with pytest.raises(LoginThrottled):
        auth.authenticate("alice", "correct horse", HOME)  # the hammering address waits


def test_throttled_attempts_are_not_counted(auth, alice, fake_clock) -> None:
    fail(auth, "alice", 5)
    for _ in range(10):
        with pytest.raises(LoginThrottled):
            auth.authenticate("alice", "wrong horse", HOME)
    fake_clock.advance(seconds=1)
    auth.authenticate("alice", "correct horse", HOME)


def test_failures_are_forgotten_after_an_hour_without_one(auth, alice, fake_clock) -> None:
    fail(auth, "alice", 5)
    fake_clock.advance(hours=1)
    fail(auth, "alice", 4)  # free again
    with pytest.raises(BadCredentials):
        auth.authenticate("alice", "wrong horse", HOME)


def test_unknown_usernames_are_throttled_like_known_ones(auth) -> None:
    fail(auth, "zed", 5)
    with pytest.raises(LoginThrottled):
        auth.authenticate("zed", "anything at all", HOME)


def test_one_address_may_fail_100_times_across_usernames_then_waits(auth, alice) -> None:
    """An office behind one proxy address is not locked out by a few people's typos."""
    for n in range(19):
        fail(auth, f"user{n}", 5)
    fail(auth, "bob", 4)  # 99 failures from HOME
    assert auth.authenticate("alice", "correct horse", HOME).principal.username == "alice"
    fail(auth, "bob", 1)  # the 100th: from here on the address slows down
    with pytest.raises(LoginThrottled) as throttled:
        auth.authenticate("alice", "correct horse", HOME)
    assert throttled.value.retry_after_seconds == 1
    assert auth.authenticate("alice", "correct horse", CAFE).principal.username == "alice"


def test_malformed_usernames_count_against_the_address(auth, alice) -> None:
    for _ in range(100):
        with pytest.raises((BadCredentials, LoginThrottled)):
            auth.authenticate("?" * 500, "wrong horse", HOME)
    with pytest.raises(LoginThrottled):
        auth.authenticate("alice", "correct horse", HOME)


def test_a_success_clears_the_pair_but_takes_only_itself_off_the_address(
    store, fake_clock, alice
) -> None:
    throttle = LoginThrottle(store, address_free=8)
    auth = Auth(store, fake_clock, throttle=throttle, password_hasher=cheap_hasher())
    fail(auth, "alice", 4)
    auth.authenticate("alice", "correct horse", HOME)
    fail(auth, "alice", 4)  # the pair restarted at 0: not throttled yet
    with pytest.raises(LoginThrottled):  # but the address has 8 failures now
        auth.authenticate("alice", "correct horse", HOME)
    auth.authenticate("alice", "correct horse", CAFE)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("192.0.2.10", "192.0.2.10"),
        (" 192.0.2.10 ", "192.0.2.10"),
        ("::ffff:192.0.2.10", "192.0.2.10"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        (None, "-"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_an_ipv6_address_counts_by_its_64_network(address, counted_as) -> None:
    assert address_key(address) == counted_as


def test_purge_forgets_old_failures_and_dead_tokens(auth, alice, fake_clock) -> None:
    fail(auth, "alice", 2)
    live = auth.authenticate("alice", "correct horse", HOME).token
    auth.revoke(auth.authenticate("alice", "correct horse", HOME).token)
    assert auth.purge() == 1  # the revoked token
    fake_clock.advance(hours=1)
    assert auth.purge() == 1  # the address's failures (the login cleared the pair's)
    assert auth.resolve(live).username == "alice"
    fake_clock.advance(hours=12)
    assert auth.purge() == 1  # the expired token


# --- terminals ------------------------------------------------------------------------------


def test_a_terminal_token_is_a_merchant_until_it_expires_after_180_days(auth, fake_clock) -> None:
    terminal_id, token = auth.create_terminal(MERCHANT, "till 1")
    fake_clock.advance(days=179, hours=23)
    assert auth.resolve(token) == Principal(
        None, "merchant", None, MERCHANT, terminal_id, "terminal"
    )
    fake_clock.advance(hours=1)
    with pytest.raises(BadToken, match="expired"):
        auth.resolve(token)


def test_rotating_a_terminal_gives_a_new_token_and_ends_the_old(auth, fake_clock) -> None:
    terminal_id, token = auth.create_terminal(MERCHANT, "till 1")
    fake_clock.advance(days=170)
    rotated = auth.rotate_terminal(terminal_id)
    assert rotated is not None
    new_token, expires_at = rotated
    assert expires_at == fake_clock.now() + timedelta(days=180)
    with pytest.raises(BadToken, match="revoked"):
        auth.resolve(token)
    assert auth.resolve(new_token).terminal_id == terminal_id
    auth.revoke_terminal(terminal_id)
    assert auth.rotate_terminal(terminal_id) is None
    assert auth.rotate_terminal("no-such-terminal") is None


def test_revoking_a_terminal_ends_its_token(auth) -> None:
    terminal_id, token = auth.create_terminal(MERCHANT, "till 1")
    _, other = auth.create_terminal(MERCHANT, "till 2")
    assert auth.revoke_terminal(terminal_id) is True
    with pytest.raises(BadToken, match="revoked"):
        auth.resolve(token)
    assert auth.resolve(other).merchant_id == MERCHANT
    assert auth.revoke_terminal(terminal_id) is False
    assert auth.revoke_terminal("no-such-terminal") is False


@pytest.mark.parametrize(
    ("merchant_id", "label"), [("", "till"), (MERCHANT, " "), (MERCHANT, "x" * 201)]
)
def test_a_terminal_needs_a_merchant_and_a_label(auth, merchant_id, label) -> None:
    with pytest.raises(InvalidUser):
        auth.create_terminal(merchant_id, label)


# --- the bootstrap admin -------------------------------------------------------------------


def test_the_admin_is_bootstrapped_once(auth) -> None:
    assert not auth.has_admin()
    assert auth.bootstrap_admin("admin password") is True
    assert auth.has_admin()
    assert auth.bootstrap_admin("another password") is False
    assert auth.authenticate("admin", "admin password", HOME).principal.role == "admin"


def test_no_bootstrap_when_an_admin_of_another_name_exists(auth) -> None:
    auth.create_user("root", "root of all trust", "admin")
    assert auth.bootstrap_admin("admin password") is False
    assert auth.get_user("admin") is None


def test_a_short_bootstrap_password_is_refused(auth) -> None:
    with pytest.raises(InvalidUser, match="password"):
        auth.bootstrap_admin("short")


def test_the_auth_settings_are_checked(store, fake_clock) -> None:
    with pytest.raises(ValueError):
        LoginThrottle(store, pair_free=0)
    with pytest.raises(ValueError):
        LoginThrottle(store, max_delay=timedelta(hours=2))  # past forget_after
    with pytest.raises(ValueError):
        Auth(store, fake_clock, failure_window=timedelta(0))


def test_a_token_never_starts_with_a_dash(monkeypatch):
    """goldbean-pos --token -abc… would read the token as an option (CI met the 1 in 64)."""
    import api.auth as auth_module

    drawn = iter(["-starts-with-a-dash", "fine-token"])
    monkeypatch.setattr(auth_module.secrets, "token_urlsafe", lambda n: next(drawn))
    assert auth_module.new_token() == "fine-token"
