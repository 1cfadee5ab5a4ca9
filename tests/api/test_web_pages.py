"""The people's pages: signing in and out with a session cookie, languages, CSRF, and the
public home page (SPEC §10)."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from api.auth import BadToken

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client, username: str, password: str = PASSWORD, **kw):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form, **kw)


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_login_page_speaks_chinese_by_default_and_english_when_asked(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "<h1>登录</h1>" in html
    assert '<label for="username">用户名</label>' in html

    english = client.get("/login?lang=en")
    assert "<h1>Sign in</h1>" in english.get_data(as_text=True)
    assert any(c.startswith("lang=en;") for c in english.headers.getlist("Set-Cookie"))
    # the choice sticks (cookie), until switched back
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    assert "<h1>登录</h1>" in client.get("/login?lang=zh_CN").get_data(as_text=True)


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, auth):
    auth.create_user("wei", PASSWORD, "admin")
    wrong = log_in(client, "wei", "not the password")
    unknown = log_in(client, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert "用户名或密码错误。" in answer.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "token" not in session


def test_the_login_error_is_in_english_for_english_readers(client):
    client.get("/login?lang=en")
    answer = log_in(client, "nobody-here", "not the password")
    assert "Wrong username or password." in answer.get_data(as_text=True)


def test_too_many_failures_say_how_long_to_wait(client, auth, clock):
    auth.create_user("wei", PASSWORD, "admin")
    for _ in range(auth.throttle.pair_free):
        assert log_in(client, "wei", "not the password").status_code == 401
    throttled = log_in(client, "wei", PASSWORD)  # even the right password waits a second
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert "登录失败次数过多，请 1 秒后再试。" in throttled.get_data(as_text=True)
    wait = 1
    while wait < 60:  # each further failure doubles the wait
        clock.advance(seconds=wait)
        assert log_in(client, "wei", "not the password").status_code == 401
        wait *= 2
    throttled = log_in(client, "wei", PASSWORD)
    assert throttled.headers["Retry-After"] == "64"
    assert "登录失败次数过多，请 2 分钟后再试。" in throttled.get_data(as_text=True)


def test_an_attacker_at_one_address_does_not_lock_the_user_out_of_the_pages(client, auth):
    """Reproduction (issue 15, 5): five wrong passwords from one address made the right
    password from another address answer 429 for 15 minutes."""
    auth.create_user("wei", PASSWORD, "admin")
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(30):
        assert log_in(client, "wei", "guess", environ_base=attacker).status_code in (401, 429)
    answer = log_in(client, "wei", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("role", "home"),
    [("volunteer", "/me"), ("merchant", "/pos"), ("coordinator", "/staff"), ("admin", "/staff")],
)
def test_signing_in_sets_a_safe_cookie_and_leads_to_the_role_s_page(
    client, auth, community, role, home
):
    ids = {}
    if role == "volunteer":
        ids["account_id"] = community.volunteer("李伟")
    elif role == "merchant":
        ids["merchant_id"] = community.merchant("Corner Grocery")
    auth.create_user("person", PASSWORD, role, **ids)
    answer = log_in(client, "person")
    assert answer.status_code == 303 and answer.headers["Location"] == home
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    if home != "/pos":
        page = client.get(home)
        assert page.status_code == 200 and "person" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "private, no-store"


def test_a_login_without_the_csrf_token_is_refused(client, auth):
    auth.create_user("wei", PASSWORD, "admin")
    client.get("/login")
    answer = client.post("/login", data={"username": "wei", "password": PASSWORD})
    assert answer.status_code == 400
    assert "表单" in answer.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "token" not in session


def test_signing_out_revokes_the_token(client, auth, community):
    auth.create_user("liwei", PASSWORD, "volunteer", account_id=community.volunteer("李伟"))
    log_in(client, "liwei")
    with client.session_transaction() as session:
        token = session["token"]
    me = client.get("/me")
    assert me.status_code == 200
    answer = client.post("/logout", data={"csrf_token": csrf_token(me.get_data(as_text=True))})
    assert answer.status_code == 303
    with pytest.raises(BadToken):
        auth.resolve(token)
    again = client.get("/me")
    assert again.status_code == 302 and again.headers["Location"] == "/login?next=/me"


def test_a_token_revoked_elsewhere_ends_the_page_session(client, auth, community):
    auth.create_user("liwei", PASSWORD, "volunteer", account_id=community.volunteer("李伟"))
    log_in(client, "liwei")
    with client.session_transaction() as session:
        auth.revoke(session["token"])
    assert client.get("/me").headers["Location"] == "/login?next=/me"
    with client.session_transaction() as session:
        assert "token" not in session


def test_logging_out_needs_the_csrf_token(client, auth):
    auth.create_user("wei", PASSWORD, "admin")
    log_in(client, "wei")
    assert client.post("/logout").status_code == 400
    assert client.get("/staff").status_code == 200  # still signed in


def test_signed_in_people_only_see_their_own_kind_of_page(client, auth, community):
    assert client.get("/staff").headers["Location"] == "/login?next=/staff"
    assert client.get("/me").headers["Location"] == "/login?next=/me"
    auth.create_user("liwei", PASSWORD, "volunteer", account_id=community.volunteer("李伟"))
    log_in(client, "liwei")
    refused = client.get("/staff")
    assert refused.status_code == 403 and "此页面不适用于您的角色" in refused.get_data(as_text=True)


def test_signing_in_returns_to_the_page_asked_for_but_never_to_another_site(client, auth):
    auth.create_user("wei", PASSWORD, "coordinator")
    asked = client.get("/staff/incidents?status=submitted")
    assert asked.headers["Location"] == "/login?next=/staff/incidents?status=submitted"
    form = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/staff/incidents?status=submitted"' in form
    token = csrf_token(form)
    data = {"username": "wei", "password": PASSWORD, "csrf_token": token}
    back = client.post("/login", data={**data, "next": "/staff/incidents?status=submitted"})
    assert back.headers["Location"] == "/staff/incidents?status=submitted"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "x"):
        signed_in_page = client.get("/staff").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(signed_in_page)})
        token = csrf_token(client.get("/login").get_data(as_text=True))
        data["csrf_token"] = token
        answer = client.post("/login", data={**data, "next": elsewhere})
        assert answer.headers["Location"] == "/staff", elsewhere


def test_the_home_page_lists_partner_merchants_and_no_residents(client, community):
    community.merchant("Corner Grocery")
    community.merchant("Sunrise Pharmacy", "pharmacy")
    volunteer = community.volunteer("李伟")
    community.beneficiary("王奶奶")
    community.earn(volunteer, 5)
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Corner Grocery" in html and "Sunrise Pharmacy" in html and "药店" in html
    assert "李伟" not in html and "王奶奶" not in html
    assert f'href="/reports/{community.now.strftime("%Y-%m")}"' in html


def test_the_json_api_is_not_csrf_checked(client, auth):
    auth.create_user("wei", PASSWORD, "admin")
    client.get("/login")  # the browser holds a session cookie with a CSRF token
    answer = client.post("/api/v1/auth/token", json={"username": "wei", "password": PASSWORD})
    assert answer.status_code in (200, 201)
    assert answer.get_json()["token"]


def _cookies(config: dict, **request) -> list[str]:
    app = create_app({"database_url": "memory://", "secret_key": "s" * 32, **config})
    try:
        return app.test_client().get("/login?lang=en", **request).headers.getlist("Set-Cookie")
    finally:
        app.extensions["goldbean.store"].close()
        app.extensions["goldbean.ledger"].close()


@pytest.mark.parametrize(
    "base_url", ["https://goldbean.example", "http://127.0.0.1:8000", "http://localhost"]
)
def test_cookies_are_secure_whatever_the_host_outside_demo_mode(base_url):
    """Reproduction (issue 15, 6): the Secure flag was dropped when the Host header was
    localhost or 127.0.0.1, which a reverse proxy often sends."""
    cookies = _cookies({}, base_url=base_url)
    assert cookies and all("Secure" in c for c in cookies)


def test_with_cookie_secure_off_only_https_requests_get_secure_cookies():
    plain = _cookies({"cookie_secure": False}, base_url="http://localhost:8000")
    assert plain and not any("Secure" in c for c in plain)
    tls = _cookies({"cookie_secure": False}, base_url="https://goldbean.example")
    assert tls and all("Secure" in c for c in tls)


def test_a_trusted_proxy_s_forwarded_https_makes_cookies_secure_and_nobody_else_s():
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    config = {"cookie_secure": False, "trusted_proxies": 1}
    behind_proxy = _cookies(config, base_url="http://localhost", headers=forwarded)
    assert behind_proxy and all("Secure" in c for c in behind_proxy)
    forged = _cookies({"cookie_secure": False}, base_url="http://localhost", headers=forwarded)
    assert forged and not any("Secure" in c for c in forged)
