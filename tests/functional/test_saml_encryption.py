"""Encrypted assertions, per service provider: a pysaml2 SP whose metadata publishes an encryption key
gets its assertion encrypted (signed inside) and decrypts it; the switch is refused for an SP without
such a key, in the registry, the admin API and the CLI's shared layer."""
from __future__ import annotations

import base64

import pytest

from admin_support import admin_token, bearer
from test_saml import ServiceProvider, posted_fields, sso


@pytest.fixture
def decrypting_sp(app, tmp_path, citizen):
    return ServiceProvider(app, tmp_path, name="secret", decrypts=True)


def response_xml(page_html: str) -> str:
    return base64.b64decode(posted_fields(page_html)["SAMLResponse"]).decode()


def login(browser, sp, *, fresh=True):
    req_id, request = sp.authn_request()
    page = sso(browser, request, login=fresh).get_data(as_text=True)
    return response_xml(page), sp.parse(page, req_id)[0]


def test_an_sp_with_an_encryption_key_gets_and_reads_an_encrypted_assertion(app, browser, decrypting_sp):
    assert 'use="encryption"' in decrypting_sp.metadata
    decrypting_sp.register(name="机要档案", attributes=["name", "email"], encrypt_assertions=True)
    xml, answer = login(browser, decrypting_sp)
    assert "EncryptedAssertion" in xml and "CipherValue" in xml
    assert "AttributeStatement" not in xml and "NameID" not in xml   # nothing readable on the way
    assert answer.assertion.signature is not None                  # signed inside the encryption
    assert answer.ava["name"] == ["张三"] and answer.ava["email"] == ["zhangsan@example.gov.cn"]
    assert answer.name_id.text


def test_the_switch_through_the_admin_api(app, browser, decrypting_sp):
    provider_id = decrypting_sp.register(name="机要档案")
    xml, _answer = login(browser, decrypting_sp)
    assert "EncryptedAssertion" not in xml and "AttributeStatement" in xml    # off by default
    token = admin_token(app, app.test_client())
    http = app.test_client()
    on = http.patch(f"/api/admin/saml-providers/{provider_id}", json={"encrypt_assertions": True},
                    headers=bearer(token))
    assert on.status_code == 200 and on.get_json()["encrypt_assertions"] is True
    xml, answer = login(browser, decrypting_sp, fresh=False)
    assert "EncryptedAssertion" in xml and answer.ava["name"] == ["张三"]


def test_an_sp_without_an_encryption_key_cannot_be_switched_on(app, tmp_path, citizen):
    from idp.errors import ValidationError
    from idp.protocols.saml.providers import by_id, update_provider
    plain = ServiceProvider(app, tmp_path, name="plain")
    with pytest.raises(ValidationError, match="no encryption key"):
        plain.register(encrypt_assertions=True)
    provider_id = plain.register()
    with app.app_context(), pytest.raises(ValidationError, match="no encryption key"):
        update_provider(by_id(provider_id), encrypt_assertions=True)
    token = admin_token(app, app.test_client())
    refused = app.test_client().patch(f"/api/admin/saml-providers/{provider_id}", json={"encrypt_assertions": True},
                                      headers=bearer(token))
    assert refused.status_code == 400 and "no encryption key" in refused.get_json()["error_description"]
