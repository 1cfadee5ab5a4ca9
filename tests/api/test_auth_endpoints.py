"""Signing in, asking who I am, and creating users over HTTP."""

from __future__ import annotations

import pytest

from api.app import create_app


def test_an_admin_creates_a_coordinator_who_signs_in_and_sees_who_they_are(admin, anonymous):
    made = admin.post(
        "/api/v1/users",
        json={"username": "zhang.coord", "password": "s3cret-enough", "role": "coordinator"},
    )
    assert made.status_code == 201
    assert made.get_json() == {"username": "zhang.coord", "role": "coordinator"}

    signed = anonymous.post(
        "/api/v1/auth/token", json={"username": "zhang.coord", "password": "s3cret-enough"}
    )
    assert signed.status_code == 200
    body = signed.get_json()
    assert body["role"] == "coordinator" and body["token"] and body["expires_at"]

    me = anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.get_json() == {
        "username": "zhang.coord",
        "role": "coordinator",
        "account_id": None,
        "merchant_id": None,
    }


def test_a_wrong_password_is_unauthenticated_and_the_token_is_not_given(admin, anonymous):
    admin.post(
        "/api/v1/users",
        json={"username": "li.fo", "password": "plain good passphrase", "role": "fund_officer"},
    )
    answer = anonymous.post("/api/v1/auth/token", json={"username": "li.fo", "password": "nope"})
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "unauthenticated"
    assert "token" not in answer.get_json()


def test_repeated_wrong_passwords_are_throttled(admin, anonymous):
    admin.post(
        "/api/v1/users",
        json={"username": "wang.aud", "password": "plain good passphrase", "role": "auditor"},
    )
    for _ in range(5):
        anonymous.post("/api/v1/auth/token", json={"username": "wang.aud", "password": "bad"})
    answer = anonymous.post(
        "/api/v1/auth/token", json={"username": "wang.aud", "password": "plain good passphrase"}
    )
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0


def test_me_needs_a_token(anonymous):
    answer = anonymous.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "unauthenticated"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    forged = anonymous.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401


def test_only_an_admin_creates_users(sign_in):
    coordinator = sign_in("coordinator")
    answer = coordinator.post(
        "/api/v1/users",
        json={"username": "someone", "password": "a long-enough phrase", "role": "admin"},
    )
    assert answer.status_code == 403
    assert answer.get_json()["code"] == "forbidden"


def test_a_taken_username_and_bad_fields_are_refused(admin):
    user = {"username": "dup.user", "password": "a long-enough phrase", "role": "auditor"}
    assert admin.post("/api/v1/users", json=user).status_code == 201
    assert admin.post("/api/v1/users", json=user).get_json()["code"] == "conflict"
    bad = admin.post("/api/v1/users", json={"username": "x", "password": "short", "role": "king"})
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["code"] == "validation_error" and set(body["errors"]["json"]) >= {
        "role",
        "password",
    }


@pytest.mark.parametrize("password", ["password1", "12345678", "weak.user2026", "qwertyuiop"])
def test_a_password_that_is_easy_to_guess_is_refused_with_a_reason(admin, password):
    """Reproduction (issue 15, 5): the only password rule was 8 characters."""
    user = {"username": "weak.user", "password": password, "role": "fund_officer"}
    answer = admin.post("/api/v1/users", json=user)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["code"] == "validation_error"
    assert "too easy to guess" in " ".join(body["errors"]["json"]["password"])
    assert password not in answer.get_data(as_text=True)


def test_a_volunteer_user_needs_an_account(admin):
    answer = admin.post(
        "/api/v1/users",
        json={"username": "vol.noacct", "password": "a long-enough phrase", "role": "volunteer"},
    )
    assert answer.status_code == 422


