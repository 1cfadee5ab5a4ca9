"""People's accounts as staff handle them: the user of a just-opened account, and a
beneficiary's card to print. Shared by the accounts endpoints and the coordinator's
pages. Bottom floor."""

from __future__ import annotations

import logging

from api.auth import InvalidUser, UserExists
from api.context import auth_of, ledger_of
from api.errors import ApiProblem
from ledger.errors import NotFound
from merchant_pos.printing import PrintedCard

log = logging.getLogger(__name__)


def add_owner(account_id: str, username: str, password: str, role: str) -> None:
    """Create the user of a just-opened account. The view checked that the username
    was free; if another request took it since (or the user is refused otherwise), the
    account stays open without a user, and the problem says which account it is."""
    try:
        auth_of().create_user(username, password, role, account_id=account_id)
    except (UserExists, InvalidUser) as error:
        log.warning(
            "account %s opened but its user %s not created: %s", account_id, username, error
        )
        status, code = (
            (409, "conflict") if isinstance(error, UserExists) else (422, "validation_error")
        )
        raise ApiProblem(
            status,
            code,
            f"{error}; account {account_id} was opened without a user",
            extra={"account_id": account_id},
        ) from None


def printed_card(account_id: str) -> tuple[PrintedCard, str]:
    """A beneficiary's current card to print, and its account number. NotFound unless the
    account is a beneficiary's with a card."""
    card = ledger_of().get_card(account_id)
    if card.card_code is None:
        raise NotFound(f"beneficiary {account_id} has no card yet: issue one first")
    return PrintedCard(card.display_name, card.card_code), card.number
