"""SAML service providers in the admin console and the admin API: register from metadata (pasted or by
URL), choose the attributes, disable, enable, delete; validation messages, RFC-style JSON errors, audit
records; a provider registered through the API really gets assertions."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from admin_support import bearer, console, http, page, post_form, token  # noqa: F401  (fixtures)
from helpers import audit_events
from test_saml import ServiceProvider, sso




@pytest.fixture
def sp(app, tmp_path):
    return ServiceProvider(app, tmp_path, name="records")


@pytest.fixture
def published(sp):
    """The SP's metadata served on a loopback URL (what 'add by URL' fetches)."""
    body = sp.metadata.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/metadata" else 404)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body) if self.path == "/metadata" else 0))
            self.end_headers()
            if self.path == "/metadata":
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def providers(app):
    from idp.protocols.saml.providers import list_providers
    with app.app_context():
        return [p.to_public_dict() for p in list_providers()]


def events(app):
    return [(event, data) for event, data in audit_events(app, "admin.saml_provider.")]


# -- console -------------------------------------------------------------------------------------------

def test_console_register_by_metadata_edit_disable_enable_delete(app, console, sp):
    assert "尚未注册 SAML 服务提供方" in page(console, "/admin/saml/")
    created = post_form(console, "/admin/saml/new", "/admin/saml/new",
                        {"metadata_xml": sp.metadata, "name": "档案系统", "attributes": ["name", "email"],
                         "single_logout": "y"})
    assert created.status_code == 302, created.get_data(as_text=True)
    [stored] = providers(app)
    assert created.headers["Location"] == f"/admin/saml/{stored['id']}"
    assert stored == {"id": stored["id"], "entity_id": sp.entity_id, "name": "档案系统", "metadata_url": None,
                      "attributes": ["name", "email"], "require_signed_requests": False, "single_logout": True,
                      "encrypt_assertions": False, "idp_initiated": False, "disabled": False}
    view_url = f"/admin/saml/{stored['id']}"
    view = page(console, view_url)
    assert "档案系统" in view and sp.entity_id in view and "已注册 SAML 服务提供方" in view
    assert "档案系统" in page(console, "/admin/saml/")

    edit_url = f"{view_url}/edit"
    assert "所代表的企业" in page(console, edit_url)   # the enterprise context is one of the choices
    edited = post_form(console, edit_url, edit_url, {"name": "档案系统（新）",
                                                     "attributes": ["name", "id_number", "entity"],
                                                     "require_signed_requests": "y", "idp_initiated": "y"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    [stored] = providers(app)
    assert stored["name"] == "档案系统（新）" and stored["attributes"] == ["name", "id_number", "entity"]
    assert "身份证号码, 所代表的企业" in page(console, view_url)
    assert stored["require_signed_requests"] is True and stored["single_logout"] is False
    assert stored["idp_initiated"] is True and stored["encrypt_assertions"] is False
    refused = post_form(console, edit_url, edit_url, {"name": "档案系统（新）", "encrypt_assertions": "y"})
    assert refused.status_code == 400 and "no encryption key" in refused.get_data(as_text=True)

    assert post_form(console, f"{view_url}/disable", view_url, {}).status_code == 302
    assert providers(app)[0]["disabled"] is True and "已停用" in page(console, view_url)
    assert post_form(console, f"{view_url}/enable", view_url, {}).status_code == 302
    assert providers(app)[0]["disabled"] is False
    assert post_form(console, f"{view_url}/delete", view_url, {}).headers["Location"] == "/admin/saml/"
    assert providers(app) == [] and console.get(view_url).status_code == 404
    assert [e for e, _d in events(app)] == ["admin.saml_provider.created", "admin.saml_provider.updated",
                                            "admin.saml_provider.disabled", "admin.saml_provider.enabled",
                                            "admin.saml_provider.deleted"]
    assert all(data["entity_id"] == sp.entity_id and data["actor"] for _e, data in events(app))


def test_console_register_by_url(app, console, sp, published):
    created = post_form(console, "/admin/saml/new", "/admin/saml/new",
                        {"metadata_url": published + "/metadata", "attributes": ["name"]})
    assert created.status_code == 302, created.get_data(as_text=True)
    assert [(p["entity_id"], p["metadata_url"]) for p in providers(app)] == [(sp.entity_id, published + "/metadata")]


@pytest.mark.parametrize("fields, message", [
    ({"metadata_xml": "<not-metadata/>"}, "md:EntityDescriptor"),
    ({"metadata_xml": "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"}, "not SAML metadata"),
    ({"metadata_url": "ftp://example.gov.cn/md"}, "metadata URL"),
    ({"metadata_url": "MISSING"}, "answered HTTP 404"),
    ({}, "metadata"),
    ({"metadata_xml": "SP", "attributes": ["password"]}, "unknown attribute"),
])
def test_console_bad_input_is_shown_on_the_form(app, console, sp, published, fields, message):
    if fields.get("metadata_url") == "MISSING":
        fields = {"metadata_url": published + "/elsewhere"}
    if fields.get("metadata_xml") == "SP":
        fields = {**fields, "metadata_xml": sp.metadata}
    response = post_form(console, "/admin/saml/new", "/admin/saml/new", fields)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and message in text, text[-1500:]
    assert "设置未保存" in text or 'class="error"' in text
    assert providers(app) == []


@pytest.mark.parametrize("path", ["/admin/saml/999", "/admin/saml/abc", "/admin/saml/-1/edit", "/admin/saml/0"])
def test_console_unknown_provider_is_404(console, path):
    assert console.get(path).status_code == 404


def test_console_actions_need_a_csrf_token(app, console, sp):
    sp.register(name="X")
    assert console.post(f"/admin/saml/{providers(app)[0]['id']}/delete", data={}).status_code == 400
    assert len(providers(app)) == 1


# -- API -----------------------------------------------------------------------------------------------

def test_api_lifecycle_and_the_provider_serves_logins(app, http, token, sp, browser, citizen):
    created = http.post("/api/admin/saml-providers", json={"metadata_xml": sp.metadata, "attributes": ["name"]},
                        headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["entity_id"] == sp.entity_id and body["attributes"] == ["name"] and body["disabled"] is False
    url = created.headers["Location"]
    assert url == f"/api/admin/saml-providers/{body['id']}"
    assert [p["id"] for p in http.get("/api/admin/saml-providers", headers=bearer(token))
            .get_json()["saml_providers"]] == [body["id"]]

    req_id, request = sp.authn_request()
    answer, _relay = sp.parse(sso(browser, request).get_data(as_text=True), req_id)
    assert set(answer.ava) - {"acr"} == {"name"}

    patched = http.patch(url, json={"attributes": ["name", "email"]}, headers=bearer(token))
    assert patched.status_code == 200 and patched.get_json()["attributes"] == ["name", "email"]
    req_id, request = sp.authn_request()
    answer, _relay = sp.parse(sso(browser, request, login=False).get_data(as_text=True), req_id)
    assert set(answer.ava) - {"acr"} == {"name", "email"}

    assert http.patch(url, json={"disabled": True}, headers=bearer(token)).get_json()["disabled"] is True
    _req_id, request = sp.authn_request()
    from test_saml import send
    refused = send(browser, request)
    assert refused.status_code == 400  # a disabled SP gets the readable refusal

    assert http.delete(url, headers=bearer(token)).status_code == 204
    assert http.get(url, headers=bearer(token)).status_code == 404 and providers(app) == []
    assert [e for e, _d in events(app)] == ["admin.saml_provider.created", "admin.saml_provider.updated",
                                            "admin.saml_provider.updated", "admin.saml_provider.deleted"]
    assert all(data["actor"].startswith("client:") for _e, data in events(app))


def test_api_register_by_url(app, http, token, sp, published):
    created = http.post("/api/admin/saml-providers", json={"metadata_url": published + "/metadata"},
                        headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["metadata_url"] == published + "/metadata"
    assert created.get_json()["attributes"] == ["name"]


@pytest.mark.parametrize("body, fragment", [
    ({"name": "X"}, "give one of metadata_xml and metadata_url"),
    ({"metadata_xml": "x", "metadata_url": "https://a.example/"}, "give one of"),
    ({"metadata_xml": "SP", "colour": "red"}, "unknown field(s): colour"),
    ({"metadata_xml": "SP", "single_logout": "yes"}, "single_logout must be true or false"),
    ({"metadata_xml": "SP", "attributes": "name"}, "attributes must be an array of strings"),
    ({"metadata_xml": "SP", "attributes": [1]}, "attributes must be an array of strings"),
    ({"metadata_xml": "SP", "attributes": ["password"]}, "unknown attribute"),
    ({"metadata_xml": "SP", "name": "  "}, "1 to 128 characters"),
    ({"metadata_xml": "<x/>"}, "md:EntityDescriptor"),
    ({"metadata_url": "javascript:alert(1)"}, "metadata URL"),
    (["SP"], "JSON object"),
])
def test_api_bad_input_gets_an_rfc_style_error(app, http, token, sp, body, fragment):
    if isinstance(body, dict) and body.get("metadata_xml") == "SP":
        body = {**body, "metadata_xml": sp.metadata}
    response = http.post("/api/admin/saml-providers", json=body, headers=bearer(token))
    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == "invalid_request" and fragment in error["error_description"], error
    assert providers(app) == []


def test_api_duplicate_and_bad_edit_change_nothing(app, http, token, sp):
    url = http.post("/api/admin/saml-providers", json={"metadata_xml": sp.metadata, "name": "档案"},
                    headers=bearer(token)).headers["Location"]
    again = http.post("/api/admin/saml-providers", json={"metadata_xml": sp.metadata}, headers=bearer(token))
    assert again.status_code == 400 and "already registered" in again.get_json()["error_description"]
    response = http.patch(url, json={"name": "新名字", "attributes": ["password"]}, headers=bearer(token))
    assert response.status_code == 400 and "unknown attribute" in response.get_json()["error_description"]
    assert providers(app)[0]["name"] == "档案"
    assert http.patch(url, json={"metadata_xml": "x"}, headers=bearer(token)).status_code == 400


@pytest.mark.parametrize("path", ["/api/admin/saml-providers/999", "/api/admin/saml-providers/abc",
                                  "/api/admin/saml-providers/99999999999999999999", "/api/admin/saml-providers/0"])
def test_api_unknown_provider_is_404(http, token, path):
    response = http.get(path, headers=bearer(token))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"

