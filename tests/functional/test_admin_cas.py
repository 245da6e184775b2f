"""CAS services in the admin console and the admin API: register, view, edit, disable, enable, delete,
validation messages and RFC-style JSON errors, audit records; a registered service really serves CAS logins."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from admin_support import bearer, console, http, page, post_form, token  # noqa: F401  (fixtures)

FORM = {"name": "公积金中心", "service_url": "https://gjj.example.gov.cn/cas/login", "match": "exact",
        "single_logout": "y", "slo_url": "", "release_id_number": "y"}
NEW = {"name": "不动产登记", "service_url": "https://bdc.example.gov.cn/app", "match": "prefix",
       "single_logout": False}




def services(app):
    from idp.protocols.cas.models import CasService
    from idp.extensions import db
    with app.app_context():
        return [s.to_public_dict() for s in db.session.scalars(select(CasService).order_by(CasService.id))]


def audit_events(app):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.event, AuditEvent.data).order_by(AuditEvent.id)).all()
        return [(event, data, data.get("actor")) for event, data in rows if event.startswith("admin.cas_service.")]


# -- console -------------------------------------------------------------------------------------------

def test_console_register_view_edit_disable_enable_delete(app, console):
    assert "CAS" in page(console, "/admin/") and "尚未注册 CAS 服务" in page(console, "/admin/cas/")
    created = post_form(console, "/admin/cas/new", "/admin/cas/new", FORM)
    assert created.status_code == 302, created.get_data(as_text=True)
    [stored] = services(app)
    assert created.headers["Location"] == f"/admin/cas/{stored['id']}"
    assert stored == {"id": stored["id"], "name": "公积金中心", "service_url": FORM["service_url"], "match": "exact",
                      "single_logout": True, "slo_url": None, "release_id_number": True, "disabled": False}
    view_url = f"/admin/cas/{stored['id']}"
    view = page(console, view_url)
    assert "公积金中心" in view and FORM["service_url"] in view and "已注册 CAS 服务" in view
    assert "公积金中心" in page(console, "/admin/cas/")

    edit_url = f"{view_url}/edit"
    assert FORM["service_url"] in page(console, edit_url)
    edited = post_form(console, edit_url, edit_url,
                       {"name": "公积金中心（新）", "service_url": "https://gjj.example.gov.cn/apps", "match": "prefix",
                        "slo_url": "https://gjj.example.gov.cn/slo", "single_logout": "y"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    [stored] = services(app)
    assert stored["name"] == "公积金中心（新）" and stored["service_url"] == "https://gjj.example.gov.cn/apps/"
    assert stored["match"] == "prefix" and stored["slo_url"] == "https://gjj.example.gov.cn/slo"
    assert stored["release_id_number"] is False

    assert post_form(console, f"{view_url}/disable", view_url, {}).status_code == 302
    assert services(app)[0]["disabled"] is True and "已停用" in page(console, view_url)
    assert post_form(console, f"{view_url}/enable", view_url, {}).status_code == 302
    assert services(app)[0]["disabled"] is False
    assert post_form(console, f"{view_url}/delete", view_url, {}).headers["Location"] == "/admin/cas/"
    assert services(app) == [] and console.get(view_url).status_code == 404

    events = [event for event, _data, _actor in audit_events(app)]
    assert events == ["admin.cas_service.created", "admin.cas_service.updated", "admin.cas_service.disabled",
                      "admin.cas_service.enabled", "admin.cas_service.deleted"]


@pytest.mark.parametrize("changes, message", [
    ({"service_url": "http://gjj.example.gov.cn/cas"}, "must use https"),
    ({"service_url": "https://gjj.example.gov.cn/cas#x"}, "must not contain a fragment"),
    ({"service_url": "https://user:pw@gjj.example.gov.cn/cas"}, "user information"),
    ({"service_url": "https://gjj.example.gov.cn/cas?a=1", "match": "prefix"}, "must not contain a query"),
    ({"slo_url": "ftp://gjj.example.gov.cn/slo"}, "single logout URL"),
])
def test_console_bad_input_is_shown_on_the_form(app, console, changes, message):
    response = post_form(console, "/admin/cas/new", "/admin/cas/new", {**FORM, **changes})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert services(app) == []


def test_console_form_field_errors(app, console):
    response = post_form(console, "/admin/cas/new", "/admin/cas/new", {**FORM, "name": "", "match": "regex"})
    assert response.status_code == 400 and services(app) == []
    assert 'class="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/cas/999", "/admin/cas/abc", "/admin/cas/-1/edit", "/admin/cas/0"])
def test_console_unknown_service_is_404(console, path):
    assert console.get(path).status_code == 404


def test_console_actions_need_a_csrf_token(app, console):
    from idp.protocols.cas.services import register_service
    with app.app_context():
        service_id = register_service(name="X", service_url="https://x.example.gov.cn/").id
    response = console.post(f"/admin/cas/{service_id}/delete", data={})
    assert response.status_code == 400 and len(services(app)) == 1


# -- API -----------------------------------------------------------------------------------------------

def test_api_lifecycle(app, http, token):
    created = http.post("/api/admin/cas-services", json=NEW, headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["service_url"] == "https://bdc.example.gov.cn/app/" and body["match"] == "prefix"
    assert body["single_logout"] is False and body["release_id_number"] is False and body["disabled"] is False
    assert created.headers["Location"] == f"/api/admin/cas-services/{body['id']}"
    url = created.headers["Location"]

    assert http.get(url, headers=bearer(token)).get_json()["name"] == "不动产登记"
    listed = http.get("/api/admin/cas-services", headers=bearer(token)).get_json()["cas_services"]
    assert [s["id"] for s in listed] == [body["id"]]

    patched = http.patch(url, json={"release_id_number": True, "slo_url": "https://bdc.example.gov.cn/slo",
                                    "single_logout": True}, headers=bearer(token))
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["release_id_number"] is True and patched.get_json()["slo_url"].endswith("/slo")
    disabled = http.patch(url, json={"disabled": True}, headers=bearer(token))
    assert disabled.get_json()["disabled"] is True and services(app)[0]["disabled"] is True

    assert http.delete(url, headers=bearer(token)).status_code == 204
    assert http.get(url, headers=bearer(token)).status_code == 404 and services(app) == []
    events = audit_events(app)
    assert [e for e, _d, _a in events] == ["admin.cas_service.created", "admin.cas_service.updated",
                                          "admin.cas_service.updated", "admin.cas_service.deleted"]
    assert all(actor.startswith("client:") for _e, _d, actor in events)
    assert events[1][1]["fields"] == ["release_id_number", "single_logout", "slo_url"]


@pytest.mark.parametrize("body, fragment", [
    ({"name": "X"}, "missing field(s): service_url"),
    ({**NEW, "colour": "red"}, "unknown field(s): colour"),
    ({**NEW, "single_logout": "yes"}, "single_logout must be true or false"),
    ({**NEW, "name": 5}, "name must be a string"),
    ({**NEW, "match": "regex"}, "match must be"),
    ({**NEW, "service_url": "javascript:alert(1)"}, "absolute https URI"),
    ({**NEW, "name": "   "}, "1 to 128 characters"),
    ([NEW], "JSON object"),
])
def test_api_bad_input_gets_an_rfc_style_error(app, http, token, body, fragment):
    response = http.post("/api/admin/cas-services", json=body, headers=bearer(token))
    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == "invalid_request" and fragment in error["error_description"], error
    assert services(app) == []


def test_api_non_json_body_is_refused(http, token):
    response = http.post("/api/admin/cas-services", data="name=x", headers=bearer(token))
    assert response.status_code == 400 and "JSON" in response.get_json()["error_description"]


def test_api_bad_edit_changes_nothing(app, http, token):
    url = http.post("/api/admin/cas-services", json=NEW, headers=bearer(token)).headers["Location"]
    response = http.patch(url, json={"name": "新名字", "service_url": "http://bdc.example.gov.cn/"},
                          headers=bearer(token))
    assert response.status_code == 400 and "https" in response.get_json()["error_description"]
    assert services(app)[0]["name"] == "不动产登记"


@pytest.mark.parametrize("path", ["/api/admin/cas-services/999", "/api/admin/cas-services/abc",
                                  "/api/admin/cas-services/99999999999999999999", "/api/admin/cas-services/0"])
def test_api_unknown_service_is_404(http, token, path):
    response = http.get(path, headers=bearer(token))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_a_service_registered_through_the_api_serves_cas_logins(app, http, token):
    created = http.post("/api/admin/cas-services", json=NEW, headers=bearer(token)).get_json()
    from idp.protocols.cas.services import find_service
    with app.app_context():
        assert find_service("https://bdc.example.gov.cn/app/page").id == created["id"]
    http.patch(f"/api/admin/cas-services/{created['id']}", json={"disabled": True}, headers=bearer(token))
    with app.app_context():
        assert find_service("https://bdc.example.gov.cn/app/page") is None
