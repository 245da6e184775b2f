"""Shared by the session tests: a clock the test moves, and relying parties' logout endpoints."""
from __future__ import annotations

import pytest

from helpers import LogoutSite


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def site():
    """``site(*statuses, reply=None)``: a logout endpoint answering with those statuses, closed after the test."""
    made = []

    def make(*answers, reply=None):
        made.append(LogoutSite(answers, reply))
        return made[-1]
    yield make
    for s in made:
        s.close()
