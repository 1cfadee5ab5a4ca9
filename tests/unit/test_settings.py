"""Settings: defaults < environment (GOLDBEAN_*) < explicit config, and clear errors."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from api.settings import Settings, SettingsError
from ledger import codes
from ledger.persistence import DEFAULT_URL

SECRET = "correct horse battery staple"
KEY_A = "1:" + "aa" * 32
KEY_B = "2:" + "bb" * 32


def load(env: dict[str, str] | None = None, config: dict | None = None, **options) -> Settings:
    """Settings from exactly this environment (never the test runner's own)."""
    return Settings.load(config, environ=env or {}, **options)


# --- defaults ---------------------------------------------------------------------------


def test_with_only_a_secret_every_setting_has_its_documented_default() -> None:
    settings = load({"GOLDBEAN_SECRET_KEY": SECRET})
    assert settings.database_url == DEFAULT_URL == "sqlite:///var/goldbean.sqlite3"
    assert settings.demo is False
    assert settings.secret_key == SECRET and not settings.secret_key_generated
    assert settings.time_zone == "Asia/Shanghai"
    assert (settings.bean_value_fen, settings.rebate_bps) == (100, 1000)
    assert settings.admin_password is None
    assert settings.log_level == "INFO"
    assert settings.trusted_proxies == 0  # X-Forwarded-For is not believed by default
    assert settings.cookie_secure is True
    assert settings.terminal_token_days == 180
    assert (settings.correction_approval_above, settings.allotment_batch_approval_above) == (
        100,
        10_000,
    )


def test_demo_mode_defaults_to_cookies_without_the_secure_flag_unless_told() -> None:
    assert load({"GOLDBEAN_DEMO": "1"}).cookie_secure is False
    assert load({"GOLDBEAN_DEMO": "1", "GOLDBEAN_COOKIE_SECURE": "1"}).cookie_secure is True
    env = {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_TRUSTED_PROXIES": "2"}
    assert load(env).trusted_proxies == 2


def test_the_secret_key_is_required_outside_demo_mode_and_the_error_names_it() -> None:
    with pytest.raises(SettingsError, match="GOLDBEAN_SECRET_KEY is required"):
        load()
    with pytest.raises(SettingsError, match="GOLDBEAN_DEMO=1"):
        load({"GOLDBEAN_DEMO": "0"})


def test_demo_mode_makes_up_a_random_secret_key_when_none_is_set() -> None:
    first, second = load({"GOLDBEAN_DEMO": "1"}), load({"GOLDBEAN_DEMO": "1"})
    assert first.demo and first.secret_key_generated
    assert first.secret_key and len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key


def test_demo_mode_still_uses_a_secret_key_that_is_given() -> None:
    settings = load({"GOLDBEAN_DEMO": "yes", "GOLDBEAN_SECRET_KEY": SECRET})
    assert settings.secret_key == SECRET and not settings.secret_key_generated


def test_a_command_that_signs_nothing_may_run_without_a_secret_but_gets_no_keyring() -> None:
    settings = load(require_secret=False)
    assert settings.secret_key is None and settings.payment_code_keys == ()
    with pytest.raises(SettingsError, match="GOLDBEAN_SECRET_KEY"):
        settings.keyring()


# --- precedence -------------------------------------------------------------------------


def test_the_environment_overrides_defaults_and_explicit_config_overrides_the_environment() -> None:
    env = {
        "GOLDBEAN_SECRET_KEY": SECRET,
        "GOLDBEAN_TIME_ZONE": "Europe/Paris",
        "GOLDBEAN_BEAN_VALUE_FEN": "50",
        "GOLDBEAN_DATABASE_URL": "postgresql://u:p@db:5432/goldbean",
    }
    from_env = load(env)
    assert from_env.time_zone == "Europe/Paris"
    assert from_env.bean_value_fen == 50
    assert from_env.database_url == "postgresql://u:p@db:5432/goldbean"

    config = {"time_zone": "UTC", "DATABASE_URL": "memory://", "rebate_bps": 500}
    explicit = load(env, config)
    assert explicit.time_zone == "UTC"  # config beats environment
    assert explicit.database_url == "memory://"  # config keys are case-insensitive
    assert explicit.rebate_bps == 500  # config beats default
    assert explicit.bean_value_fen == 50  # environment still beats default


def test_a_config_value_of_none_leaves_the_lower_layers_in_charge() -> None:
    settings = load(
        {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_LOG_LEVEL": "debug"}, {"log_level": None}
    )
    assert settings.log_level == "DEBUG"


def test_an_empty_environment_variable_counts_as_unset() -> None:
    settings = load(
        {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_TIME_ZONE": "", "GOLDBEAN_DEMO": "  "}
    )
    assert settings.time_zone == "Asia/Shanghai" and settings.demo is False


def test_config_can_switch_on_demo_mode_with_a_real_bool() -> None:
    settings = load(config={"demo": True})
    assert settings.demo and settings.secret_key_generated


def test_load_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLDBEAN_SECRET_KEY", SECRET)
    monkeypatch.setenv("GOLDBEAN_REBATE_BPS", "250")
    assert Settings.load().rebate_bps == 250


def test_an_unknown_config_key_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(SettingsError, match="unknown setting 'databse_url'"):
        load({"GOLDBEAN_SECRET_KEY": SECRET}, {"databse_url": "memory://"})


# --- bad values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GOLDBEAN_DEMO", "maybe", "expected 1/true/yes/on"),
        ("GOLDBEAN_BEAN_VALUE_FEN", "abc", "whole number"),
        ("GOLDBEAN_BEAN_VALUE_FEN", "0", "positive"),
        ("GOLDBEAN_BEAN_VALUE_FEN", "1.5", "whole number"),
        ("GOLDBEAN_REBATE_BPS", "10001", "0 to 10000"),
        ("GOLDBEAN_REBATE_BPS", "-1", "0 to 10000"),
        ("GOLDBEAN_TIME_ZONE", "Mars/Olympus_Mons", "unknown time zone"),
        ("GOLDBEAN_LOG_LEVEL", "loud", "DEBUG, INFO"),
        ("GOLDBEAN_DATABASE_URL", "mysql://db/goldbean", "unsupported database URL scheme"),
        ("GOLDBEAN_DATABASE_URL", "sqlite://relative.db", "sqlite:///"),
        ("GOLDBEAN_SECRET_KEY", "short", "at least 16 characters"),
        ("GOLDBEAN_PAYMENT_CODE_KEYS", "1-nothex", "entry 1 is not 'ID:HEXKEY'"),
        ("GOLDBEAN_PAYMENT_CODE_KEYS", "1:abcd", "at least 16 bytes"),
        ("GOLDBEAN_PAYMENT_CODE_KEYS", f"{KEY_A},{KEY_A}", "more than once"),
        ("GOLDBEAN_TRUSTED_PROXIES", "-1", "0 to 10"),
        ("GOLDBEAN_TRUSTED_PROXIES", "all", "whole number"),
        ("GOLDBEAN_COOKIE_SECURE", "sometimes", "expected 1/true/yes/on"),
        ("GOLDBEAN_TERMINAL_TOKEN_DAYS", "0", "1 to 3650"),
        ("GOLDBEAN_CORRECTION_APPROVAL_ABOVE", "-1", "0 to 100000000"),
        ("GOLDBEAN_ALLOTMENT_BATCH_APPROVAL_ABOVE", "many", "whole number"),
    ],
)
def test_a_bad_value_is_refused_with_an_error_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    env = {"GOLDBEAN_SECRET_KEY": SECRET, variable: value}
    with pytest.raises(SettingsError, match=variable) as error:
        load(env)
    assert message in str(error.value)


def test_the_four_eyes_thresholds_reach_the_ledgers_rules() -> None:
    env = {
        "GOLDBEAN_SECRET_KEY": SECRET,
        "GOLDBEAN_CORRECTION_APPROVAL_ABOVE": "20",
        "GOLDBEAN_ALLOTMENT_BATCH_APPROVAL_ABOVE": "0",
    }
    rules = load(env).rules()
    assert (rules.correction_approval_above, rules.allotment_batch_approval_above) == (20, 0)


def test_a_bad_config_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="setting bean_value_fen: .*whole number"):
        load({"GOLDBEAN_SECRET_KEY": SECRET}, {"bean_value_fen": True})


def test_errors_never_repeat_key_material() -> None:
    secret_hex = "ab" * 8 + "zz"  # not hex, so the entry is refused
    with pytest.raises(SettingsError) as error:
        load({"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_PAYMENT_CODE_KEYS": f"1:{secret_hex}"})
    assert secret_hex not in str(error.value)


def test_the_repr_of_settings_shows_no_secrets() -> None:
    settings = load(
        {
            "GOLDBEAN_SECRET_KEY": SECRET,
            "GOLDBEAN_ADMIN_PASSWORD": "hunter2hunter2",
            "GOLDBEAN_PAYMENT_CODE_KEYS": KEY_A,
        }
    )
    text = repr(settings)
    assert SECRET not in text and "hunter2" not in text and "aaaa" not in text
    assert "database_url" in text


def test_settings_are_frozen() -> None:
    settings = load({"GOLDBEAN_SECRET_KEY": SECRET})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.demo = True  # type: ignore[misc]


# --- what the settings build ------------------------------------------------------------


def test_rules_carry_the_programme_settings() -> None:
    rules = load(
        {
            "GOLDBEAN_SECRET_KEY": SECRET,
            "GOLDBEAN_TIME_ZONE": "UTC",
            "GOLDBEAN_BEAN_VALUE_FEN": "10",
            "GOLDBEAN_REBATE_BPS": "0",
        }
    ).rules()
    assert (rules.time_zone, rules.bean_value_fen, rules.default_rebate_bps) == ("UTC", 10, 0)
    assert rules.daily_award_cap == 200  # everything else keeps SPEC's defaults


def test_the_default_payment_key_is_derived_from_the_secret_so_codes_survive_a_restart() -> None:
    expected = hmac.new(SECRET.encode(), b"goldbean payment codes", hashlib.sha256).hexdigest()
    before_restart = load({"GOLDBEAN_SECRET_KEY": SECRET})
    after_restart = load({"GOLDBEAN_SECRET_KEY": SECRET})
    assert before_restart.payment_code_keys == (f"1:{expected}",)

    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    issued = codes.issue_payment_code(before_restart.keyring(), "12345678", now)
    claims = codes.verify_payment_code(after_restart.keyring(), issued.code, now)
    assert claims.account_number == "12345678"


def test_another_secret_derives_another_key() -> None:
    a = load({"GOLDBEAN_SECRET_KEY": SECRET}).payment_code_keys
    b = load({"GOLDBEAN_SECRET_KEY": SECRET + "!"}).payment_code_keys
    assert a != b


def test_explicit_payment_code_keys_make_the_last_one_current_and_keep_the_others() -> None:
    settings = load(
        {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_PAYMENT_CODE_KEYS": f" {KEY_A} , {KEY_B} "}
    )
    keyring = settings.keyring()
    assert keyring.current == 2 and keyring.key_ids == (1, 2)
    assert keyring.key(1) == bytes.fromhex("aa" * 32)


def test_payment_code_keys_may_be_given_as_a_list_in_config() -> None:
    settings = load({"GOLDBEAN_SECRET_KEY": SECRET}, {"payment_code_keys": [KEY_B, KEY_A]})
    assert settings.keyring().current == 1


def test_the_community_hotline_is_set_by_the_environment_and_the_demo_has_one() -> None:
    assert load({"GOLDBEAN_SECRET_KEY": SECRET}).community_hotline is None
    env = {"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_COMMUNITY_HOTLINE": " 0871-6512  3456 "}
    assert load(env).community_hotline == "0871-6512 3456"
    assert load({"GOLDBEAN_DEMO": "1"}).community_hotline  # printed on the demo's cards
    with pytest.raises(SettingsError, match="GOLDBEAN_COMMUNITY_HOTLINE"):
        load({"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_COMMUNITY_HOTLINE": "1" * 41})


def test_the_notices_webhook_is_an_http_address_and_kept_out_of_repr() -> None:
    settings = load(
        {
            "GOLDBEAN_SECRET_KEY": SECRET,
            "GOLDBEAN_NOTIFY_WEBHOOK": "https://gateway.example/notices?token=s3cret",
            "GOLDBEAN_NOTIFY_INCLUDE_PHONE": "yes",
        }
    )
    assert settings.notify_webhook == "https://gateway.example/notices?token=s3cret"
    assert settings.notify_include_phone is True
    assert settings.notify_max_age_hours == 72
    assert "s3cret" not in repr(settings)
    with pytest.raises(SettingsError, match="GOLDBEAN_NOTIFY_WEBHOOK"):
        load({"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_NOTIFY_WEBHOOK": "ftp://gateway"})
    with pytest.raises(SettingsError, match="GOLDBEAN_NOTIFY_MAX_AGE_HOURS"):
        load({"GOLDBEAN_SECRET_KEY": SECRET, "GOLDBEAN_NOTIFY_MAX_AGE_HOURS": "0"})
