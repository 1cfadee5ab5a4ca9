"""Who may open which page (issue 7's authorization table, for the pages).

Every route of the ``web`` blueprint (and of the page blueprints under it) is either
public (listed in :data:`PUBLIC`) or
guarded by :func:`api.web.support.page` with its roles: a route that is neither fails
the suite. Then every guarded route × every method × every role: a visitor is sent to
``/login?next=``, a role the page does not name gets 403 (and a refused form post
records nothing), a role it names is let through (whatever the page then answers about
the made-up ids: never 403).
"""

from __future__ import annotations

import pytest

from api.auth import ROLES

ANY_ID = "00000000-0000-4000-8000-000000000000"
PUBLIC = {
    "web.static",
    "web.site.home",
    "web.site.login_form",
    "web.site.login",
    "web.site.logout",
    "web.public.public_merchants",
    "web.public.public_reports",
    "web.public.public_how",
    "web.public.public_leaderboard",
    "web.public.public_teams",
    "web.honours.public_honours",
    "web.reports.report_page",
    "web.reports.report_csv",
    "web.reports.report_xlsx",
    "web.reports.report_pdf",
    "web.reports.report_notice",
}


@pytest.fixture
def database_url():
    return "memory://"


def web_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("web."):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", ANY_ID)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, path


def test_every_page_is_public_or_names_its_roles(app):
    unguarded = sorted(
        {
            endpoint
            for endpoint, _method, _path in web_routes(app)
            if endpoint not in PUBLIC
            and not hasattr(app.view_functions[endpoint], "_goldbean_page_roles")
        }
    )
    assert not unguarded, f"pages without @page(roles) and not listed as public: {unguarded}"
    listed_but_gone = PUBLIC - {endpoint for endpoint, _, _ in web_routes(app)}
    assert not listed_but_gone, listed_but_gone


def test_every_guarded_page_lets_in_exactly_its_roles(app, community):
    app.config["WTF_CSRF_ENABLED"] = False  # the role check, not the form check, is tested
    auth = app.extensions["goldbean.auth"]
    ledger = app.extensions["goldbean.ledger"]
    links = {
        "volunteer": {"account_id": community.volunteer("志愿者")},
        "beneficiary": {"account_id": community.beneficiary("受助者")},
        "merchant": {"merchant_id": community.merchant("小店")},
    }
    clients = {}
    for role in ROLES:
        auth.create_user(f"page-{role}", "correct horse battery", role, **links.get(role, {}))
        client = app.test_client()
        client.post(
            "/login", data={"username": f"page-{role}", "password": "correct horse battery"}
        )
        clients[role] = client
    checked = 0
    for endpoint, method, path in web_routes(app):
        roles = getattr(app.view_functions[endpoint], "_goldbean_page_roles", None)
        if roles is None:
            continue
        visitor = app.test_client().open(path, method=method)
        assert visitor.status_code == 302 and visitor.location.startswith("/login"), (
            f"{method} {path} as a visitor: {visitor.status_code}"
        )
        for role, client in clients.items():
            head = ledger.recorder.max_notification_id() or 0
            answer = client.open(path, method=method, data={})
            allowed = not roles or role in roles
            if allowed:
                assert answer.status_code != 403, f"{method} {path} refused {role}"
                assert not (answer.location or "").startswith("/login"), f"{role} not signed in"
            else:
                assert answer.status_code == 403, (
                    f"{method} {path} let {role} in: {answer.status_code}"
                )
                assert (ledger.recorder.max_notification_id() or 0) == head
            checked += 1
    assert checked > 300
