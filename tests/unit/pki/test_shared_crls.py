"""CRLs fetched once for the deployment: the node holding the ``crl.publish`` job asks the CAs and stores
copies; the other nodes' refreshers load those; a copy gone stale sends a node back to the CA."""
from __future__ import annotations

import shutil

import pytest

from helpers import app_on, dispose_app
from idp.pki.refresh import refresh_once


@pytest.fixture
def profiles(pki, tmp_path):
    root = tmp_path / "pki"
    shutil.copytree(pki.root, root)
    return root / "profiles"


class CountingCa:
    """Wraps a node's way to the CAs, counting the CRLs it fetches."""

    def __init__(self, shared):
        self.fetch, self.count = shared.fetcher, 0
        shared.fetcher = self

    def __call__(self, location, **kwargs):
        self.count += 1
        return self.fetch(location, **kwargs)


@pytest.fixture
def nodes(tmp_path, any_database, profiles):
    database = f"sqlite:///{tmp_path}/shared.db" if any_database == "sqlite" else any_database  # one for both
    apps = [app_on(tmp_path / name, database, trust_profiles_dir=str(profiles), crl_refresh_seconds=3600)
            for name in ("a", "b")]
    for app in apps:
        app.extensions["idp"].crl_refresher.stop()  # the tests run the passes themselves
    yield apps
    for app in apps:
        dispose_app(app)


def test_one_node_fetches_the_crls_and_the_others_load_its_copies(nodes):
    from idp.jobs.runner import Runner
    from idp.jobs.schedule import server_jobs
    cas = [CountingCa(app.extensions["idp"].shared_crls) for app in nodes]
    runners = [Runner(app, server_jobs(app.extensions["idp"]), lease_seconds=30, holder=f"node-{i}")
               for i, app in enumerate(nodes)]
    ran = [runner.run_once() for runner in runners]
    assert ["crl.publish" in names for names in ran] == [True, False]
    assert [ca.count for ca in cas] == [4, 0]  # the demo PKI's four CRLs, fetched by one node
    other = nodes[1].extensions["idp"].trust
    other.revocation.clear()
    assert refresh_once(other) == []
    assert len(other.revocation.cached_crls()) == 4 and cas[1].count == 0  # loaded from the copies


def test_a_stale_copy_is_not_used(nodes):
    from idp.extensions import db
    first, second = (app.extensions["idp"] for app in nodes)
    assert first.shared_crls.publish(first.trust) == []
    ca = CountingCa(second.shared_crls)
    with nodes[1].app_context():
        with db.engine.begin() as conn:  # the publishing job stopped long ago
            conn.exec_driver_sql("UPDATE crl_copies SET fetched_at = 0")
    second.trust.revocation.clear()
    assert refresh_once(second.trust) == []
    assert ca.count == 4 and len(second.trust.revocation.cached_crls()) == 4


def test_a_source_that_fails_keeps_its_last_copy(nodes, profiles):
    from idp.pki import TrustStore
    core = nodes[0].extensions["idp"]
    assert core.shared_crls.publish(core.trust) == []
    target = sorted(url for p in TrustStore.from_directory(profiles).profiles.values()
                    for url in p.revocation.crl_urls)[0]
    kept = core.shared_crls(target)
    with open(target, "wb") as handle:
        handle.write(b"not a CRL")
    problems = core.shared_crls.publish(core.trust)
    assert len(problems) == 1 and core.shared_crls(target) == kept
