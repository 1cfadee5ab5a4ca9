"""Commands and queries about members: accounts, merchants, cards and codes."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID, uuid4

from ledger import codes
from ledger.accounts import Account, Beneficiary, Flow, Person, Pool, Volunteer
from ledger.core import LedgerCore, as_uuid, check_text
from ledger.errors import (
    CardRevoked,
    Conflict,
    FourEyesRequired,
    InvalidCode,
    InvalidState,
    NotFound,
    ValidationError,
)
from ledger.ids import POOL_ID, derived_id
from ledger.merchants import Merchant
from ledger.records import AccountNumberClaimed, CardRegistered
from ledger.views import AccountView, Actor, CardStatusView, CardView, MerchantView, canonical_id


class MemberCommands(LedgerCore):
    # --- opening accounts --------------------------------------------------------------

    def open_volunteer(self, display_name: str, *, key: str | None = None) -> AccountView:
        """Open a volunteer account with a fresh account number (once per ``key``)."""
        return self._open(Volunteer, display_name, key)

    def open_beneficiary(self, display_name: str, *, key: str | None = None) -> AccountView:
        """Open a beneficiary account; issue_card() gives it a card to spend with."""
        return self._open(Beneficiary, display_name, key)

    def register_merchant(
        self,
        name: str,
        category: str,
        rebate_bps: int | None = None,
        by: Actor | None = None,
        *,
        key: str | None = None,
    ) -> MerchantView:
        """Register a partner merchant (active) with its category and rebate rate; with
        ``key``, a repeat returns the first merchant and records nothing.

        Raises ValidationError for an unknown category or a rate outside 0..10000 bps.
        """
        name = check_text(name, "merchant name", max_length=120)
        self.base_rules.check_merchant_category(category)
        bps = (
            self.rules.default_rebate_bps  # the rules in force now
            if rebate_bps is None
            else self.base_rules.check_rebate_bps(rebate_bps)
        )

        record_id = derived_id("merchant", key) if key is not None else uuid4()
        replay = self.keyed(
            key,
            record_id,
            Merchant,
            lambda m: (m.display_name, m.category) == (name, category),
            merchant_view,
            "merchant",
        )

        def attempt() -> MerchantView:
            at, number = self.now(), codes.new_account_number()
            merchant = Merchant._create(
                Merchant.Registered,
                id=record_id,
                timestamp=at,
                display_name=name,
                number=number,
                category=category,
                rebate_bps=bps,
            )
            self.save(merchant, self._claim_number(number, merchant))
            return merchant_view(merchant)

        return self.run(attempt, "registering a merchant", replay)

    def _open(self, cls: type[Account], display_name: str, key: str | None) -> AccountView:
        name = check_text(display_name, "display name", max_length=120)
        record_id = derived_id("account", key) if key is not None else uuid4()
        replay = self.keyed(
            key,
            record_id,
            cls,
            lambda a: self.personal.get(str(a.id)).get("display_name") == name,
            self.account_view,
            f"{cls.kind} account",
        )

        def attempt() -> AccountView:
            # A clash on the number claim (two accounts drew the same number) retries
            # with a new number. The name and number go to the personal-data store first:
            # if the save then fails they name nothing, and the retry overwrites them.
            number = codes.new_account_number()
            self.personal.put(str(record_id), {"display_name": name, "number": number})
            account = cls._create(cls.Opened, id=record_id, timestamp=self.now())
            self.save(account, self._claim_number(number, account))
            return self.account_view(account)

        return self.run(attempt, f"opening a {cls.kind} account", replay)

    def _claim_number(self, number: str, account: Account) -> AccountNumberClaimed:
        return AccountNumberClaimed._create(
            AccountNumberClaimed.Claimed,
            id=derived_id("account-number", self.digest("account-number", number)),
            timestamp=account.modified_on,
            account_id=str(account.id),
        )

    def account_id_for_number(self, number: str) -> str:
        """The account that claimed ``number`` (claims never change, so they are memoised)."""
        account_id = self._claims.get(number)
        if account_id is None:
            claim = self.find(
                derived_id("account-number", self.digest("account-number", number)),
                AccountNumberClaimed,
            )
            if claim is None:
                raise NotFound(f"no account numbered {number}")
            account_id = self._claims[number] = claim.account_id
        return account_id

    def account_numbers(self, account_ids: Iterable[str]) -> dict[str, str]:
        """The account numbers of these people, at once (from the personal-data store: an
        erased person, or an id that is no person's, has none)."""
        found = self.personal.get_many(account_ids)
        return {i: fields["number"] for i, fields in found.items() if fields.get("number")}

    def account_view(self, account: Account) -> AccountView:
        """What the ledger says of an account: a person's name and number come from the
        personal-data store (an erased person has none)."""
        asked, erased = None, False
        if isinstance(account, Merchant):
            name, number = account.display_name, account.number
        elif isinstance(account, Pool):
            name, number = "pool", None
        else:
            found = self.personal.get(str(account.id))
            name, number = found.get("display_name", ""), found.get("number")
            if isinstance(account, Person):
                asked = account.erasure_request()
                erased = not found and self.personal.erased(str(account.id))
        return AccountView(
            id=str(account.id),
            kind=account.kind,
            display_name=name,
            balance=account.balance,
            number=number,
            leaderboard_opt_in=getattr(account, "leaderboard_opt_in", False),
            erasure_requested_by=asked,
            erased=erased,
        )

    # --- merchants ---------------------------------------------------------------------

    def suspend_merchant(self, merchant_id: object, by: Actor) -> MerchantView:
        """Suspend a merchant: it can no longer redeem or be paid until reactivated."""
        return self._merchant_status(merchant_id, by, suspend=True)

    def reactivate_merchant(self, merchant_id: object, by: Actor) -> MerchantView:
        return self._merchant_status(merchant_id, by, suspend=False)

    def _merchant_status(self, merchant_id: object, by: Actor, suspend: bool) -> MerchantView:
        def attempt() -> MerchantView:
            merchant = self.load(merchant_id, Merchant, "merchant")
            (merchant.suspend if suspend else merchant.reactivate)(by.name, self.now())
            self.save(merchant)
            return merchant_view(merchant)

        return self.run(attempt, "changing a merchant's status")

    def get_merchant(self, merchant_id: object) -> MerchantView:
        return merchant_view(self.load(merchant_id, Merchant, "merchant"))

    def merchant_for_code(self, merchant_code: str) -> Merchant:
        """The merchant a counter code names; InvalidCode if it names none."""
        number = codes.parse_merchant_code(merchant_code)
        try:
            return self.load(self.account_id_for_number(number), Merchant, "merchant")
        except NotFound:
            raise InvalidCode("this merchant code names no merchant") from None

    def get_merchant_by_code(self, merchant_code: str) -> MerchantView:
        return merchant_view(self.merchant_for_code(merchant_code))

    # --- accounts ----------------------------------------------------------------------

    def get_account(self, account_id: object) -> AccountView:
        return self.account_view(
            self.load_account(account_id, Volunteer, Beneficiary, Merchant, Pool)
        )

    def get_member_account(self, account_id: object) -> AccountView:
        """A volunteer's or a beneficiary's account: the only accounts a user may be
        linked to (the four-eyes rules compare them). NotFound for anything else."""
        return self.account_view(self.load_account(canonical_id(account_id)))

    def get_balance(self, account_id: object) -> int:
        return self.get_account(account_id).balance

    def get_pool_balance(self) -> int:
        pool = self.find(POOL_ID, Pool)
        return pool.balance if pool else 0

    def set_leaderboard_opt_in(self, account_id: object, opt_in: bool) -> AccountView:
        """A volunteer chooses whether their display name may appear on the leaderboard."""

        def attempt() -> AccountView:
            volunteer = self.load(account_id, Volunteer, "volunteer account")
            volunteer.choose_leaderboard(bool(opt_in), self.now())
            self.save(volunteer)
            return self.account_view(volunteer)

        return self.run(attempt, "changing a leaderboard choice")

    # --- erasure of personal data -------------------------------------------------------

    def request_erasure(self, account_id: object, by: Actor) -> AccountView:
        """Ask for a volunteer's or beneficiary's personal data to be erased; a second
        person approves (:meth:`approve_erasure`)."""

        def attempt() -> AccountView:
            person = self._person(account_id)
            if person.erasure_request() is None:
                person.trigger_event(Person.ErasureRequested, timestamp=self.now(), by=by.name)
                self.save(person)
            return self.account_view(person)

        return self.run(attempt, "asking for an erasure")

    def approve_erasure(self, account_id: object, by: Actor) -> AccountView:
        """Erase the person's name, number, card and PIN from the personal-data store, as a
        second person asked for; the account, its entries and the books stay whole.
        FourEyesRequired for the person who asked; InvalidState when nobody asked."""

        def attempt() -> AccountView:
            person = self._person(account_id)
            asked_by = person.erasure_request()
            if asked_by is None:
                raise InvalidState("nobody asked for this person's data to be erased")
            if asked_by == by.name:
                raise FourEyesRequired("a second person approves an erasure, not the one who asked")
            self.personal.erase(str(person.id))
            for gift_id in self._gifts_of(person):  # messages given or received may name them
                self.personal.erase(gift_id)
            person.trigger_event(Person.PersonalDataErased, timestamp=self.now(), by=by.name)
            self.save(person)
            return self.account_view(person)

        return self.run(attempt, "erasing personal data")

    def _gifts_of(self, person: Person) -> list[str]:
        """The gifts the person gave or received (their messages are kept beside the log,
        keyed by the gift)."""
        gifts: dict[str, None] = {}
        for event in self.events.get(person.id):
            if isinstance(event, (Account.BeansCredited, Account.BeansDebited)):
                if event.flow == Flow.GIFT:
                    gifts.setdefault(str(event.ref), None)
        return list(gifts)

    def _person(self, account_id: object) -> Person:
        account = self.load_account(account_id, Volunteer, Beneficiary)
        assert isinstance(account, Person)
        return account

    def is_erased(self, account_id: object) -> bool:
        return self.personal.erased(str(account_id))

    # --- codes and cards ---------------------------------------------------------------

    def issue_payment_code(self, account_id: object) -> codes.IssuedPaymentCode:
        """A volunteer's payment code for the next 60 s (SPEC §5); accepted once.

        Codes of the same second differ by a random nonce; on the rare draw of a code
        that was already used, draw again.
        """
        volunteer = self.load(account_id, Volunteer, "volunteer account")
        now, ttl = self.now(), self.base_rules.payment_code_ttl_seconds
        for _ in range(20):
            issued = codes.issue_payment_code(self.keyring, self._number_of(volunteer), now, ttl)
            if not self.exists(derived_id("payment-code", issued.code)):
                return issued
        raise Conflict("every payment code of this second is used; try again in a second")

    def issue_card(
        self, beneficiary_id: object, by: Actor, pin: str | None = None, *, key: str | None = None
    ) -> CardView:
        """Print a new card for a beneficiary, revoking any earlier card; the optional
        4-digit PIN is asked at the point of sale. Raises ValidationError for a bad PIN.

        With ``key``, a repeat returns the first card and records nothing: the card number
        is derived from the beneficiary and the key (:meth:`codes.Keyring.card_number_for`)."""
        verifier = None if pin is None else codes.hash_pin(codes.validate_pin(pin), self.pin_pepper)
        beneficiary_uuid = as_uuid(beneficiary_id, "beneficiary account")
        keyed_number = (
            None if key is None else self.keyring.card_number_for(str(beneficiary_uuid), key)
        )
        replay = self.keyed(
            key,
            self._card_id(keyed_number),
            CardRegistered,
            lambda card: card.beneficiary_id == str(beneficiary_uuid),
            lambda card: CardView(
                card.beneficiary_id, codes.card_code(str(keyed_number)), pin is not None
            ),
            "card",
        )

        def attempt() -> CardView:
            beneficiary = self.load(beneficiary_uuid, Beneficiary, "beneficiary account")
            number, at = keyed_number or codes.new_card_number(), self.now()
            # The number and the PIN's verifier are personal data: stored beside the log
            # before the save (a failed save leaves them to be overwritten by the retry).
            self.personal.put(str(beneficiary.id), {"card_number": number, "pin": verifier})
            beneficiary.issue_card(self.digest("card", number), verifier is not None, at)
            card = CardRegistered._create(
                CardRegistered.Registered,
                id=self._card_id(number),
                timestamp=at,
                beneficiary_id=str(beneficiary.id),
            )
            self.save(beneficiary, card)
            return CardView(str(beneficiary.id), codes.card_code(number), verifier is not None)

        return self.run(attempt, "issuing a card", replay)

    def get_card(self, beneficiary_id: object) -> CardStatusView:
        """A beneficiary's current card (NotFound unless the account is a beneficiary's)."""
        beneficiary = self.load(beneficiary_id, Beneficiary, "beneficiary account")
        found = self.personal.get(str(beneficiary.id))
        number = found.get("card_number") if beneficiary.card_digest is not None else None
        return CardStatusView(
            account_id=str(beneficiary.id),
            display_name=found.get("display_name", ""),
            number=found.get("number", ""),
            card_code=None if number is None else codes.card_code(number),
            has_pin=beneficiary.has_pin,
            locked=beneficiary.pin_locked,
            failures=beneficiary.pin_failures,
        )

    def pin_matches(self, beneficiary: Beneficiary, pin: str) -> bool:
        """Whether ``pin`` is the PIN of the beneficiary's current card."""
        verifier = self.personal.get(str(beneficiary.id)).get("pin")
        if verifier is None:
            return False
        try:
            return codes.check_pin(str(pin).strip(), verifier, self.pin_pepper)
        except ValidationError:
            return False

    def unlock_card(self, beneficiary_id: object, by: Actor) -> AccountView:
        """Clear a card's PIN lock-out after too many wrong PINs."""

        def attempt() -> AccountView:
            beneficiary = self.load(beneficiary_id, Beneficiary, "beneficiary account")
            beneficiary.unlock_card(by.name, self.now())
            self.save(beneficiary)
            return self.account_view(beneficiary)

        return self.run(attempt, "unlocking a card")

    def beneficiary_for_card(self, card_code: str) -> Beneficiary:
        """The beneficiary whose *current* card this is.

        Raises InvalidCode for a malformed or unknown card, CardRevoked for a card that
        a reissued card replaced.
        """
        number = codes.parse_card_code(card_code)
        card = self.find(self._card_id(number), CardRegistered)
        if card is None:
            raise InvalidCode("this card is not known")
        beneficiary = self.load(card.beneficiary_id, Beneficiary, "beneficiary account")
        if beneficiary.card_digest != self.digest("card", number):
            raise CardRevoked("this card was replaced by a newer card")
        return beneficiary

    def _card_id(self, number: str | None) -> UUID:
        """The id of a card's registration record: from a keyed digest of its number."""
        return derived_id("card", self.digest("card", str(number)))

    def _number_of(self, account: Account) -> str:
        number = self.personal.get(str(account.id)).get("number")
        if number is None:
            raise NotFound("this account has no number (its personal data was erased)")
        return number

    def volunteer_for_payment_code(self, claims: codes.PaymentCodeClaims) -> Volunteer:
        try:
            return self.load(
                self.account_id_for_number(claims.account_number), Volunteer, "volunteer"
            )
        except NotFound:
            raise InvalidCode("this payment code names no volunteer") from None


def merchant_view(merchant: Merchant) -> MerchantView:
    return MerchantView(
        id=str(merchant.id),
        name=merchant.name,
        category=merchant.category,
        rebate_bps=merchant.rebate_bps,
        status=merchant.status,
        unsettled_beans=merchant.unsettled_beans,
        balance=merchant.balance,
        number=merchant.number,
        merchant_code=codes.merchant_code(merchant.number),
    )