def test_creating_a_user_twice_with_one_idempotency_key_creates_it_once(admin):
    user = {"username": "retry.user", "password": "a long-enough phrase", "role": "auditor"}
    headers = {"Idempotency-Key": "create-retry-user"}
    first = admin.post("/api/v1/users", json=user, headers=headers)
    again = admin.post("/api/v1/users", json=user, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    other = admin.post("/api/v1/users", json={**user, "role": "admin"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"


def test_malformed_json_is_a_problem_document(admin):
    answer = admin.post(
        "/api/v1/users", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 422)
    assert answer.mimetype == "application/problem+json"


def test_the_openapi_document_lists_the_auth_paths_and_the_bearer_scheme(anonymous):
    document = anonymous.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/auth/token", "/api/v1/me", "/api/v1/users"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# --- the client's address behind proxies, and answers no cache keeps ---------------------


def _token_calls(trusted_proxies: int, forwarded_for: list[str]) -> list[int]:
    """One wrong password per X-Forwarded-For value, then the right one from the first
    value again: the statuses, on an app behind ``trusted_proxies`` proxies."""
    app = create_app(
        {"database_url": "memory://", "secret_key": "s" * 32, "trusted_proxies": trusted_proxies}
    )
    try:
        app.extensions["goldbean.auth"].create_user("li.fo", PASSWORD, "fund_officer")
        client = app.test_client()
        statuses = []
        for value in forwarded_for:
            answer = client.post(
                "/api/v1/auth/token",
                json={"username": "li.fo", "password": "wrong"},
                headers={"X-Forwarded-For": value},
            )
            statuses.append(answer.status_code)
        right = client.post(
            "/api/v1/auth/token",
            json={"username": "li.fo", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.10"},
        )
        return [*statuses, right.status_code]
    finally:
        app.extensions["goldbean.store"].close()
        app.extensions["goldbean.ledger"].close()


PASSWORD = "plain good passphrase"


def test_behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own():
    """Reproduction (issue 15, 5): with no trusted-proxy setting every client behind the
    documented reverse proxy shared one address."""
    statuses = _token_calls(1, ["203.0.113.66"] * 6)
    assert statuses == [401] * 5 + [429, 200]  # the attacker waits; 192.0.2.10 signs in


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing():
    # Each guess claims another address; all of them count against the real one.
    statuses = _token_calls(0, [f"203.0.113.{n}" for n in range(1, 7)])
    assert statuses == [401] * 5 + [429, 429]


def test_answers_with_tokens_or_personal_data_are_never_cached(admin, anonymous, community):
    """Reproduction (issue 15, 6): token, card and terminal answers had no
    Cache-Control: no-store."""
    admin.post("/api/v1/users", json={"username": "li.fo", "password": PASSWORD, "role": "auditor"})
    token = anonymous.post("/api/v1/auth/token", json={"username": "li.fo", "password": PASSWORD})
    shop = community.merchant("Corner Grocery")
    wang = community.volunteer("王芳")
    answers = [
        token,
        anonymous.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token.get_json()['token']}"}
        ),
        admin.post(f"/api/v1/merchants/{shop}/terminals", json={"label": "till"}),
        admin.get(f"/api/v1/accounts/{wang}"),
        admin.get(f"/api/v1/accounts/{wang}/entries"),
        anonymous.post("/api/v1/auth/token", json={"username": "li.fo", "password": "no"}),
    ]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
    public = anonymous.get("/api/v1/public/fund-reports")
    assert public.status_code == 200 and "no-store" not in public.headers.get("Cache-Control", "")


def test_a_staff_user_is_linked_only_to_a_volunteer_or_beneficiary_account(
    admin, anonymous, community
):
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery")
    before = community.log_length

    def make(name: str, account_id: str):
        body = {"username": name, "password": "s3cret-enough", "role": "coordinator"}
        return admin.post("/api/v1/users", json={**body, "account_id": account_id})

    for wrong in ("not-an-account", shop, "pool", "00000000-0000-0000-0000-000000000000"):
        answer = make("coord.wrong", wrong)
        assert (answer.status_code, answer.get_json()["code"]) == (422, "validation_error"), wrong
    assert make("coord.li", li.upper()).status_code == 201
    assert community.log_length == before

    signed = anonymous.post(
        "/api/v1/auth/token", json={"username": "coord.li", "password": "s3cret-enough"}
    )
    assert signed.get_json()["account_id"] == li  # kept in canonical form
    token = {"Authorization": f"Bearer {signed.get_json()['token']}"}
    incident = community.ledger.submit_incident(li, "fire", "smoke in the stairwell")
    answer = anonymous.post(f"/api/v1/incidents/{incident.id}/verify", json={}, headers=token)
    assert (answer.status_code, answer.get_json()["code"]) == (403, "self_verification")
    assert community.balance(li) == 0
