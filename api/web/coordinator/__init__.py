"""The coordinator's pages (SPEC §1, §4, §10; issue 6 "Coordinator").

- ``/staff/incidents``: the incident queue (what needs action: new reports, urgent and
  newest first, then verified ones; filters by status, kind, urgency, days and words)
  and each incident's page with its actions: verify (award), reject, duplicate (a search
  of recent incidents by words and place), handlers (a checklist), resolve;
- ``/staff/activities``: the activities, a form to create one, each activity's attendance
  to confirm, and its full-screen check-in QR code (``/staff/activities/<id>/checkin``);
- ``/staff/members``: registering volunteers and beneficiaries, finding them, and per
  beneficiary: issuing a card, printing it (``card.pdf``, or all cards, ``cards.pdf``) and
  clearing a PIN lock;
- ``/staff/allotments``, ``/staff/pool``, ``/staff/corrections``: granting a month's
  allotments, allocating the gift pool, correcting an erroneous award.

Who may do what mirrors the JSON API (api/endpoints/*.py): writes are the coordinator's
(registering members also the admin's, like ``POST /api/v1/accounts``); reading the
incident queue and activities is also the auditor's; reading members is any staff role's
(``GET /api/v1/accounts/{id}``). The ledger owns every rule; a refusal is flashed in the
reader's language and nothing is recorded.

A refused form goes back to its page with what was typed kept and each refusal beside
its field (``shared.keep``/``kept_form``; never a password or a PIN). Tables on staff
pages stack into labelled cards on a phone (``/static/web/tables.js`` and the CSS of
``web_base.html``).

A form that changes the ledger carries a ``form_key``. Commands that take an idempotency
key get :func:`~api.web.support.ledger_key`; for the others (verifying an incident,
creating an activity, issuing a card…) :func:`_repeat` claims the form key in the
API's idempotency store, so a form sent twice, even by a double click, records once.
"""
