"""Signing-key rotation seen by a relying party, and private keys sealed at rest."""
from __future__ import annotations

import base64
import dataclasses
import os

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import create_app
from idp.config import Settings
from idp.errors import ConfigError
from idp.extensions import db
from idp.keys.models import SigningKey
from idp.keys.sealing import load_master_key, seal, unseal
from idp.migrate import upgrade

import helpers  # noqa: E402
HAS_PREPUBLISH = "key_prepublish_seconds" in {f.name for f in dataclasses.fields(Settings)}


def settings_for(tmp_path, **overrides):
    if HAS_PREPUBLISH:
        overrides.setdefault("key_prepublish_seconds", 0)  # a rotated key signs at once
    return helpers.make_settings(tmp_path, **overrides)


@pytest.fixture
def app(tmp_path):
    app = create_app(settings_for(tmp_path))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        from idp.identity.service import create_person
        create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD)
    yield app
    app.extensions["idp"].notifier.wait_idle(5)


@pytest.fixture
def rp(app):
    browser = helpers.Browser(app.test_client())
    return helpers.register(app, browser)


def published_jwks(app) -> dict:
    response = app.test_client().get("/jwks.json")
    assert response.status_code == 200
    return response.get_json()


def verify_with_published_jwks(app, token):
    """What a relying party does: verify against the JWKS it fetches from the server."""
    return jwt.decode(token, KeySet.import_key_set(published_jwks(app)))


def active_kid(app, alg):
    with app.app_context():
        return db.session.scalar(select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.status == "active"))


def test_token_signed_before_rotation_still_verifies_after_it(app, rp):
    before, _ = rp.login_tokens()
    old_kid = active_kid(app, "RS256")
    token = verify_with_published_jwks(app, before["id_token"])
    assert token.header["kid"] == old_kid and token.header["alg"] == "RS256"

    with app.app_context():
        [new_row] = app.extensions["idp"].keys.rotate("RS256")
        new_kid = new_row.kid
    assert new_kid != old_kid and active_kid(app, "RS256") == new_kid

    jwks = published_jwks(app)
    status = {k["kid"]: k for k in jwks["keys"]}
    assert old_kid in status and new_kid in status
    assert all("d" not in k for k in jwks["keys"]), "private material published"
    again = verify_with_published_jwks(app, before["id_token"])
    assert again.claims["sub"] == token.claims["sub"]

    after, _ = rp.login_tokens()
    new_token = verify_with_published_jwks(app, after["id_token"])
    assert new_token.header["kid"] == new_kid
    with app.app_context():
        states = {row.kid: row.status for row in app.extensions["idp"].keys.list_keys()}
    assert states[old_kid] == "previous" and states[new_kid] == "active"


def test_token_of_a_retired_key_no_longer_verifies(app, rp):
    before, _ = rp.login_tokens()
    old_kid = active_kid(app, "RS256")
    with app.app_context():
        manager = app.extensions["idp"].keys
        manager.rotate("RS256")
        manager.retire(old_kid)
    assert old_kid not in {k["kid"] for k in published_jwks(app)["keys"]}
    with pytest.raises(Exception):
        verify_with_published_jwks(app, before["id_token"])


def test_private_keys_are_sealed_at_rest(app):
    with app.app_context():
        rows = app.extensions["idp"].keys.list_keys()
        assert {row.alg for row in rows} == {"RS256", "ES256"}
        master = load_master_key(app.extensions["idp"].settings)
        for row in rows:
            stored = row.private_key_encrypted
            assert stored.startswith("v1:")
            assert "BEGIN" not in stored and "PRIVATE" not in stored
            raw = base64.urlsafe_b64decode(stored[3:])
            assert b"PRIVATE KEY" not in raw and len(raw) > 12 + 16
            pem = unseal(master, stored, row.kid)
            assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
            assert "d" not in row.public_jwk and row.public_jwk["kid"] == row.kid


def test_sealing_is_randomised_and_bound_to_the_kid():
    key = os.urandom(32)
    first, second = seal(key, b"secret pem", "rs256-a"), seal(key, b"secret pem", "rs256-a")
    assert first != second, "a fresh nonce each time"
    assert unseal(key, first, "rs256-a") == b"secret pem"
    with pytest.raises(ConfigError, match="rs256-b"):
        unseal(key, first, "rs256-b")  # a sealed key moved to another row does not open
    with pytest.raises(ConfigError, match="rs256-a"):
        unseal(key, "-----BEGIN PRIVATE KEY-----", "rs256-a")


def test_wrong_master_key_is_a_config_error_naming_the_key(app, tmp_path):
    with app.app_context():
        rows = app.extensions["idp"].keys.list_keys()
        row = next(r for r in rows if r.alg == "RS256")
        kid, stored = row.kid, row.private_key_encrypted
    wrong = os.urandom(32)
    with pytest.raises(ConfigError) as info:
        unseal(wrong, stored, kid)
    assert kid in str(info.value) and "master key" in str(info.value)

    # a server started on the same database with another master key cannot sign, and says why
    other = create_app(settings_for(tmp_path, master_key=wrong))
    with other.app_context():
        with pytest.raises(ConfigError) as info:
            other.extensions["idp"].keys.signing_key("RS256")
    assert kid in str(info.value) and "master key" in str(info.value)


def test_master_key_file(tmp_path):
    good = tmp_path / "master.key"
    key = os.urandom(32)
    good.write_text(base64.urlsafe_b64encode(key).decode().rstrip("=") + "\n")
    assert load_master_key(settings_for(tmp_path, master_key_file=str(good))) == key
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="IDP_MASTER_KEY_FILE"):
        load_master_key(settings_for(tmp_path, master_key_file=str(bad)))


def test_master_key_derived_from_secret_when_unset(tmp_path):
    a = load_master_key(settings_for(tmp_path))
    b = load_master_key(settings_for(tmp_path, secret_key="another-secret-" + "z" * 32))
    assert len(a) == 32 and a != b
    assert load_master_key(settings_for(tmp_path)) == a


def test_first_jwks_request_on_a_new_installation_creates_the_keys(tmp_path):
    from helpers import make_settings
    from idp.migrate import upgrade as migrate
    app = create_app(make_settings(tmp_path))
    migrate(app)
    response = app.test_client().get("/jwks.json")
    assert response.status_code == 200
    assert {k["alg"] for k in response.get_json()["keys"]} == {"RS256", "ES256"}


def test_upgrade_keeps_the_newest_of_several_active_keys(tmp_path):
    """Installations from before the one-active-key index may hold several active keys of an algorithm."""
    from sqlalchemy.exc import IntegrityError

    app = create_app(settings_for(tmp_path))
    upgrade(app, "0003_registration_tokens")
    with app.app_context():
        manager = app.extensions["idp"].keys
        rows = [manager._create(alg, "active") for alg in ("RS256", "RS256", "RS256", "ES256")]
        db.session.commit()
        kids = [row.kid for row in rows]
    upgrade(app)
    with app.app_context():
        db.session.expire_all()
        states = {row.kid: row.status for row in db.session.scalars(select(SigningKey))}
        assert states == {kids[0]: "previous", kids[1]: "previous", kids[2]: "active", kids[3]: "active"}
        assert all(row.deactivated_at is not None for row in db.session.scalars(select(SigningKey))
                   if row.status == "previous")
        assert manager.signing_key("RS256").kid == kids[2]
        assert {k["kid"] for k in manager.public_jwks()["keys"]} == set(kids)  # the demoted still verify
        with pytest.raises(IntegrityError):
            manager._create("RS256", "active")
        db.session.rollback()
