"""A small in-process index that follows the event log: which accounts exist, by kind,
and how many beans are in circulation.

Commands use it to find every beneficiary (allotments) and every merchant
(settlements), get_fund() to price the fund's liability, and list_approval_requests()
the corrections and allotment batches waiting for a second coordinator. It reads only
the events it needs, from where it last stopped, so each call costs what was recorded since. The
projections package builds the durable read models; this index keeps the ledger usable
on its own.
"""

from __future__ import annotations

from threading import Lock
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from ledger.accounts import Beneficiary, Flow, Pool, Volunteer
from ledger.approvals import ApprovalRequest
from ledger.merchants import Merchant

if TYPE_CHECKING:
    from eventsourcing.application import Application

_KINDS = (Volunteer, Beneficiary, Merchant, Pool)
_BATCH = 5000


class LedgerIndex:
    def __init__(self, app: Application) -> None:
        self._app = app
        self._lock = Lock()
        self._position = 0
        self._ids: dict[str, list[str]] = {cls.kind: [] for cls in _KINDS}
        self._outstanding = 0
        self._merchants: dict[str, list[int]] = {}  # id -> [beans held, rebate_bps]
        self._registered = get_topic(Merchant.Registered)
        self._merchant_moves = {
            get_topic(Merchant.BeansCredited): 1,
            get_topic(Merchant.BeansDebited): -1,
        }
        self._opened = {get_topic(Merchant.Registered): "merchant"} | {
            get_topic(cls.Opened): cls.kind for cls in _KINDS if cls is not Merchant
        }
        self._credited = {get_topic(cls.BeansCredited) for cls in _KINDS}
        self._debited = {get_topic(cls.BeansDebited) for cls in _KINDS}
        # requests waiting for a second coordinator: prepared, and neither approved nor
        # withdrawn yet (ids in the order they were prepared)
        self._pending: dict[str, None] = {}
        self._request_prepared = get_topic(ApprovalRequest.Prepared)
        self._request_decided = {
            get_topic(ApprovalRequest.Approved),
            get_topic(ApprovalRequest.Withdrawn),
        }
        self._topics = sorted(
            set(self._opened)
            | self._credited
            | self._debited
            | {self._request_prepared}
            | self._request_decided
        )

    def ids_of(self, kind: str) -> list[str]:
        """Ids of every account of ``kind``, in the order they were opened."""
        with self._lock:
            self._catch_up()
            return list(self._ids[kind])

    def outstanding_beans(self) -> int:
        """Beans held by anyone but issuance and retired: issued, less corrected and retired."""
        with self._lock:
            self._catch_up()
            return self._outstanding

    def holdings(self) -> tuple[int, list[tuple[int, int]]]:
        """Beans outstanding, and ``(beans held, rebate_bps)`` of every merchant: what
        :func:`ledger.money.liability_fen` prices."""
        with self._lock:
            self._catch_up()
            return self._outstanding, [(held, bps) for held, bps in self._merchants.values()]

    def pending_requests(self) -> list[str]:
        """Ids of the approval requests neither approved nor withdrawn, oldest first."""
        with self._lock:
            self._catch_up()
            return list(self._pending)

    def _catch_up(self) -> None:
        recorder, mapper = self._app.recorder, self._app.mapper
        # Up to the head as it is now, and from there next time: the events this index
        # reads can be rare (no bean moves for a while), and a reader that started from
        # the last one it read would go through every later event again on each call.
        head = recorder.max_notification_id() or 0
        while True:
            batch = recorder.select_notifications(
                start=self._position,
                limit=_BATCH,
                stop=head,
                topics=self._topics,
                inclusive_of_start=False,
            )
            for notification in batch:
                topic = notification.topic
                if topic == self._request_prepared:
                    self._pending[str(notification.originator_id)] = None
                elif topic in self._request_decided:
                    self._pending.pop(str(notification.originator_id), None)
                elif topic in self._opened:
                    self._ids[self._opened[topic]].append(str(notification.originator_id))
                    if topic == self._registered:
                        registered: Any = mapper.to_domain_event(notification)
                        self._merchants[str(notification.originator_id)] = [
                            0,
                            registered.rebate_bps,
                        ]
                else:
                    event: Any = mapper.to_domain_event(notification)
                    sign = self._merchant_moves.get(topic)
                    if sign is not None:
                        merchant = self._merchants.setdefault(
                            str(notification.originator_id), [0, 0]
                        )
                        merchant[0] += sign * event.amount
                    if topic in self._credited and event.flow in Flow.ISSUING:
                        self._outstanding += event.amount
                    elif topic in self._debited and event.flow in (
                        Flow.CORRECTION,
                        Flow.SETTLEMENT,
                    ):
                        self._outstanding -= event.amount
                self._position = notification.id
            if len(batch) < _BATCH:
                self._position = max(self._position, head)
                return
