"""Personal data (issue 7): members' names, donors' names and passwords never reach the
logs, and members' names never reach an error answer or a public page.

The requests go through the whole app (request log, ledger, auth, problem answers) at
DEBUG level, including refusals whose bodies carry the personal data, and every log
record any logger wrote is searched.
"""

from __future__ import annotations

import logging

import pytest

VOLUNTEER = "秘密张三"
BENEFICIARY = "秘密李四"
DONOR = "秘密王五"
PASSWORD = "a secret pass phrase"


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_names_and_passwords_stay_out_of_logs_errors_and_public_pages(
    app, admin, sign_in, anonymous, everything_logged
):
    coordinator = sign_in("coordinator")
    officer = sign_in("fund_officer")
    answers = []
    made = coordinator.post(
        "/api/v1/accounts",
        json={
            "kind": "volunteer",
            "display_name": VOLUNTEER,
            "username": "zhang",
            "password": PASSWORD,
        },
    )
    assert made.status_code == 201
    volunteer_id = made.get_json()["id"]
    answers.append(made)
    # the same username again: the account opens, its user is refused, the answer names the id
    answers.append(
        coordinator.post(
            "/api/v1/accounts",
            json={
                "kind": "beneficiary",
                "display_name": BENEFICIARY,
                "username": "zhang",
                "password": PASSWORD,
            },
        )
    )
    # refusals whose bodies carry the names
    answers.append(
        coordinator.post(
            "/api/v1/accounts", json={"kind": "volunteer", "display_name": VOLUNTEER + "\n"}
        )
    )
    answers.append(
        coordinator.post("/api/v1/accounts", json={"kind": "alien", "display_name": VOLUNTEER})
    )
    answers.append(
        officer.post(
            "/api/v1/fund/donations",
            json={
                "donor": DONOR,
                "amount_fen": -5,
                "received_on": "2026-01-01",
                "receipt_no": "R1",
            },
        )
    )
    answers.append(
        officer.post(
            "/api/v1/fund/donations",
            json={
                "donor": DONOR,
                "amount_fen": 10_000,
                "received_on": "2026-01-10",
                "receipt_no": "R2",
            },
        )
    )
    # a sign-in with the password typed into the username field, and a wrong password
    answers.append(
        anonymous.post("/api/v1/auth/login", json={"username": PASSWORD, "password": "x" * 12})
    )
    answers.append(
        anonymous.post("/api/v1/auth/login", json={"username": "zhang", "password": PASSWORD + "!"})
    )
    answers.append(
        anonymous.post("/api/v1/auth/login", json={"username": "zhang", "password": PASSWORD})
    )
    # reading the member as staff is fine (an answer to staff), but not as anyone else
    answers.append(anonymous.get(f"/api/v1/accounts/{volunteer_id}"))

    logged = everything_logged.text + "\n".join(
        str(r.args) + str(getattr(r, "exc_text", "")) for r in everything_logged.records
    )
    assert logged, "nothing was logged at all: the check would be vacuous"
    for secret in (VOLUNTEER, BENEFICIARY, DONOR, PASSWORD):
        assert secret not in logged, f"{secret!r} is in the logs"

    for answer in answers:
        if answer.status_code >= 400:
            body = answer.get_data(as_text=True)
            for secret in (VOLUNTEER, BENEFICIARY, PASSWORD):
                assert secret not in body, f"{secret!r} in a {answer.status_code} answer: {body}"

    public = [
        anonymous.get(path)
        for path in ("/", "/merchants", "/reports", "/how", "/api/v1/public/fund-reports")
    ]
    for page in public:
        assert page.status_code in (200, 404)
        for secret in (VOLUNTEER, BENEFICIARY, PASSWORD):
            assert secret not in page.get_data(as_text=True)
