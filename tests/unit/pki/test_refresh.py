"""Scheduled CRL refresh: one pass loads every configured CRL and keeps the cached one when a source
fails; the thread runs passes until stopped; create_app starts it only when IDP_CRL_REFRESH_SECONDS > 0;
``idp certs refresh`` does one pass."""
from __future__ import annotations

import json
import logging
import shutil
import time

import pytest
from click.testing import CliRunner

from idp.errors import ConfigError
from idp.pki import TrustStore
from idp.pki.commands import certs
from idp.pki.refresh import CrlRefresher, refresh_once


@pytest.fixture
def copy(pki, tmp_path):
    """A private copy of the demo PKI (its CRL files can be changed without touching other tests)."""
    root = tmp_path / "pki"
    shutil.copytree(pki.root, root)
    return root


def _crl_files(profiles_dir):
    store = TrustStore.from_directory(profiles_dir)
    return sorted(url for p in store.profiles.values() for url in p.revocation.crl_urls)


def test_one_pass_loads_every_configured_crl(copy):
    store = TrustStore.from_directory(copy / "profiles")
    assert store.revocation.cached_crls() == {}
    assert refresh_once(store) == []
    assert sorted(store.revocation.cached_crls()) == _crl_files(copy / "profiles")


def test_a_pass_replaces_a_cached_crl_with_the_new_file(copy):
    store = TrustStore.from_directory(copy / "profiles")
    refresh_once(store)
    target, other = _crl_files(copy / "profiles")[:2]
    before = store.revocation.cached_crls()[target].issuer
    shutil.copyfile(other, target)
    refresh_once(store)
    after = store.revocation.cached_crls()[target].issuer
    assert after != before and after == store.revocation.cached_crls()[other].issuer


def test_a_failed_source_is_logged_and_the_cached_crl_kept(copy, caplog):
    store = TrustStore.from_directory(copy / "profiles")
    refresh_once(store)
    target = _crl_files(copy / "profiles")[0]
    cached = store.revocation.cached_crls()[target]
    with open(target, "wb") as handle:
        handle.write(b"not a CRL")
    with caplog.at_level(logging.WARNING, logger="idp.pki.refresh"):
        problems = refresh_once(store)
    assert len(problems) == 1 and any("CRL refresh" in r.getMessage() for r in caplog.records)
    assert store.revocation.cached_crls()[target] is cached


def test_the_thread_runs_passes_until_stopped(copy):
    store = TrustStore.from_directory(copy / "profiles")
    refresher = CrlRefresher(store, 0.05).start()
    try:
        deadline = time.monotonic() + 10
        while refresher.passes < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert refresher.passes >= 2 and refresher.running
        assert len(store.revocation.cached_crls()) == 4
    finally:
        refresher.stop()
    assert not refresher.running
    passes = refresher.passes
    time.sleep(0.15)
    assert refresher.passes == passes


def test_an_interval_must_be_positive(copy):
    with pytest.raises(ValueError):
        CrlRefresher(TrustStore(), 0)


def test_create_app_starts_the_refresher_only_when_configured(copy, tmp_path):
    from helpers import create_app, make_settings
    lazy = create_app(make_settings(tmp_path / "a", trust_profiles_dir=str(copy / "profiles")))
    assert lazy.extensions["idp"].crl_refresher is None
    app = create_app(make_settings(tmp_path / "b", trust_profiles_dir=str(copy / "profiles"),
                                   crl_refresh_seconds=3600))
    refresher = app.extensions["idp"].crl_refresher
    try:
        assert refresher.running and refresher.interval == 3600
        deadline = time.monotonic() + 10
        while refresher.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(app.extensions["idp"].trust.revocation.cached_crls()) == 4
    finally:
        refresher.stop()
    assert not refresher.running


@pytest.mark.parametrize("raw", ["-1", "often"])
def test_the_setting_is_checked(raw):
    from idp.config import Settings
    with pytest.raises(ConfigError, match="IDP_CRL_REFRESH_SECONDS"):
        Settings.from_env({"IDP_SECRET_KEY": "k" * 40, "IDP_CRL_REFRESH_SECONDS": raw})


def test_certs_refresh_command(copy):
    runner = CliRunner()
    ok = runner.invoke(certs, ["refresh", "--json", "--profiles", str(copy / "profiles")])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["problems"] == [] and len(report["crls"]) == 4
    assert all(crl["next_update"] for crl in report["crls"])
    text = runner.invoke(certs, ["refresh", "--profiles", str(copy / "profiles")])
    assert text.exit_code == 0 and text.output.count("CRL ") == 4

    with open(_crl_files(copy / "profiles")[0], "wb") as handle:
        handle.write(b"not a CRL")
    bad = runner.invoke(certs, ["refresh", "--profiles", str(copy / "profiles")])
    assert bad.exit_code == 1 and "problem:" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(certs, ["refresh", "--profiles", str(copy / "nowhere")])
    assert missing.exit_code != 0 and "no trust profile directory" in missing.output
