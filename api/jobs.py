"""Long work that must not hold a request: run in a thread of the worker that was asked,
with its progress and its result kept in ``gb_jobs`` so that any worker can show them.

The auditor's "verify now" is the first such job: on a log of a million events it takes
minutes, past any worker timeout. :meth:`Jobs.start` records the job and starts the
thread; the work reports ``progress(stage, done, total)`` and returns a JSON-able result.
While the work runs, its row's ``updated_at`` is renewed at least every few seconds; a
job whose worker died (its row unfinished and silent for :attr:`Jobs.silent_after`)
reads as interrupted, and a new one of its kind may start. Bottom floor."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from api.store import Store, jobs
from ledger.clock import Clock

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    started_by: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    stage: str
    done: int
    total: int
    result: dict[str, Any] | None
    interrupted: bool  # unfinished, and its worker has stopped renewing it

    @property
    def running(self) -> bool:
        return self.finished_at is None and not self.interrupted


class Jobs:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        beat_seconds: float = 2.0,
        silent_after: timedelta = timedelta(seconds=30),
    ) -> None:
        self.store = store
        self.clock = clock
        self.beat_seconds = beat_seconds
        self.silent_after = silent_after
        self._starting = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(
        self, app: Flask, kind: str, by: str, work: Callable[[Progress], dict[str, Any]]
    ) -> Job:
        """Start ``work`` in a thread inside ``app``'s context, unless a job of ``kind`` is
        running already (then that one is returned: one at a time)."""
        with self._starting:
            running = self.latest(kind)
            if running is not None and running.running:
                return running
            now = self.clock.now()
            job_id = str(uuid.uuid4())
            with self.store.write() as conn:
                conn.execute(
                    jobs.insert().values(
                        job_id=job_id,
                        kind=kind,
                        started_by=by,
                        started_at=now,
                        updated_at=now,
                        stage="starting",
                        done=0,
                        total=0,
                    )
                )
        thread = threading.Thread(
            target=self._run, args=(app, job_id, work), name=f"job-{kind}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        found = self.get(job_id)
        assert found is not None
        return found

    def join(self, timeout: float = 60.0) -> None:
        """Wait for the jobs this process started (before its database is closed: a job
        still using a connection that is closed under it can crash the process)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def get(self, job_id: str) -> Job | None:
        try:
            uuid.UUID(job_id)
        except ValueError:
            return None
        with self.store.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).first()
        return None if row is None else self._job(row)

    def latest(self, kind: str) -> Job | None:
        with self.store.read() as conn:
            row = conn.execute(
                select(jobs)
                .where(jobs.c.kind == kind)
                .order_by(jobs.c.started_at.desc(), jobs.c.job_id)
                .limit(1)
            ).first()
        return None if row is None else self._job(row)

    # --- the worker's side ------------------------------------------------------------

    def _run(self, app: Flask, job_id: str, work: Callable[[Progress], dict[str, Any]]) -> None:
        last = [0.0]
        stop = threading.Event()

        def progress(stage: str, done: int, total: int) -> None:
            if time.monotonic() - last[0] >= 0.5 or done == total:
                last[0] = time.monotonic()
                self._update(job_id, stage=stage, done=done, total=total)

        def beat() -> None:  # renew the row while a long stage reports nothing
            while not stop.wait(self.beat_seconds):
                self._update(job_id)

        beating = threading.Thread(target=beat, name="job-heartbeat", daemon=True)
        beating.start()
        try:
            with app.app_context():
                result = work(progress)
        except Exception as error:  # the job's page shows what failed
            log.exception("job %s failed", job_id)
            result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        finally:
            stop.set()
        now = self.clock.now()
        try:
            with self.store.write() as conn:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.job_id == job_id)
                    .values(
                        stage="finished",
                        updated_at=now,
                        finished_at=now,
                        result=json.dumps(result, ensure_ascii=False, default=str),
                    )
                )
        except Exception as error:  # the database went away: the job reads as interrupted
            log.warning("could not record the result of job %s: %s", job_id, error)

    def _update(self, job_id: str, **values: Any) -> None:
        try:
            with self.store.write() as conn:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.job_id == job_id, jobs.c.finished_at.is_(None))
                    .values(updated_at=self.clock.now(), **values)
                )
        except Exception as error:  # a database hiccup: the next update tries again
            log.warning("could not record the progress of job %s: %s", job_id, error)

    def _job(self, row: Any) -> Job:
        silent = self.clock.now() - row.updated_at >= self.silent_after
        return Job(
            job_id=row.job_id,
            kind=row.kind,
            started_by=row.started_by,
            started_at=row.started_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            stage=row.stage,
            done=row.done,
            total=row.total,
            result=None if row.result is None else json.loads(row.result),
            interrupted=row.finished_at is None and silent,
        )
