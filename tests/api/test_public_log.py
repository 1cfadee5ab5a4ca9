"""The event log any citizen can download (issue 15): ``GET /api/v1/public/audit/export``
without signing in, in the export format, holding no name, number, card number, PIN
verifier or check-in code of anyone: those live beside the log (ledger/personal.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from projections.verifier import compute_reports, verify_chain

EXPORT = "/api/v1/public/audit/export"


def secrets_of(community, people: list[str], activity: str) -> list[str]:
    """Every personal datum and secret the ledger keeps beside the log for the fixture."""
    personal = community.ledger.personal
    found = []
    for subject in [*people, activity]:
        found += [value for value in personal.get(subject).values() if len(value) >= 4]
    return found


def test_anyone_downloads_the_whole_log_and_it_names_no_one(anonymous, community):
    li = community.volunteer("李伟 Li Wei")
    zhao = community.beneficiary("赵秀英 Zhao Xiuying")
    code = community.card(zhao, pin="4821")
    community.earn(li, 20)
    community.donate(100_000, receipt_no="R-1", donor="昆明爱心基金会")
    community.ledger.record_donation(
        donor="Secret Benefactor", anonymous=True, amount_fen=5_000,
        received_on=community.today, receipt_no="R-2", by=community.officer,
    )  # fmt: skip
    starts = community.now + timedelta(hours=1)
    activity = community.ledger.create_activity(
        "Clean-up", starts, starts + timedelta(hours=2), 5, community.coordinator
    )
    answer = anonymous.get(EXPORT)
    assert answer.status_code == 200
    assert answer.mimetype == "application/x-ndjson"
    text = answer.get_data(as_text=True)
    lines = [json.loads(line) for line in text.splitlines()]
    header, events = lines[0], lines[1:]
    assert header["format"] == "goldbean-audit-export" and header["events"] == len(events)
    assert verify_chain(events).ok
    assert compute_reports(header, events)  # the months recompute from it alone

    secrets = secrets_of(community, [li, zhao], activity.id)
    secrets += ["李伟", "Li Wei", "赵秀英", "Secret Benefactor", "昆明爱心基金会", code]
    secrets += [code[1:-1], activity.checkin_code]  # the card's number, the check-in code
    assert "pbkdf2" in json.dumps(community.ledger.personal.get(zhao))  # a PIN verifier...
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked and "pbkdf2" not in text  # ... that is not in the log
