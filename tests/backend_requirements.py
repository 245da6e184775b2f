"""pytest plugin: with IDP_REQUIRE_BACKENDS=1, a skipped ``postgres`` or ``redis`` test fails the run.

CI sets the variable so that a missing service cannot turn the backend tests silently green;
without it, a developer lacking PostgreSQL/Redis still gets a green run on SQLite.
Load it from tests/conftest.py with ``pytest_plugins = ["backend_requirements"]``.
"""
from __future__ import annotations

import os

import pytest

BACKEND_MARKERS = ("postgres", "redis")
ENV = "IDP_REQUIRE_BACKENDS"


def backends_required() -> bool:
    return os.environ.get(ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and backends_required() and not hasattr(report, "wasxfail"):
        markers = [m for m in BACKEND_MARKERS if item.get_closest_marker(m) is not None]
        if markers:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            report.outcome = "failed"
            report.longrepr = (f"{ENV}=1 but this {'/'.join(markers)} test was skipped: {reason}")
    return report
