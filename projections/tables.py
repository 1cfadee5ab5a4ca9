"""The read tables that the projections fill, and the tracking table that records how far
each projection has read the event log.

They live in the ledger's database (the same SQLite file, or the same PostgreSQL schema),
beside the event log and the API's tables, and are created by ``goldbean db init``.
Every table can be dropped and rebuilt from the log (``goldbean projections rebuild``).
Beans and fen are integers (``BigInteger``); local days and months are ``YYYY-MM-DD`` /
``YYYY-MM`` strings, which sort as dates.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from projections.types import UTCDateTime

metadata = MetaData()

ID = 36  # a UUID as text

tracking = Table(
    "gb_proj_tracking",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- accounts: balances and entries ----------------------------------------------------

accounts = Table(
    "gb_proj_accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(12), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("leaderboard_opt_in", Boolean, nullable=False),
    Column("rebate_bps", Integer, nullable=True),  # merchants only
)

entries = Table(
    "gb_proj_entries",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("version", Integer, primary_key=True),  # the account event's version
    Column("position", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("flow", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + credit, - debit
    Column("balance_after", BigInteger, nullable=False),
    Column("counterparty", String(ID), nullable=False),
    Column("ref", String(ID), nullable=False),
)

# --- merchants: redemptions, monthly figures, settlement lines ---------------------------

redemptions = Table(
    "gb_proj_redemptions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("merchant_id", String(ID), nullable=False),
    Column("payer_id", String(ID), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("method", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("day", String(10), nullable=False),
    Index("gb_proj_redemptions_by_day", "merchant_id", "day"),
)

merchant_months = Table(
    "gb_proj_merchant_months",
    metadata,
    Column("merchant_id", String(ID), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("redeemed", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
)

settlement_lines = Table(
    "gb_proj_settlement_lines",
    metadata,
    Column("settlement_id", String(ID), primary_key=True),
    Column("merchant_id", String(ID), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("beans", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False),
    Column("rebate_fen", BigInteger, nullable=False),
    Column("paid_on", String(10), nullable=True),
    Column("payment_ref", String(200), nullable=True),
    Index("gb_proj_settlement_lines_by_merchant", "merchant_id", "period"),
)

# --- the fund report: monthly figures, donations, payouts, volunteers' months ------------

# Every figure of a month that is a sum of its events; running totals (the fund's
# balance, beans outstanding) are sums over the months up to a period.
MONTH_FIGURES = (
    "donations_count",
    "donations_fen",
    "payouts_cash_fen",
    "payouts_rebate_fen",
    "incident_awards",
    "activity_awards",
    "allotments",
    "redeemed",
    "refunded",
    "gifted",
    "retired",
    "corrected",
    "fund_in_fen",
    "fund_out_fen",
    "incidents_verified",
    "redemptions",
)

months = Table(
    "gb_proj_months",
    metadata,
    Column("period", String(7), primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in MONTH_FIGURES),
)

donations = Table(
    "gb_proj_donations",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("received_on", String(10), nullable=False),
    Column("donor", String(200), nullable=False),  # "匿名 / anonymous" when asked
    Column("amount_fen", BigInteger, nullable=False),
    Column("receipt_no", String(100), nullable=False),
)

payouts = Table(
    "gb_proj_payouts",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("merchant_id", String(ID), nullable=False),
    Column("merchant", String(200), nullable=False),
    Column("beans", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False),
    Column("rebate_fen", BigInteger, nullable=False),
    Column("paid_on", String(10), nullable=False),
    Column("payment_ref", String(200), nullable=False),
)

volunteer_months = Table(
    "gb_proj_volunteer_months",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("account_id", String(ID), primary_key=True),
    Column("earned", BigInteger, nullable=False),
)

# Awards taken back by corrections that name them, by volunteer and by the month of the
# award: the leaderboard counts net awards (earned less these).
award_corrections = Table(
    "gb_proj_award_corrections",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("account_id", String(ID), primary_key=True),
    Column("corrected", BigInteger, nullable=False),
)

# Each merchant's rebate rate and the month it was registered in: a month's liability
# prices the beans not yet spent at the highest rate of the merchants registered by then.
merchant_rates = Table(
    "gb_proj_merchant_rates",
    metadata,
    Column("merchant_id", String(ID), primary_key=True),
    Column("period", String(7), nullable=False),
    Column("rebate_bps", Integer, nullable=False),
)

# The incidents coordinators work through (GET /api/v1/incidents).
incidents = Table(
    "gb_proj_incidents",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", BigInteger, nullable=False),  # of the report: the list's order
    Column("at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("category", String(40), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("location", String(200), nullable=True),
    Column("urgent", Boolean, nullable=False),
    Column("reporter_id", String(ID), nullable=False),
    Column("handler_ids", JSON, nullable=False),
    Column("award", BigInteger, nullable=True),
)

# What an id is, for the events that refer to it (an award's ref is an incident or an
# activity; a settlement line's period is the settlement's).
subjects = Table(
    "gb_proj_subjects",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(20), nullable=False),
)

# --- the audit chain (SPEC §8) -----------------------------------------------------------

chain = Table(
    "gb_proj_chain",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("chain", String(64), nullable=False),
)

# The chain value after the highest-positioned event of each month (a report's chain_head
# is the one with the highest position among the months up to its period).
chain_months = Table(
    "gb_proj_chain_months",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("chain", String(64), nullable=False),
)


# The programme's rule changes as they take effect (issue 18): a report lists those of
# its month (the local month of ``effective_at``).
rule_changes = Table(
    "gb_proj_rule_changes",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("effective_at", String(40), nullable=False),
    Column("changes", JSON, nullable=False),  # rule name -> its new value
)

# --- recognition (projections/recognition.py): lifetime totals, quarters, service hours ---

# Each volunteer's lifetime awards by kind, corrections of awards, and service time.
volunteer_totals = Table(
    "gb_proj_volunteer_totals",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("incident_awards", BigInteger, nullable=False),  # as the reporter
    Column("handling_awards", BigInteger, nullable=False),  # as a handler
    Column("activity_awards", BigInteger, nullable=False),
    Column("corrected", BigInteger, nullable=False),  # awards taken back by corrections
    Column("minutes", BigInteger, nullable=False),  # confirmed service time
    Column("attendances", BigInteger, nullable=False),
)

# The same per calendar quarter of the programme's zone (``YYYY-Qn``): the honours list.
volunteer_quarters = Table(
    "gb_proj_volunteer_quarters",
    metadata,
    Column("quarter", String(7), primary_key=True),
    Column("account_id", String(ID), primary_key=True),
    Column("earned", BigInteger, nullable=False),
    Column("corrected", BigInteger, nullable=False),
    Column("minutes", BigInteger, nullable=False),
)

# What recognition remembers of incidents and activities (reporter, handlers, duration).
recognition_subjects = Table(
    "gb_proj_recognition_subjects",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reporter_id", String(ID), nullable=True),
    Column("handler_ids", JSON, nullable=False),
    Column("minutes", BigInteger, nullable=True),  # an activity's duration
    Column("quarter", String(7), nullable=True),  # the quarter an activity started in
)

# --- notifications (projections/notices.py) -----------------------------------------------

# What each person is told, derived from the events: a reporter the outcome of a report,
# a handler an assignment, a shop a paid settlement line. The id is derived from the
# event and the recipient, so a rebuild gives every notice its old id.
notifications = Table(
    "gb_proj_notifications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("recipient_id", String(ID), nullable=False),  # an account or a merchant
    Column("kind", String(30), nullable=False),
    Column("subject_id", String(ID), nullable=False),  # the incident or the settlement
    Column("data", JSON, nullable=False),
    Index("gb_proj_notifications_by_recipient", "recipient_id", "position"),
)

# What the notices need to remember of incidents (reporter, category, handlers) and of
# settlements (the period and each merchant's line).
notice_subjects = Table(
    "gb_proj_notice_subjects",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("data", JSON, nullable=False),
)

# Beside the notices, and never emptied by a rebuild (they are not a projection's tables):
# which notices their recipient has read, and the outbox of the webhook (api/notify.py).
# The notices projection adds a pending outbox row for each new notice (a rebuild adds
# none for a notice that already has one, so a delivered notice is never sent again).
notice_reads = Table(
    "gb_notice_reads",
    metadata,
    Column("id", String(ID), primary_key=True),  # the notice
    Column("recipient_id", String(ID), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    Index("gb_notice_reads_by_recipient", "recipient_id"),
)

notice_outbox = Table(
    "gb_notice_outbox",
    metadata,
    Column("id", String(ID), primary_key=True),  # the notice
    Column("at", UTCDateTime, nullable=False),  # when its event happened
    Column("status", String(12), nullable=False),  # pending | delivered | expired
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", String(200), nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("gb_notice_outbox_due", "status", "next_attempt_at"),
)
