"""Assertions the API tests share."""

from __future__ import annotations


def problem_code(answer) -> str:
    """The stable ``code`` of a problem+json answer (failing if it is not one)."""
    assert answer.mimetype == "application/problem+json", answer.get_data(as_text=True)
    return answer.get_json()["code"]


def status_and_code(answer) -> tuple[int, str]:
    return answer.status_code, problem_code(answer)


def assert_replayed(client, path, body, key):
    """POST twice with one Idempotency-Key: the second answer is the first, replayed."""
    first = client.post(path, json=body, headers={"Idempotency-Key": key})
    again = client.post(path, json=body, headers={"Idempotency-Key": key})
    assert first.status_code < 300, first.get_json()
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    return first.get_json()
