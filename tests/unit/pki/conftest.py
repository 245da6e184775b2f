import datetime as dt
from pathlib import Path

import pytest

from idp.pki import TrustStore, demo


class DemoPki:
    def __init__(self, root: Path, manifest: dict) -> None:
        self.root = root
        self.manifest = manifest
        self.profiles = root / "profiles"

    def entry(self, ca: str, role: str) -> dict:
        for item in self.manifest["certificates"]:
            if item["ca"] == ca and item["role"] == role:
                return item
        raise KeyError((ca, role))

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def cert(self, ca: str, role: str) -> bytes:
        return self.read(self.entry(ca, role)["cert"])

    def chain(self, ca: str, role: str) -> list[bytes]:
        return [self.read(p) for p in self.entry(ca, role)["chain"]]

    def store(self, **kwargs) -> TrustStore:
        return TrustStore.from_directory(self.profiles, **kwargs)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> DemoPki:
    root = tmp_path_factory.mktemp("demo-pki")
    manifest = demo.generate(root, root / "profiles")
    return DemoPki(root, manifest)


@pytest.fixture(scope="session")
def store(pki) -> TrustStore:
    s = pki.store()
    assert not s.problems
    return s


@pytest.fixture
def now():
    return dt.datetime.now(dt.timezone.utc)
