"""Signing-key life cycle: pre-publication, activation, automatic retirement, master-key rewrap, and a
rotation under a running load of logins and ID-token validations by the Python adapter."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from helpers import make_settings, start_workers_at_once
from live_server import LiveServer


def _app(tmp_path, **overrides):
    from idp import create_app
    from idp.migrate import upgrade
    app = create_app(make_settings(tmp_path, **overrides))
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    return app


def _states(manager, alg=None):
    return {k.kid: k.status for k in manager.list_keys() if alg is None or k.alg == alg}


def _backdate(kid, **columns):
    from idp.extensions import db
    from idp.keys.models import SigningKey
    row = db.session.scalar(db.select(SigningKey).where(SigningKey.kid == kid))
    for name, seconds in columns.items():
        setattr(row, name, getattr(row, name) - timedelta(seconds=seconds))
    db.session.commit()


def _published(manager):
    return {k["kid"] for k in manager.public_jwks()["keys"]}


def test_rotation_prepublishes_then_activates_then_retires(tmp_path):
    app = _app(tmp_path, key_prepublish_seconds=600, id_token_ttl=3600, access_token_ttl=900,
               key_retire_leeway_seconds=300)
    with app.app_context():
        manager = app.extensions["idp"].keys
        old = manager.signing_key("ES256").kid
        [new] = manager.rotate("ES256")
        assert new.status == "pending"
        assert new.kid in _published(manager)               # published at once ...
        assert manager.signing_key("ES256").kid == old       # ... but not signing yet
        assert manager.describe(new)["activates_at"]
        with pytest.raises(Exception, match="already waiting"):
            manager.rotate("ES256")

        _backdate(new.kid, created_at=601)                   # the pre-publication period is over
        manager.invalidate()
        assert manager.signing_key("ES256").kid == new.kid
        assert _states(manager, "ES256") == {old: "previous", new.kid: "active"}
        assert old in _published(manager)                    # tokens it signed still verify
        retires_at = manager.describe(next(k for k in manager.list_keys() if k.kid == old))["retires_at"]
        assert retires_at

        _backdate(old, deactivated_at=3600 + 300 + 10)       # every token it signed has expired
        manager.invalidate()
        assert old not in _published(manager)
        assert _states(manager, "ES256")[old] == "retired"

        from idp.audit.models import AuditEvent
        from idp.extensions import db
        events = [(e.event, e.data.get("kid")) for e in db.session.scalars(db.select(AuditEvent))]
        assert ("key.rotated", new.kid) in events and ("key.activated", new.kid) in events
        assert ("key.retired", old) in events


def test_both_algorithms_side_by_side(tmp_path):
    app = _app(tmp_path, key_prepublish_seconds=0)
    with app.app_context():
        manager = app.extensions["idp"].keys
        created = manager.rotate()
        assert sorted(k.alg for k in created) == ["ES256", "RS256"]
        assert all(k.status == "active" for k in created)   # no pre-publication configured
        kinds = sorted(k["kty"] for k in manager.public_jwks()["keys"])
        assert kinds == ["EC", "EC", "RSA", "RSA"]           # both new and both previous keys
        assert manager.signing_key("RS256").kid in {k.kid for k in created}


def test_promotion_happens_once_with_several_workers(tmp_path):
    first = _app(tmp_path, key_prepublish_seconds=1)
    from idp import create_app
    second = create_app(first.extensions["idp"].settings)
    with first.app_context():
        [new] = first.extensions["idp"].keys.rotate("RS256")
    time.sleep(1.2)
    results = []

    def read(app):
        with app.app_context():
            results.append(app.extensions["idp"].keys.signing_key("RS256").kid)

    threads = [threading.Thread(target=read, args=(app,)) for app in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [new.kid] * 4
    with first.app_context():
        from idp.audit.models import AuditEvent
        from idp.extensions import db
        activations = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "key.activated")).all()
        assert [a.data["kid"] for a in activations] == [new.kid]
        assert list(_states(first.extensions["idp"].keys, "RS256").values()).count("active") == 1


def test_retire_explicitly(tmp_path):
    app = _app(tmp_path, key_prepublish_seconds=0)
    with app.app_context():
        manager = app.extensions["idp"].keys
        active = manager.signing_key("RS256").kid
        with pytest.raises(Exception, match="is active"):
            manager.retire(active)
        manager.rotate("RS256")
        retired = manager.retire(active)
        assert retired.status == "retired" and active not in _published(manager)
        with pytest.raises(Exception, match="no signing key"):
            manager.retire("rs256-unknown")


def test_immediate_rotation_replaces_a_waiting_key(tmp_path):
    app = _app(tmp_path, key_prepublish_seconds=600)
    with app.app_context():
        manager = app.extensions["idp"].keys
        [waiting] = manager.rotate("ES256")
        [now] = manager.rotate("ES256", immediate=True)
        states = _states(manager, "ES256")
        assert states[waiting.kid] == "retired" and states[now.kid] == "active"
        assert manager.signing_key("ES256").kid == now.kid


def test_rewrap_under_a_new_master_key(tmp_path):
    app = _app(tmp_path)
    new_key = os.urandom(32)
    with app.app_context():
        manager = app.extensions["idp"].keys
        kid = manager.signing_key("RS256").kid
        assert manager.rewrap(new_key) == 2
    # a fresh worker with only the new master key signs with the same key
    fresh = _app(tmp_path, master_key=new_key)
    with fresh.app_context():
        assert fresh.extensions["idp"].keys.signing_key("RS256").kid == kid
    # the old master key no longer decrypts it
    from idp.extensions import db
    from idp.keys.models import SigningKey
    from idp.keys.sealing import derive_master_key, unseal
    with fresh.app_context():
        row = db.session.scalar(db.select(SigningKey).where(SigningKey.kid == kid))
        with pytest.raises(Exception, match="wrong master key"):
            unseal(derive_master_key(fresh.extensions["idp"].settings.secret_key), row.private_key_encrypted, kid)
    # a worker started before the rewrap keeps signing with the keys it holds; one restarted with the new
    # key and the old one as IDP_MASTER_KEY_PREVIOUS reads keys sealed under either
    with app.app_context():
        assert app.extensions["idp"].keys.signing_key("RS256").kid == kid
    both = _app(tmp_path, master_key=new_key, master_key_previous=derive_master_key(
        fresh.extensions["idp"].settings.secret_key))
    with both.app_context():
        assert both.extensions["idp"].keys.signing_key("ES256")


def test_cli_rotate_list_retire_rewrap(tmp_path):
    settings = make_settings(tmp_path)
    _app(tmp_path)
    env = {"IDP_SECRET_KEY": settings.secret_key, "IDP_DATABASE_URL": settings.database_url,
           "IDP_ISSUER": settings.issuer, "IDP_KEY_PREPUBLISH_SECONDS": "600", "PATH": "/usr/bin:/bin"}

    def idp(*args, extra_env=None):
        done = subprocess.run([sys.executable, "-m", "idp.cli", *args], env={**env, **(extra_env or {})},
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr

    code, out, err = idp("keys", "rotate", "--alg", "ES256", "--json")
    assert code == 0, err
    [pending] = json.loads(out)
    assert pending["status"] == "pending" and pending["activates_at"]
    code, out, _ = idp("keys", "list", "--json")
    listed = {k["kid"]: k for k in json.loads(out)}
    assert listed[pending["kid"]]["status"] == "pending"
    code, out, err = idp("keys", "retire", pending["kid"])
    assert code == 0 and "retired" in out
    active = next(k for k in listed.values() if k["status"] == "active")
    code, _, err = idp("keys", "retire", active["kid"])
    assert code == 1 and "rotate first" in err

    key_file = tmp_path / "new-master.key"
    new_key = os.urandom(32)
    key_file.write_text(base64.urlsafe_b64encode(new_key).decode())
    code, out, err = idp("keys", "rewrap", "--new-master-key-file", str(key_file), "--json")
    assert code == 0 and json.loads(out) == {"rewrapped": 3}, err
    code, out, err = idp("keys", "list", extra_env={"IDP_MASTER_KEY_FILE": str(key_file)})
    assert code == 0, err
    bad = tmp_path / "bad.key"
    bad.write_text("c2hvcnQ")  # base64url of 5 bytes
    code, _, err = idp("keys", "rewrap", "--new-master-key-file", str(bad))
    assert code == 2 and "32 bytes" in err
    code, _, err = idp("keys", "rewrap")
    assert code == 2


# --- rotation under load ----------------------------------------------------------------------------
def _login(rp, idp_url, person):
    """One full login through the adapter: authorize, password form, callback; returns the ID token claims."""
    browser = requests.Session()
    session = rp.new_session()
    start = rp.start_login(session, redirect_uri=REDIRECT_URI, return_to="/")
    page = browser.get(start)
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    done = browser.post(idp_url + "/login", data={**fields, "username": person.id_number,
                                                 "password": person.password}, allow_redirects=False)
    location = done.headers["Location"]
    while not location.startswith(REDIRECT_URI):
        location = browser.get(urljoin(idp_url, location), allow_redirects=False).headers["Location"]
    params = dict(parse_qsl(urlsplit(location).query))
    result = rp.finish_login(session, params)
    return result.claims, result.session


REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def test_rotation_under_load_fails_nothing(tmp_path):
    """Logins and ID/access-token validations run while keys rotate; none may fail.

    The relying party caches the JWKS for 1 s and may refetch on an unknown kid only once an hour, so
    it is pre-publication (2 s) that keeps it ahead of every new signing key.
    """
    from idp_rp import AccessTokenValidator, RelyingParty, RPConfig

    with LiveServer(tmp_path / "idp", key_prepublish_seconds=2, id_token_ttl=60, access_token_ttl=60,
                    key_retire_leeway_seconds=0) as idp:
        person = idp.seed_person()
        client = idp.register_client(name="Load portal", redirect_uris=[REDIRECT_URI])
        config = RPConfig(issuer=idp.issuer, client_id=client.client_id, client_secret=client.client_secret,
                          base_url="http://127.0.0.1:9", session_secret="s" * 32, jwks_ttl=1,
                          jwks_refetch_interval=3600, id_token_algorithms=("RS256",))
        rp = RelyingParty(config)
        api = AccessTokenValidator(idp.issuer, client.client_id, jwks_ttl=1, jwks_refetch_interval=3600)
        failures, logins, validations, rotations = [], [0], [0], []
        stop = threading.Event()
        seen_kids = set()

        def load():
            while not stop.is_set():
                try:
                    claims, session = _login(rp, idp.issuer, person)
                    logins[0] += 1
                    seen_kids.add(_kid(session.id_token))
                    seen_kids.add(_kid(session.access_token))
                    rp.validate_id_token(session.id_token, nonce=claims.get("nonce"))
                    api.validate(session.access_token)
                    validations[0] += 2
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    failures.append(repr(exc))

        def rotate():
            with idp.app.app_context():
                manager = idp.app.extensions["idp"].keys
                for _ in range(3):
                    if stop.is_set():
                        return
                    created = {k.alg: k.kid for k in manager.rotate()}
                    rotations.extend(created.values())
                    deadline = time.time() + 10
                    while time.time() < deadline and any(manager.signing_key(alg).kid != kid
                                                         for alg, kid in created.items()):
                        time.sleep(0.2)

        workers = [threading.Thread(target=load) for _ in range(2)]
        rotator = threading.Thread(target=rotate)
        for t in workers:
            t.start()
        rotator.start()
        rotator.join(60)
        time.sleep(1.5)  # keep the load on the last new key for a moment
        stop.set()
        for t in workers:
            t.join(30)
        assert not failures, failures[:5]
        assert len(rotations) == 6 and logins[0] >= 10 and validations[0] >= 20
        with idp.app.app_context():
            manager = idp.app.extensions["idp"].keys
            assert manager.signing_key("RS256").kid == [k for k in rotations if k.startswith("rs256")][-1]
        assert len(seen_kids) >= 4  # the load really ran across several RS256 and ES256 keys


def test_workers_starting_together_create_one_first_key_per_algorithm(tmp_path):
    from idp.migrate import upgrade
    from idp import create_app
    settings = make_settings(tmp_path)
    upgrade(create_app(settings))
    apps, errors, kids = start_workers_at_once(settings)
    assert errors == []
    with apps[0].app_context():
        states = [(k.alg, k.status) for k in apps[0].extensions["idp"].keys.list_keys()]
    assert sorted(states) == [("ES256", "active"), ("RS256", "active")]
    assert len(set(kids)) == 1  # every worker signs with the same keys
