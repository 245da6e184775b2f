import datetime as dt

import pytest

from idp.pki import TrustStore


@pytest.fixture(scope="session")
def store(pki) -> TrustStore:
    s = pki.store()
    assert not s.problems
    return s


@pytest.fixture
def now():
    return dt.datetime.now(dt.timezone.utc)
