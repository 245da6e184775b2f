"""Fixtures shared by the unit tests of several packages."""
import pytest

from helpers import DemoPki


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> DemoPki:
    """The demo PKI (three CAs encoding the same citizen three ways), generated once per test session."""
    return DemoPki.generate(tmp_path_factory.mktemp("demo-pki"))
