"""The audit export: the whole event log with each event's chain value, as JSON Lines.

The one writer of the format that the auditor's verifier reads (projections/verifier.py):
``goldbean audit export`` (api/cli_projections.py) and the auditor's page
(api/web/auditor.py) both call :func:`write_export`. A header line comes first::

    {"format": "goldbean-audit-export", "version": 1, "time_zone": ..., "bean_value_fen": ...,
     "exported_at": ..., "events": N}

then one line per event: ``position``, ``originator_id``, ``version``, ``topic``,
``state`` (the stored JSON, as text) and ``chain`` (its chain value). ``exported_at`` is
the ledger's clock (the real time in production, the fake clock in tests), so the months
recomputed from the file are the ledger's months.

The export reaches up to the log's head as it was when it started and the ``audit``
projection has chained: events recorded meanwhile are left for the next export (they
would have no chain value yet).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from projections import queries
from projections.runner import Runner
from projections.verifier import FORMAT, FORMAT_VERSION

BATCH = 5000


@dataclass(frozen=True)
class Exported:
    events: int  # the events written
    head: int  # the position of the last event the export could include
    exported_at: datetime  # the header's time


def write_export(
    out: IO[str],
    runner: Runner,
    *,
    time_zone: str,
    bean_value_fen: int,
    now: Callable[[], datetime],
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
) -> Exported:
    """Write the export to ``out`` after bringing the chain up to date. ``now`` is the
    ledger's clock; ``progress(done, total)`` is called after each batch of events."""
    head = runner.head()
    runner.catch_up(stop=head)
    head = min(head, runner.positions()["audit"])
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as body:
        for batch in _batches(runner.recorder, head, batch_size):
            with runner.db.read() as conn:
                chains = queries.chain_values(conn, [n.id for n in batch])
            for n in batch:
                line = {
                    "position": n.id,
                    "originator_id": str(n.originator_id),
                    "version": n.originator_version,
                    "topic": n.topic,
                    "state": n.state.decode("utf-8"),
                    "chain": chains.get(n.id),
                }
                body.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += len(batch)
            if progress is not None:
                progress(count, head)
        exported_at = now()
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "time_zone": time_zone,
            "bean_value_fen": bean_value_fen,
            "exported_at": exported_at.isoformat(),
            "events": count,
        }
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        body.seek(0)
        shutil.copyfileobj(body, out)
    return Exported(count, head, exported_at)


def _batches(recorder: Any, head: int, size: int) -> Iterator[list[Any]]:
    position = 0
    while True:
        batch = recorder.select_notifications(
            start=position, limit=size, stop=head, inclusive_of_start=False
        )
        if not batch:
            return
        yield batch
        position = batch[-1].id
