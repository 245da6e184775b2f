"""The runner: a daemon thread in each server process that runs each background job only while it
holds the job's lease (``lease``).

Every ``tick`` (a third of the lease) it takes or renews the lease of every job, and runs a job whose
interval has passed since its last run on any node. A runner renews well before its leases expire;
when its process dies, its leases lapse, and another runner takes each job over within
``lease_seconds + tick`` of the last renewal (the takeover bound), keeping the job's schedule (the
last run time is stored with the lease). A job that runs longer than its lease could meet a second
runner, so jobs work in bounded batches, and each is safe against that too: the sealer locks its own
transaction, deliveries are claimed one by one, key transitions are conditional UPDATEs, a CRL
published twice is the same copy.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import lease

log = logging.getLogger("idp.jobs")


def node_name() -> str:
    """This process, as leases and claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    name: str
    interval: float              # seconds between runs, on whichever node holds the lease
    run: Callable[[], object]    # called in the application context


class Runner:
    def __init__(self, app, jobs: list[Job], *, lease_seconds: float = 30.0, tick: float | None = None,
                 holder: str | None = None, clock=time.time):
        self.app = app
        self.jobs = list(jobs)
        self.lease_seconds = lease_seconds
        self.tick = tick if tick is not None else lease_seconds / 3
        if self.tick >= lease_seconds:
            raise ValueError("a runner must renew its leases more often than they expire")
        self.holder = holder or f"{node_name()}:{id(self):x}"
        self.clock = clock
        self.runs: dict[str, int] = {job.name: 0 for job in self.jobs}  # runs by this runner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def takeover_seconds(self) -> float:
        """At most this long after a runner's last renewal, another runner holds its jobs."""
        return self.lease_seconds + self.tick

    def run_once(self) -> list[str]:
        """One tick: renew or take every lease, run the jobs that are due; returns the names run."""
        ran = []
        with self.app.app_context():
            from ..extensions import db
            engine = db.engine
            for job in self.jobs:
                if self._stop.is_set():
                    break
                try:
                    held = lease.acquire(engine, job.name, self.holder, self.lease_seconds, now=self.clock())
                except Exception:  # noqa: BLE001 - a database outage: try again next tick
                    log.exception("could not take or renew the lease of job %s", job.name)
                    continue
                if held is None:
                    continue
                started = self.clock()
                if held.last_run_at is not None and started < held.last_run_at + job.interval:
                    continue
                try:
                    job.run()
                except Exception:  # noqa: BLE001 - one failed run must not end the schedule
                    log.exception("job %s failed", job.name)
                finally:
                    db.session.remove()
                self.runs[job.name] += 1
                ran.append(job.name)
                try:
                    lease.ran(engine, job.name, self.holder, started)
                except Exception:  # noqa: BLE001
                    log.exception("could not record the run of job %s", job.name)
        return ran

    # --- the thread -------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "Runner":
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="idp-jobs", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001
                log.exception("job runner tick failed")
            self._stop.wait(self.tick)

    def stop(self, *, release: bool = True, timeout: float = 30.0) -> None:
        """Stop the thread; with ``release`` give the leases up so that another node takes over at once
        (without it, as when the process dies, they lapse after ``lease_seconds``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if release:
            with self.app.app_context():
                from ..extensions import db
                for job in self.jobs:
                    try:
                        lease.release(db.engine, job.name, self.holder)
                    except Exception:  # noqa: BLE001
                        log.exception("could not release the lease of job %s", job.name)
