"""The SAML signing key's life cycle, the OIDC keys' one: a rotated key is published in the metadata
(the next key) before it signs, then signs while the former one stays published; an immediate
rotation signs at once; every process switches at the same moment."""
from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from saml2.sigver import SignatureError

from test_saml import ServiceProvider, posted_fields, sso

PREPUBLISH = 600  # the app fixture's IDP_KEY_PREPUBLISH_SECONDS (the default)


def _body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


def _published(client) -> list[str]:
    xml = client.get("/saml/metadata").get_data(as_text=True)
    return re.findall(r"X509Certificate>([^<]+)<", xml)


def _keys(app) -> dict:
    from idp.protocols.saml.signing_keys import list_keys
    with app.app_context():
        return {k.kid: (k.status, _body(k.certificate)) for k in list_keys()}


def _rotate(app, **kwargs):
    from idp.protocols.saml.signing_keys import rotate
    with app.app_context():
        row = rotate(app.extensions["idp"].settings, **kwargs)
        return row.kid, _body(row.certificate)


def _signing_kid(app) -> str:
    from idp.protocols.saml.signing_keys import active_key
    with app.app_context():
        return active_key(app.extensions["idp"].settings).kid


def _first_key(app) -> tuple[str, str]:
    """The key made on first use: (kid, certificate)."""
    kid = _signing_kid(app)
    return kid, _keys(app)[kid][1]


def _end_prepublication(app, kid):
    """Move the key's creation back past the pre-publication period, as time passing would."""
    from idp.extensions import db
    from idp.protocols.saml.models import SamlSigningKey
    with app.app_context():
        row = db.session.scalar(db.select(SamlSigningKey).where(SamlSigningKey.kid == kid))
        row.created_at = row.created_at - timedelta(seconds=PREPUBLISH + 1)
        db.session.commit()


def _login(browser, provider):
    """An SSO round trip: (what pysaml2 made of the response, the certificates in its signatures)."""
    req_id, request = provider.authn_request()
    html = sso(browser, request).get_data(as_text=True)
    xml = base64.b64decode(posted_fields(html)["SAMLResponse"]).decode()
    signers = set(re.findall(r"X509Certificate>([^<]+)<", xml))
    return provider.parse(html, req_id)[0], signers


def test_rotation_publishes_the_next_key_before_it_signs(app, browser, tmp_path, citizen):
    stale = ServiceProvider(app, tmp_path, name="stale")            # knows only the first key
    stale.register(name="Stale")
    old_kid, old_cert = _first_key(app)

    new_kid, new_cert = _rotate(app)
    assert _keys(app)[new_kid][0] == "pending"
    assert _published(app.test_client()) == [old_cert, new_cert]   # two signing KeyDescriptors
    refreshed = ServiceProvider(app, tmp_path, name="refreshed")    # fetched the metadata at rotation time
    refreshed.register(name="Refreshed")
    with pytest.raises(Exception, match="already waiting"):
        _rotate(app)

    # still signed by the former key: both service providers verify
    for provider in (stale, refreshed):
        response, signers = _login(browser, provider)
        assert response.name_id is not None and signers == {old_cert}
    assert _signing_kid(app) == old_kid

    _end_prepublication(app, new_kid)
    response, signers = _login(browser, refreshed)                   # the new key signs now
    assert response.name_id is not None and signers == {new_cert}
    assert _keys(app) == {old_kid: ("previous", old_cert), new_kid: ("active", new_cert)}
    assert _published(app.test_client()) == [new_cert, old_cert]   # the former key stays published
    with pytest.raises(SignatureError):
        _login(browser, stale)                                       # metadata never refreshed: refused

    newest_kid, newest_cert = _rotate(app)                          # the next rotation retires it
    assert _keys(app)[old_kid][0] == "retired"
    assert _published(app.test_client()) == [new_cert, newest_cert]

    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        events = [(e.event, e.data.get("kid")) for e in db.session.scalars(db.select(AuditEvent))]
    assert ("saml.key.rotated", new_kid) in events and ("saml.key.activated", new_kid) in events


def test_immediate_rotation_signs_at_once(app, browser, tmp_path, citizen):
    old_kid, old_cert = _first_key(app)
    waiting_kid, _ = _rotate(app)                                   # a pending key is replaced too
    new_kid, new_cert = _rotate(app, immediate=True)
    assert _keys(app) == {old_kid: ("previous", old_cert), waiting_kid: ("retired", _keys(app)[waiting_kid][1]),
                          new_kid: ("active", new_cert)}
    assert _published(app.test_client()) == [new_cert, old_cert]
    provider = ServiceProvider(app, tmp_path, name="after")
    provider.register(name="After")
    response, signers = _login(browser, provider)
    assert response.name_id is not None and signers == {new_cert}


def test_two_processes_on_one_database_switch_together(app, tmp_path):
    from idp import create_app
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    other = create_app(app.extensions["idp"].settings)
    old_kid, _ = _first_key(app)
    new_kid, _ = _rotate(app)
    assert _signing_kid(app) == _signing_kid(other) == old_kid
    assert _published(app.test_client()) == _published(other.test_client())
    _end_prepublication(app, new_kid)
    assert _signing_kid(other) == _signing_kid(app) == new_kid
    assert _published(app.test_client()) == _published(other.test_client())
    with app.app_context():
        activations = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "saml.key.activated")).all()
    assert [a.data["kid"] for a in activations] == [new_kid]       # one process performed the switch


def test_the_key_transitions_job_promotes_the_saml_key_with_no_request(app):
    from idp.jobs.schedule import server_jobs
    [job] = [job for job in server_jobs(app.extensions["idp"]) if job.name == "keys.transitions"]
    old_kid, _ = _first_key(app)
    new_kid, _ = _rotate(app)
    with app.app_context():
        job.run()
    assert _keys(app)[new_kid][0] == "pending"                      # its period is not over
    _end_prepublication(app, new_kid)
    with app.app_context():
        job.run()
    assert {kid: state for kid, (state, _) in _keys(app).items()} == {old_kid: "previous", new_kid: "active"}


def test_keys_stored_before_the_life_cycle_keep_signing(tmp_path):
    from idp import create_app
    from idp.extensions import db
    from idp.keys.sealing import load_master_key, seal
    from idp.migrate import upgrade
    from idp.protocols.saml.signing_keys import _context, _new_key, active_key
    from helpers import make_settings
    app = create_app(make_settings(tmp_path))
    settings = app.extensions["idp"].settings
    upgrade(app, "0011_raw_deliveries_saml_options")
    kid, pem, cert = _new_key("idp")
    with app.app_context():
        insert = db.text("INSERT INTO saml_signing_keys (kid, status, private_key, certificate, created_at) "
                         "VALUES (:kid, :status, :key, :cert, '2026-01-01 00:00:00')")
        db.session.execute(insert, {"kid": "before", "status": "previous", "key": "x", "cert": "y"})
        db.session.execute(insert, {"kid": kid, "status": "active", "cert": cert,
                                    "key": seal(load_master_key(settings), pem, _context(kid))})
        db.session.commit()
    upgrade(app)
    with app.app_context():
        key = active_key(settings)
        assert key.kid == kid and key.published == (cert, "y")
    new_kid, new_cert = _rotate(app)
    assert {k: state for k, (state, _) in _keys(app).items()} == {"before": "retired", kid: "active",
                                                                   new_kid: "pending"}
    _end_prepublication(app, new_kid)
    assert _signing_kid(app) == new_kid
    assert {k: state for k, (state, _) in _keys(app).items()} == {"before": "retired", kid: "previous",
                                                                   new_kid: "active"}
