"""Profiles are loaded from a directory, retired and re-added at run time, reloaded on change."""
import os

import pytest

from idp.pki import CertificateError, ProfileError, TrustStore, load_profile


@pytest.fixture
def profiles(pki, tmp_path):
    d = tmp_path / "profiles"
    d.mkdir()
    for name in ("demo-cn", "demo-serial"):
        text = (pki.profiles / f"{name}.toml").read_text()
        # make anchor paths absolute so the copies still find the demo files
        text = text.replace('"../', f'"{pki.profiles.parent}/')
        (d / f"{name}.toml").write_text(text)
    return d


def _code(store, cert):
    try:
        store.authenticate(cert)
        return "ok"
    except CertificateError as exc:
        return exc.code


def test_retire_and_add_at_run_time(pki, profiles):
    store = TrustStore.from_directory(profiles)
    cert = pki.cert("demo-serial", "person")
    assert _code(store, cert) == "ok"
    store.retire("demo-serial")
    assert _code(store, cert) == "untrusted"
    assert store.reload_if_changed() is False            # retirement survives reloads
    assert _code(store, cert) == "untrusted"
    store.add(profiles / "demo-serial.toml")
    assert _code(store, cert) == "ok"


def test_reload_picks_up_new_changed_and_removed_files(pki, profiles):
    store = TrustStore.from_directory(profiles)
    assert set(store.profiles) == {"demo-cn", "demo-serial"}
    text = (pki.profiles / "demo-gmt0015.toml").read_text().replace('"../', f'"{pki.profiles.parent}/')
    (profiles / "demo-gmt0015.toml").write_text(text)
    assert store.reload_if_changed() is True
    assert _code(store, pki.cert("demo-gmt0015", "person")) == "ok"
    path = profiles / "demo-serial.toml"
    path.write_text("retired = true\n" + path.read_text())
    os.utime(path, (1, 1))
    assert store.reload_if_changed() is True
    assert "demo-serial" not in store.profiles
    (profiles / "demo-cn.toml").unlink()
    store.reload_if_changed()
    assert set(store.profiles) == {"demo-gmt0015"}
    assert store.reload_if_changed() is False


def test_broken_profile_is_reported_not_fatal(profiles):
    (profiles / "broken.toml").write_text("name = 'x'\n[trust]\nroots = ['missing.pem']\n")
    store = TrustStore.from_directory(profiles)
    assert set(store.profiles) == {"demo-cn", "demo-serial"}
    assert any("missing.pem" in p for p in store.problems)
    with pytest.raises(ProfileError) as err:
        load_profile(profiles / "broken.toml")
    assert "at least one extractor" in str(err.value)        # every problem reported at once
