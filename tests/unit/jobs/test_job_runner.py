"""Leases and the job runner: of several runners, one runs a job at a time; when it dies another takes
the job over within the stated bound; a job's schedule carries over to the new holder."""
from __future__ import annotations

import threading
import time

import pytest

from helpers import app_on, dispose_app


@pytest.fixture
def app(tmp_path, any_database):
    app = app_on(tmp_path, any_database)
    yield app
    dispose_app(app)


def _engine(app):
    from idp.extensions import db
    with app.app_context():
        return db.engine


def test_a_lease_is_held_by_one_holder_until_it_expires(app):
    from idp.jobs import lease
    engine = _engine(app)
    first = lease.acquire(engine, "job", "a", 10, now=1000.0)
    assert first is not None and first.generation == 1 and first.expires_at == 1010.0
    assert lease.acquire(engine, "job", "b", 10, now=1005.0) is None
    renewed = lease.acquire(engine, "job", "a", 10, now=1006.0)
    assert renewed.expires_at == 1016.0 and renewed.generation == 1
    taken = lease.acquire(engine, "job", "b", 10, now=1016.5)
    assert taken is not None and taken.generation == 2
    assert lease.acquire(engine, "job", "a", 10, now=1017.0) is None
    assert lease.ran(engine, "job", "a", 1017.0) is False  # only the holder records a run
    lease.release(engine, "job", "b")
    assert lease.acquire(engine, "job", "a", 10, now=1018.0).generation == 3


def test_holders_racing_for_a_new_lease_get_it_once(app):
    from idp.jobs import lease
    engine = _engine(app)
    barrier, won = threading.Barrier(8), []

    def race(name):
        barrier.wait()
        if lease.acquire(engine, "fresh", name, 30) is not None:
            won.append(name)

    threads = [threading.Thread(target=race, args=(f"h{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    assert lease.holders(engine)["fresh"][0] == won[0]


class Recorder:
    """A job that notes which runner ran it, and when (start, end)."""

    def __init__(self, seconds=0.0):
        self.seconds = seconds
        self.runs: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def job_for(self, holder):
        def run():
            start = time.monotonic()
            time.sleep(self.seconds)
            with self._lock:
                self.runs.append((holder, start, time.monotonic()))
        return run


def _runner(app, recorder, name, *, interval, lease_seconds=1.0, tick=0.1):
    from idp.jobs.runner import Job, Runner
    return Runner(app, [Job("test.job", interval, recorder.job_for(name))], lease_seconds=lease_seconds,
                  tick=tick, holder=name)


def test_two_runners_racing_for_the_same_job_run_it_once(app):
    recorder = Recorder()
    runners = [_runner(app, recorder, f"node-{i}", interval=3600) for i in range(2)]
    for runner in runners:
        runner.start()
    time.sleep(2.5)  # more than two lease periods: the holder keeps it by renewing
    for runner in runners:
        runner.stop()
    assert len(recorder.runs) == 1
    assert sorted(runner.runs["test.job"] for runner in runners) == [0, 1]


def test_a_dead_runners_job_is_taken_over_within_the_bound_and_never_run_twice_at_once(app):
    recorder = Recorder(seconds=0.05)
    first = _runner(app, recorder, "node-a", interval=0.2)
    second = _runner(app, recorder, "node-b", interval=0.2)
    first.start()
    deadline = time.monotonic() + 10
    while not recorder.runs and time.monotonic() < deadline:
        time.sleep(0.02)
    second.start()
    time.sleep(1.0)
    assert {holder for holder, _, _ in recorder.runs} == {"node-a"}
    first.stop(release=False)  # as when its process is killed: the lease is left to lapse
    died = time.monotonic()
    deadline = died + first.takeover_seconds + 5
    while not any(h == "node-b" for h, _, _ in recorder.runs) and time.monotonic() < deadline:
        time.sleep(0.02)
    second.stop()
    taken_over = min(start for holder, start, _ in recorder.runs if holder == "node-b")
    # within the lease and one tick (plus a job interval and scheduling slack on a loaded machine)
    assert taken_over - died <= first.takeover_seconds + 0.2 + 1.0
    ordered = sorted(recorder.runs, key=lambda run: run[1])
    assert all(a[2] <= b[1] for a, b in zip(ordered, ordered[1:])), "two runners ran the job at once"
    assert max(end for holder, _, end in recorder.runs if holder == "node-a") <= died + 0.1


def test_a_stopping_runner_hands_over_at_once_and_the_schedule_carries_over(app):
    recorder = Recorder()
    first = _runner(app, recorder, "node-a", interval=3600, lease_seconds=30, tick=0.1)
    second = _runner(app, recorder, "node-b", interval=3600, lease_seconds=30, tick=0.1)
    assert first.run_once() == ["test.job"]
    assert second.run_once() == []
    first.stop()  # releases its lease
    assert second.run_once() == []  # holds the job now, but it ran less than an interval ago
    from idp.jobs import lease
    assert lease.holders(_engine(app))["test.job"][0] == "node-b"
    assert [holder for holder, _, _ in recorder.runs] == ["node-a"]


def test_the_server_jobs_seal_the_audit_log_and_apply_key_transitions(app):
    from idp.audit.log import record
    from idp.audit.verification import check
    from idp.jobs.runner import Runner
    from idp.jobs.schedule import server_jobs
    with app.app_context():
        for n in range(3):
            record("test.event", n=n)
    runner = Runner(app, server_jobs(app.extensions["idp"]), lease_seconds=5, holder="node-a")
    assert runner.run_once() == ["audit.seal", "backchannel.retry", "keys.transitions", "authorisations.expire"]
    with app.app_context():
        report = check()
        assert report.ok and (report.sealed, report.unsealed, report.checkpoints) == (3, 0, 1)
    assert runner.run_once() == []  # none is due again yet
