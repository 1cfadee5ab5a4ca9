"""Commands and queries about members' records (ledger/people.py), and opening many
members' accounts at once (a roster import).

A record is personal data: it is kept in the personal-data store, never in the log, so
changing it records no event; an erased person has none, and cannot be given one again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from ledger import codes
from ledger.accounts import Account, Beneficiary, Person, Volunteer
from ledger.commands_members import MemberCommands
from ledger.core import check_text
from ledger.errors import InvalidState, ValidationError
from ledger.ids import derived_id
from ledger.people import MemberRecord, check_record, record_from_store
from ledger.records import AccountNumberClaimed
from ledger.views import AccountView

#: how many accounts one transaction opens (each is two new records: the account and the
#: claim of its number)
OPEN_BATCH = 200


@dataclass(frozen=True)
class NewMember:
    """A member to open an account for: ``kind`` (volunteer or beneficiary), the name, the
    record, and the key the account's id is derived from (the same key opens it once)."""

    kind: str
    display_name: str
    record: MemberRecord
    key: str


@dataclass(frozen=True)
class MemberEntry:
    """What the personal-data store holds of a member, for a list or a search."""

    display_name: str
    number: str
    record: MemberRecord


class PeopleCommands(MemberCommands):
    def get_member_record(self, account_id: object) -> MemberRecord:
        """A volunteer's or beneficiary's record (empty once erased). NotFound for any
        other id."""
        person = self._person(account_id)
        return record_from_store(self.personal.get(str(person.id)))

    def get_member_records(self, account_ids: Iterable[str]) -> dict[str, MemberRecord]:
        """The records of several members at once (for a list); ids with none are left
        out. Reads the personal-data store only: give ids of members."""
        found = self.personal.get_many(account_ids)
        return {subject: record_from_store(values) for subject, values in found.items()}

    def get_member_entries(self, account_ids: Iterable[str]) -> dict[str, MemberEntry]:
        """Name, number and record of several members at once (one read per 500); ids
        with no personal data (erased, or not members) are left out."""
        found = self.personal.get_many(account_ids)
        return {
            subject: MemberEntry(
                values.get("display_name", ""), values.get("number", ""), record_from_store(values)
            )
            for subject, values in found.items()
        }

    def erased_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these keys opened an account whose personal data was since erased
        (:meth:`open_members` does not open it again)."""
        by_id = {str(self.member_id_for_key(key)): key for key in keys}
        return {by_id[i] for i in self.personal.erased_among(by_id)}

    def set_member_record(self, account_id: object, record: MemberRecord) -> MemberRecord:
        """Replace a member's record. Records no event (it is personal data).

        Raises ValidationError for a field ``check_record`` refuses, InvalidState once the
        person's data was erased, NotFound for anything but a volunteer or beneficiary."""
        person = self._person(account_id)
        _record, problems = check_record(_typed(record))
        if problems:
            raise ValidationError(f"the record's {', '.join(sorted(problems))} cannot be kept")
        if self.personal.erased(str(person.id)):
            raise InvalidState("this person's personal data was erased; it is not kept again")
        self.personal.put(str(person.id), record.stored())
        return record

    def set_member_records(self, records: dict[str, MemberRecord]) -> None:
        """:meth:`set_member_record` for many members in one write (a roster import):
        the ids must be members' and not erased (the caller matched them)."""
        for record in records.values():
            if check_record(_typed(record))[1]:
                raise ValidationError("a record has a field that cannot be kept")
        self.personal.put_many({i: r.stored() for i, r in records.items()})

    def member_id_for_key(self, key: str) -> UUID:
        """The id the account opened with ``key`` has (or would have)."""
        return derived_id("account", key)

    def open_members(self, members: Sequence[NewMember]) -> list[AccountView]:
        """Open the accounts of ``members``, OPEN_BATCH to a transaction, each with a fresh
        account number and its record; an account whose key already opened one is left
        as it is (its view is returned all the same). In the order given.

        Raises ValidationError for an unknown kind, a bad name or record (nothing opened)."""
        classes: dict[str, type[Account]] = {"volunteer": Volunteer, "beneficiary": Beneficiary}
        for member in members:
            if member.kind not in classes:
                raise ValidationError(f"unknown kind of member {member.kind!r}")
            check_text(member.display_name, "display name", max_length=120)
            if check_record(_typed(member.record))[1]:
                raise ValidationError("a member's record has a field that cannot be kept")
        views: list[AccountView] = []
        for start in range(0, len(members), OPEN_BATCH):
            batch = members[start : start + OPEN_BATCH]
            views.extend(self.run(partial(self._open_batch, batch, classes), "opening members"))
        return views

    def _open_batch(
        self, batch: Sequence[NewMember], classes: dict[str, type[Account]]
    ) -> list[AccountView]:
        """One attempt: every account of ``batch`` not yet opened, in one save."""
        at = self.now()
        views: dict[str, AccountView] = {}
        fresh: list[tuple[NewMember, UUID]] = []
        for member in batch:
            record_id = self.member_id_for_key(member.key)
            existing = self.find_existing(record_id, Person)
            if existing is not None:
                views[str(record_id)] = self.account_view(existing)
            else:
                fresh.append((member, record_id))
        # Names, numbers and records go to the personal-data store before the save: if the
        # save fails they name nothing, and the retry overwrites them.
        numbers = {str(record_id): codes.new_account_number() for _m, record_id in fresh}
        self.personal.put_many(
            {
                str(record_id): {
                    "display_name": member.display_name.strip(),
                    "number": numbers[str(record_id)],
                    **member.record.stored(),
                }
                for member, record_id in fresh
            }
        )
        made: list[Account | AccountNumberClaimed] = []
        for member, record_id in fresh:
            cls = classes[member.kind]
            account = cls._create(cls.Opened, id=record_id, timestamp=at)
            made += [account, self._claim_number(numbers[str(record_id)], account)]
            views[str(record_id)] = AccountView(
                id=str(record_id),
                kind=cls.kind,
                display_name=member.display_name.strip(),
                balance=0,
                number=numbers[str(record_id)],
            )
        if made:
            self.save(*made)
        return [views[str(self.member_id_for_key(m.key))] for m in batch]


def _typed(record: MemberRecord) -> dict[str, str]:
    """A record as typed text again (to check a record built elsewhere)."""
    values = {k: v or "" for k, v in record.stored().items()}
    values["teams"] = "、".join(record.teams)
    return values
