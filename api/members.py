"""People's accounts as staff handle them: the user of a just-opened account, and a
beneficiary's card to print, its back and its holder. Shared by the accounts endpoints
and the coordinator's pages. Bottom floor."""

from __future__ import annotations

import logging

from api.auth import InvalidUser, UserExists
from api.context import auth_of, ledger_of, reading
from api.errors import ApiProblem
from ledger.errors import NotFound
from merchant_pos.printing import CardBack, CardHolder, PrintedCard
from projections import queries

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
    holder = card_holder(account_id)
    return PrintedCard(holder.code), holder.number


def card_holder(account_id: str) -> CardHolder:
    """Whose card it is, for the coordinator's sheet. NotFound as :func:`printed_card`."""
    card = ledger_of().get_card(account_id)
    if card.card_code is None:
        raise NotFound(f"beneficiary {account_id} has no card yet: issue one first")
    return CardHolder(card.display_name, card.number, card.card_code)


#: the kinds of shops as a card's back names them (the card's words are Chinese)
SHOP_KINDS = {
    "grocery": "超市",
    "produce": "菜市场",
    "canteen": "社区食堂",
    "restaurant": "餐馆",
    "pharmacy": "药店",
    "services": "生活服务",
    "other": "其他商店",
}
#: how many partner shops a card's back names
SHOPS_ON_A_CARD = 4


def card_back() -> CardBack:
    """What the back of a card says today: the kinds of shops where cards work (the
    programme's rules), the first active partner shops of those kinds, and the community's
    telephone (a rule on the record; ``GOLDBEAN_COMMUNITY_HOTLINE`` is its first value)."""
    ledger = ledger_of()
    rules = ledger.rules
    kinds = rules.beneficiary_categories
    shops: list[str] = []
    with reading() as conn:
        accounts = queries.merchants(conn)
    for account in accounts:
        if len(shops) == SHOPS_ON_A_CARD:
            break
        try:
            merchant = ledger.get_merchant(account["id"])
        except NotFound:
            continue
        if merchant.status == "active" and merchant.category in kinds:
            shops.append(account["display_name"])
    return CardBack(
        where=tuple(SHOP_KINDS.get(kind, kind) for kind in kinds),
        shops=tuple(shops),
        hotline=rules.community_hotline,
    )
