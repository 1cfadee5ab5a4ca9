"""The API's side store on memory, SQLite and PostgreSQL: tables, timestamps, users and
tokens (api.auth), and Idempotency-Keys (api.idempotency), including two requests that
race for one key."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from api.auth import Auth, BadCredentials, BadToken, LoginThrottled, Principal, terminals_of
from api.idempotency import IdempotencyStore, InProgress, Mismatch, Proceed, Replay
from api.store import Store, idempotency, metadata, terminals

ACCOUNT = "0b1c6f4e-2d8a-4c53-9a57-6f1f7a8e2b10"
MERCHANT = "7d0e9a3c-5b21-4f8e-8c44-1a2b3c4d5e6f"
HOME, CAFE = "192.0.2.10", "198.51.100.7"
TILL = "terminal:till-1"  # an idempotency scope: the caller


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    store.create_tables()
    yield store
    store.close()


@pytest.fixture
def auth(store, fake_clock) -> Auth:
    return Auth(store, fake_clock, password_hasher=cheap_hasher())


@pytest.fixture
def keys(store, fake_clock) -> IdempotencyStore:
    return IdempotencyStore(store, fake_clock, wait_seconds=2.0, poll_seconds=0.01)


# --- the store ------------------------------------------------------------------------------


def test_creating_the_tables_twice_is_harmless_and_the_store_answers_a_ping(store) -> None:
    store.create_tables()
    with store.read() as conn:
        names = set(inspect(conn).get_table_names(schema=store.schema))
    assert set(metadata.tables) == {
        "gb_users",
        "gb_tokens",
        "gb_terminals",
        "gb_terminal_pairings",
        "gb_short_codes",
        "gb_idempotency",
        "gb_login_failures",
        "gb_login_attempts",
        "gb_marks",
        "gb_jobs",
        "gb_merchant_payees",
    }
    assert set(metadata.tables) <= names
    assert store.ping() is True


def test_timestamps_come_back_aware_in_utc(store) -> None:
    kunming = timezone(timedelta(hours=8))
    created = datetime(2026, 3, 10, 10, 0, 0, 123456, tzinfo=kunming)
    with store.write() as conn:
        conn.execute(
            terminals.insert().values(
                terminal_id="t1", merchant_id=MERCHANT, label="till", created_at=created
            )
        )
    with store.read() as conn:
        row = conn.execute(select(terminals)).one()
    assert row.created_at == created
    assert row.created_at.tzinfo == UTC and row.created_at.hour == 2
    assert row.revoked_at is None


def test_a_naive_timestamp_is_refused(store) -> None:
    with pytest.raises(Exception, match="timezone-aware"), store.write() as conn:
        conn.execute(
            terminals.insert().values(
                terminal_id="t1",
                merchant_id=MERCHANT,
                label="till",
                created_at=datetime(2026, 3, 10),
            )
        )


def test_a_sqlite_store_lives_in_the_ledgers_file_in_wal_mode(sqlite_url) -> None:
    store = Store(sqlite_url)
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
        assert str(store.engine.url.database) == sqlite_url.removeprefix("sqlite:///")
    finally:
        store.close()


def test_a_postgres_url_becomes_psycopg_with_its_schema_and_pool(postgres_url) -> None:
    store = Store(postgres_url + "&pool_size=3&max_overflow=0&lock_timeout=5")
    try:
        assert store.engine.url.drivername == "postgresql+psycopg"
        assert set(store.engine.url.query) == set()
        assert store.engine.pool.size() == 3
        store.create_tables()
        assert store.schema == postgres_url.rpartition("schema=")[2]
        with store.read() as conn:
            assert "gb_users" in inspect(conn).get_table_names(schema=store.schema)
    finally:
        store.close()


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        Store("mysql://localhost/goldbean")


# --- users and tokens on every database ---------------------------------------------------


def test_a_volunteer_logs_in_uses_the_token_and_logs_out(auth, fake_clock) -> None:
    auth.create_user("alice", "correct horse", "volunteer", account_id=ACCOUNT)
    issued = auth.authenticate("alice", "correct horse", HOME)
    assert auth.resolve(issued.token) == Principal(
        "alice", "volunteer", ACCOUNT, None, None, "session"
    )
    assert issued.expires_at == fake_clock.now() + timedelta(hours=12)
    auth.revoke(issued.token)
    with pytest.raises(BadToken, match="revoked"):
        auth.resolve(issued.token)


def test_a_session_expires_after_12_hours(auth, fake_clock) -> None:
    auth.create_user("carol", "correct horse", "coordinator")
    token = auth.authenticate("carol", "correct horse", HOME).token
    fake_clock.advance(hours=12)
    with pytest.raises(BadToken, match="expired"):
        auth.resolve(token)


def test_a_pair_is_slowed_down_without_locking_the_user_out_elsewhere(auth, fake_clock) -> None:
    auth.create_user("alice", "correct horse", "volunteer", account_id=ACCOUNT)
    for _ in range(5):
        with pytest.raises(BadCredentials):
            auth.authenticate("alice", "wrong horse", HOME)
    with pytest.raises(LoginThrottled) as throttled:
        auth.authenticate("alice", "correct horse", HOME)
    assert throttled.value.retry_after_seconds == 1
    assert auth.authenticate("alice", "correct horse", CAFE).principal.username == "alice"
    fake_clock.advance(seconds=1)
    auth.authenticate("alice", "correct horse", HOME)


def test_40_parallel_guesses_get_only_5_passwords_checked(auth, fake_clock) -> None:
    """Reproduction (issue 15, 5): 40 parallel guesses got 10 evaluated against a limit
    of 5, because each passed the check before any recorded its failure."""
    auth.create_user("alice", "correct horse", "volunteer", account_id=ACCOUNT)
    barrier = threading.Barrier(40)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        barrier.wait()
        try:
            auth.authenticate("alice", f"guess {n}", HOME)
        except BadCredentials:
            outcomes.append("checked")
        except LoginThrottled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["checked"] * 5 + ["throttled"] * 35


def test_a_terminal_token_works_until_the_terminal_is_revoked(auth, fake_clock) -> None:
    terminal_id, token = auth.create_terminal(MERCHANT, "till 1")
    fake_clock.advance(days=179)
    assert auth.resolve(token) == Principal(
        None, "merchant", None, MERCHANT, terminal_id, "terminal"
    )
    assert auth.revoke_terminal(terminal_id)
    with pytest.raises(BadToken):
        auth.resolve(token)


def test_a_rotated_terminal_token_replaces_the_old_and_expires_in_180_days(
    auth, fake_clock
) -> None:
    terminal_id, old = auth.create_terminal(MERCHANT, "till 1")
    fake_clock.advance(days=100)
    new, expires_at = auth.rotate_terminal(terminal_id) or ("", None)
    with pytest.raises(BadToken):
        auth.resolve(old)
    assert auth.resolve(new).terminal_id == terminal_id
    listed = next(t for t in terminals_of(auth, MERCHANT) if t.terminal_id == terminal_id)
    assert listed.token_expires_at == expires_at == fake_clock.now() + timedelta(days=180)
    fake_clock.advance(days=180)
    with pytest.raises(BadToken, match="expired"):
        auth.resolve(new)


def test_two_servers_starting_at_once_bootstrap_one_admin(auth, store, fake_clock) -> None:
    other = Auth(store, fake_clock, password_hasher=cheap_hasher())
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def start(a: Auth) -> None:
        barrier.wait()
        results.append(a.bootstrap_admin("admin password"))

    threads = [threading.Thread(target=start, args=(a,)) for a in (auth, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert auth.bootstrap_admin("admin password") is False
    assert auth.authenticate("admin", "admin password", HOME).principal.role == "admin"


# --- idempotency keys ---------------------------------------------------------------------


def test_a_completed_key_replays_its_answer(keys) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    keys.complete(TILL, "k-1", 201, '{"id": "r1", "amount": 7}')
    assert keys.begin(TILL, "k-1", "hash-a") == Replay(201, '{"id": "r1", "amount": 7}')
    assert keys.begin(TILL, "k-1", "hash-a") == Replay(201, '{"id": "r1", "amount": 7}')


def test_a_refusal_is_an_answer_and_replays_too(keys) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    keys.complete(TILL, "k-1", 409, '{"code": "insufficient_balance"}')
    assert keys.begin(TILL, "k-1", "hash-a") == Replay(409, '{"code": "insufficient_balance"}')


def test_a_key_reused_for_another_request_is_a_mismatch(keys) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    assert keys.begin(TILL, "k-1", "hash-b") == Mismatch()  # while the first still runs
    keys.complete(TILL, "k-1", 201, "{}")
    assert keys.begin(TILL, "k-1", "hash-b") == Mismatch()


def test_keys_of_two_callers_never_meet(keys) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    assert keys.begin("terminal:till-2", "k-1", "hash-b") == Proceed()


def test_a_released_key_lets_the_retry_run(keys) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    keys.release(TILL, "k-1")
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    keys.complete(TILL, "k-1", 201, "{}")
    keys.release(TILL, "k-1")  # a completed key stays
    assert keys.begin(TILL, "k-1", "hash-a") == Replay(201, "{}")


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\there", "ключ", "a\n"])
def test_a_key_is_1_to_255_visible_ascii_characters(keys, key) -> None:
    with pytest.raises(ValueError, match="visible ASCII"):
        keys.begin(TILL, key, "hash-a")


def test_the_longest_key_is_fine(keys) -> None:
    assert keys.begin(TILL, "~" * 255, "hash-a") == Proceed()


def test_keys_older_than_two_days_are_purged(keys, fake_clock) -> None:
    keys.begin(TILL, "old", "hash-a")
    keys.complete(TILL, "old", 201, "{}")
    fake_clock.advance(days=1)
    keys.begin(TILL, "newer", "hash-a")
    fake_clock.advance(days=1, seconds=1)
    assert keys.purge() == 1
    assert keys.begin(TILL, "old", "hash-b") == Proceed()
    assert keys.begin(TILL, "newer", "hash-b") == Mismatch()


def test_a_claim_whose_worker_stopped_renewing_it_is_taken_over_within_seconds(
    keys, fake_clock
) -> None:
    assert keys.begin(TILL, "k-1", "hash-a") == Proceed()
    retry = IdempotencyStore(keys.store, fake_clock, wait_seconds=0.05, poll_seconds=0.01)
    assert retry.begin(TILL, "k-1", "hash-a") == InProgress()
    # While the first request runs, its worker's heartbeat renews the claim ...
    for _ in range(5):
        fake_clock.advance(seconds=3)
        assert keys.renew([(TILL, "k-1")]) == 1
        assert retry.begin(TILL, "k-1", "hash-a") == InProgress()
    # ... then the worker is killed: 4 s without a renewal and the next request takes over.
    fake_clock.advance(seconds=4)
    assert retry.begin(TILL, "k-1", "hash-a") == Proceed()
    assert keys.begin(TILL, "k-1", "hash-a") == InProgress()  # the new claim is fresh
    assert keys.renew([(TILL, "k-1")]) == 1  # (the dead worker could not renew it anyway)


def created_at(store: Store, key: str) -> datetime:
    with store.read() as conn:
        return conn.execute(select(idempotency.c.created_at).where(idempotency.c.key == key)).one()[
            0
        ]


def test_the_heartbeat_renews_claims_in_flight_and_stops_at_completion(store, fake_clock) -> None:
    """The real heartbeat thread renews a claim while its request runs."""
    beating = IdempotencyStore(
        store, fake_clock, heartbeat_seconds=0.05, stale_after=timedelta(seconds=4)
    )
    assert beating.begin(TILL, "k-2", "hash-a") == Proceed()
    claimed = created_at(store, "k-2")
    fake_clock.advance(seconds=3)
    deadline = time.monotonic() + 5
    while created_at(store, "k-2") == claimed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert created_at(store, "k-2") > claimed  # renewed by the thread
    beating.complete(TILL, "k-2", 201, "{}")
    assert (TILL, "k-2") not in beating._held
    deadline = time.monotonic() + 5  # with nothing held, the heartbeat stops
    while beating._beating_in is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert beating._beating_in is None


def race(stores: list[IdempotencyStore], work_seconds: float) -> list[object]:
    """One request per store, all with one key at once; the one that claims the key works
    for ``work_seconds`` and completes it. Returns every decision."""
    barrier = threading.Barrier(len(stores))
    decisions: list[object] = []

    def request(keys: IdempotencyStore) -> None:
        barrier.wait()
        decision = keys.begin(TILL, "same-key", "hash-a")
        decisions.append(decision)
        if decision == Proceed():
            time.sleep(work_seconds)
            keys.complete(TILL, "same-key", 201, '{"id": "r1"}')

    threads = [threading.Thread(target=request, args=(keys,)) for keys in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return decisions


def test_two_requests_racing_for_a_key_do_the_work_once_and_answer_alike(keys) -> None:
    decisions = race([keys, keys], work_seconds=0.2)
    assert sorted(map(repr, decisions)) == [repr(Proceed()), repr(Replay(201, '{"id": "r1"}'))]


def test_eight_workers_racing_for_a_key_do_the_work_once(database_url, keys, fake_clock) -> None:
    """Each worker has its own engine (and pool), as gunicorn's processes do; in memory
    there is only one database per process, so they share it."""
    stores = [keys.store] + [
        keys.store if database_url == "memory://" else Store(database_url) for _ in range(7)
    ]
    try:
        workers = [
            IdempotencyStore(s, fake_clock, wait_seconds=5, poll_seconds=0.01) for s in stores
        ]
        decisions = race(workers, work_seconds=0.1)
    finally:
        for s in stores[1:]:
            if s is not keys.store:
                s.close()
    assert decisions.count(Proceed()) == 1
    assert decisions.count(Replay(201, '{"id": "r1"}')) == 7


def test_a_request_waiting_for_a_slow_twin_gives_up_in_progress(store, fake_clock) -> None:
    keys = IdempotencyStore(store, fake_clock, wait_seconds=0.2, poll_seconds=0.01)
    decisions = race([keys, keys], work_seconds=0.6)
    assert sorted(map(repr, decisions)) == [repr(InProgress()), repr(Proceed())]
    assert keys.begin(TILL, "same-key", "hash-a") == Replay(201, '{"id": "r1"}')
