"""The application's frame: health, readiness, the OpenAPI document, the docs page, and
problem+json for errors that happen before any endpoint runs."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_process_says_it_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readiness_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_the_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"].startswith("Goldbean")


def test_the_interactive_docs_load_their_scripts_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in html
    assert "https://" not in html  # nothing from a CDN
    for script in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        # a static file is streamed from disk: closing the response closes the file
        with client.get(f"/api/docs/static/{script}") as response:
            assert response.status_code == 200


def test_an_unknown_path_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "not_found" and body["status"] == 404
    assert set(body) >= {"type", "title", "status", "code", "detail"}


def test_a_wrong_method_is_a_problem_document_naming_the_allowed_ones(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_refused(client):
    response = client.post(
        "/api/v1/anything", data="x" * (65 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_every_response_carries_a_request_id_and_keeps_a_sane_one_given(client):
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
    given = client.get("/healthz", headers={"X-Request-Id": "till-7-0001"})
    assert given.headers["X-Request-Id"] == "till-7-0001"
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["X-Request-Id"] != "<script>"


def test_text_no_database_can_store_is_refused_before_any_endpoint(client):
    # As a client sends them: JSON escapes (the test client cannot encode a lone surrogate).
    for bad in (
        '{"username": "a\\u0000b", "password": "x"}',
        '{"username": "\\ud800", "password": "x"}',
    ):
        response = client.post("/api/v1/auth/token", data=bad, content_type="application/json")
        assert response.status_code == 422
        assert response.get_json()["code"] == "validation_error"


def test_deeply_nested_json_is_refused(client):
    body: dict = {"username": "a", "password": "b"}
    for _ in range(20):
        body = {"x": body}
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 422


def test_chinese_text_is_sent_as_utf8_not_escaped(client):
    response = client.post("/api/v1/auth/token", json={"username": "李伟", "password": "x"})
    assert response.status_code == 401
    assert "\\u" not in response.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
@pytest.mark.parametrize("path", ["/healthz", "/api/v1/public/fund-reports", "/", "/login"])
def test_every_answer_carries_the_security_headers(anonymous, path):
    answer = anonymous.get(path)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "Strict-Transport-Security" not in answer.headers  # plain http in tests


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_the_pos_page_keeps_its_own_policy_and_the_api_docs_still_load(anonymous):
    pos = anonymous.get("/pos")
    assert "camera" in pos.headers.get("Permissions-Policy", "")
    assert pos.headers["Content-Security-Policy"].count("default-src") == 1
    docs = anonymous.get("/api/docs")
    assert docs.status_code == 200 and "Content-Security-Policy" not in docs.headers


@pytest.mark.parametrize("driver", ["sqlalchemy", "recorder"])
def test_a_database_that_is_down_answers_503_to_retry_not_500(
    app, sign_in, monkeypatch, caplog, driver
):
    """PostgreSQL restarting (the chaos run restarts it): the answer says "try again"
    (503 unavailable, Retry-After) and the log has one line, not a traceback."""
    from eventsourcing.persistence import OperationalError as RecorderError
    from sqlalchemy.exc import OperationalError

    def refused(*_args, **_kwargs):
        if driver == "sqlalchemy":
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        raise RecorderError("connection failed: the database system is starting up")

    monkeypatch.setattr(app.extensions["goldbean.ledger"], "get_fund", refused)
    answer = sign_in("fund_officer").get("/api/v1/fund")
    assert answer.status_code == 503
    assert answer.get_json()["code"] == "unavailable" and answer.headers["Retry-After"] == "2"
    assert "Traceback" not in caplog.text and "database unavailable" in caplog.text


def test_a_path_cannot_forge_a_line_of_the_request_log(client, caplog):
    """``%0a`` in a path used to start a second, forged line in the request log."""
    forged = "/x%0aINFO%20goldbean.requests:%20POST%20/api/v1/settlements/forged/approve%20200"
    with caplog.at_level("INFO", logger="goldbean.requests"):
        client.get(forged)
    lines = [r.getMessage() for r in caplog.records if r.name == "goldbean.requests"]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("GET /x\\nINFO goldbean.requests: POST") and " 404 " in lines[0]
