"""``idp saml``: registering service providers from a metadata file or URL, their attributes, the
signing key's rotation; bad input is a one-line error."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from test_cli import assert_one_line_error, cli_env, run, upgraded  # noqa: F401  (fixtures)

SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://oa.example.gov.cn/mellon/metadata">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://oa.example.gov.cn/mellon/logout"/>
    <md:AssertionConsumerService index="0" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://oa.example.gov.cn/mellon/postResponse"/>
  </md:SPSSODescriptor>
  <md:Organization><md:OrganizationName xml:lang="zh">OA</md:OrganizationName>
    <md:OrganizationDisplayName xml:lang="zh">协同办公 OA</md:OrganizationDisplayName>
    <md:OrganizationURL xml:lang="zh">https://oa.example.gov.cn/</md:OrganizationURL></md:Organization>
</md:EntityDescriptor>"""


def test_add_sp_from_a_file(run, upgraded, tmp_path):
    path = tmp_path / "sp.xml"
    path.write_text(SP_METADATA, encoding="utf-8")
    result = run("saml", "add-sp", "--metadata", str(path), "--attributes", "name,id_number", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["entity_id"] == "https://oa.example.gov.cn/mellon/metadata"
    assert data["name"] == "协同办公 OA" and data["attributes"] == ["name", "id_number"]
    assert data["require_signed_requests"] is True          # AuthnRequestsSigned="true" in its metadata
    listed = run("saml", "list")
    assert "协同办公 OA" in listed.out
    assert_one_line_error(run("saml", "add-sp", "--metadata", str(path)), "already registered")
    changed = run("saml", "set-attributes", str(data["id"]), "name", "--json")
    assert json.loads(changed.out)["attributes"] == ["name"]
    assert run("saml", "disable", str(data["id"])).code == 0
    assert "(disabled)" in run("saml", "list").out


def test_add_sp_from_a_url(run, upgraded):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = SP_METADATA.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/mellon/metadata"
        result = run("saml", "add-sp", "--metadata", url, "--name", "OA", "--json")
        assert result.code == 0, result.err
        assert json.loads(result.out)["metadata_url"] == url
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("content,fragment", [
    ("", "empty"),
    ("<not-xml", "not SAML metadata"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><md:EntityDescriptor '
     'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&e;"/>', "not SAML metadata"),
    ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://x.example/"/>',
     "not a service provider"),
    (SP_METADATA.replace("https://oa.example.gov.cn/mellon/postResponse", "http://oa.example.gov.cn/acs"), "https"),
])
def test_bad_metadata_is_a_one_line_error(run, upgraded, tmp_path, content, fragment):
    path = tmp_path / "sp.xml"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(run("saml", "add-sp", "--metadata", str(path)), fragment)


def test_bad_attribute_and_missing_file(run, upgraded, tmp_path):
    path = tmp_path / "sp.xml"
    path.write_text(SP_METADATA, encoding="utf-8")
    assert_one_line_error(run("saml", "add-sp", "--metadata", str(path), "--attributes", "password"),
                          "unknown attribute")
    assert_one_line_error(run("saml", "add-sp", "--metadata", str(tmp_path / "missing.xml")), "cannot read")
    assert_one_line_error(run("saml", "add-sp", "--metadata", "http://127.0.0.1:9/none"), "cannot fetch")


def test_rotate_key_keeps_the_former_certificate_published(run, upgraded):
    from idp import create_app
    from idp.config import Settings
    app = create_app(Settings.from_env())
    client = app.test_client()
    before = client.get("/saml/metadata").get_data(as_text=True)
    assert len(before.split("X509Certificate>")[1::2]) == 1
    first = run("saml", "rotate-key", "--json")
    second = run("saml", "rotate-key", "--json")
    assert first.code == second.code == 0
    assert json.loads(first.out)["kid"] != json.loads(second.out)["kid"]
    after = client.get("/saml/metadata").get_data(as_text=True)
    certificates = after.split("X509Certificate>")[1::2]
    assert len(certificates) == 2 and len(set(certificates)) == 2                           # the new key and the one before it
    with app.app_context():
        from idp.protocols.saml.signing_keys import list_keys
        statuses = [k.status for k in list_keys()]
    assert statuses == ["retired", "previous", "active"]


def test_rotate_key_prepublishes_unless_now(run, upgraded, monkeypatch):
    import idp.cli.context
    monkeypatch.setenv("IDP_KEY_PREPUBLISH_SECONDS", "600")
    monkeypatch.setattr(idp.cli.context, "_app", None)
    first = run("saml", "rotate-key", "--json")                     # no key yet: it signs at once
    assert first.code == 0 and first.json()["status"] == "active" and first.json()["activates_at"] is None
    second = run("saml", "rotate-key")
    assert second.code == 0 and "published in /saml/metadata now, signing from 20" in second.out
    assert_one_line_error(run("saml", "rotate-key"), "already waiting to sign from", "--now")
    third = run("saml", "rotate-key", "--now", "--json")
    assert third.code == 0 and third.json()["status"] == "active"
    with idp.cli.context.get_app().app_context():
        from idp.protocols.saml.signing_keys import list_keys
        statuses = [k.status for k in list_keys()]
    assert statuses == ["previous", "retired", "active"]          # the key that never signed is retired


def test_switches_encryption_needs_a_key_in_the_metadata(run, upgraded, tmp_path):
    path = tmp_path / "sp.xml"
    path.write_text(SP_METADATA, encoding="utf-8")        # no KeyDescriptor at all
    assert_one_line_error(run("saml", "add-sp", "--metadata", str(path), "--encrypt-assertions"), "no encryption key")
    data = json.loads(run("saml", "add-sp", "--metadata", str(path), "--idp-initiated", "--json").out)
    assert data["idp_initiated"] is True and data["encrypt_assertions"] is False
    assert_one_line_error(run("saml", "set", str(data["id"]), "--encrypt-assertions"), "no encryption key")
    changed = json.loads(run("saml", "set", str(data["id"]), "--no-idp-initiated", "--no-slo", "--json").out)
    assert changed["idp_initiated"] is False and changed["single_logout"] is False
    assert_one_line_error(run("saml", "set", "999", "--idp-initiated"), "no SAML service provider 999")
