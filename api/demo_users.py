"""Sign-in names for a demo server: one user per role, all with the demo password.

Only ``goldbean serve`` in demo mode creates them, and only in a database the demo built
(:mod:`api.demo_mark`; never with real data): the admin, a
coordinator, two fund officers (a settlement is approved by the one who did not prepare
it), an auditor, the demo's sample volunteer, and a merchant sign-in for its sample shop.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.auth import Auth, UserExists
from api.demo_mark import NotADemoDatabase, is_demo_database
from api.demo_summary import DemoSummary

DEMO_PASSWORD = "goldbean-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    note: str


def create_demo_users(auth: Auth, summary: DemoSummary) -> list[DemoLogin]:
    """Create the demo's users (those not there yet) and return every demo login.

    Raises NotADemoDatabase, creating nobody, unless the demo built this database."""
    if not is_demo_database(auth.store):
        raise NotADemoDatabase("demo sign-ins are only created in a database the demo built")
    logins = [
        DemoLogin("admin", "admin", "users, merchants, terminals"),
        DemoLogin("coordinator", "coordinator", "incidents, activities, members, allotments"),
        DemoLogin("officer1", "fund_officer", "donations; prepares settlements"),
        DemoLogin("officer2", "fund_officer", "approves settlements"),
        DemoLogin("auditor", "auditor", "reads everything"),
    ]
    ids: dict[str, dict[str, str]] = {}
    if summary.volunteer:
        logins.append(DemoLogin("volunteer", "volunteer", summary.volunteer.name))
        ids["volunteer"] = {"account_id": summary.volunteer.id}
    if summary.merchant:
        logins.append(DemoLogin("shop", "merchant", summary.merchant.name))
        ids["shop"] = {"merchant_id": summary.merchant.id}
    for login in logins:
        try:
            auth.create_user(
                login.username, DEMO_PASSWORD, login.role, **ids.get(login.username, {})
            )
        except UserExists:
            pass  # created by an earlier start of this demo database: the same login
    return logins


def format_logins(logins: list[DemoLogin]) -> str:
    lines = [f"Demo sign-ins (password {DEMO_PASSWORD!r} for all):"]
    lines += [f"  {login.username:<12} {login.role:<13} {login.note}" for login in logins]
    return "\n".join(lines)
