"""A logged-in browser posts arbitrary form fields and JSON bodies, with a valid CSRF token, to every POST
route of the account page, the QR approval, acting-for, second-factor, passkey and device pages. No answer
is a server error, and a refused request (4xx) changes none of the person's records.

Derandomized at CI settings; ``IDP_FUZZ_EXAMPLES=N`` runs N random examples per route instead."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from helpers import csrf_token
from test_qr_login import Desktop, Phone

EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "0") or 0)
FUZZ = settings(max_examples=EXAMPLES or 100, derandomize=not EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Tables a refused request must leave as they were (audit, sessions and counters may change).
GUARDED = ("persons", "entities", "representations", "enterprise_authorisations", "passkeys", "second_factors",
           "recovery_codes", "consents", "tokens", "authorization_codes")
FIELDS = ["acr", "acting_for", "action", "ceremony", "code", "credential", "decision", "entity", "id_number",
          "kind", "lang", "method", "name", "next", "password", "phone", "portals", "all_portals", "roles",
          "tx", "user_code", "username", "valid_until", "secret", "choice", "csrf_token"]
# Mostly text the request guard lets through (it refuses control characters before any view runs), so
# the views themselves see the inputs; now and then anything at all.
PLAIN = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)
VALUES = st.one_of(PLAIN, st.sampled_from(["approve", "allow", "deny", "", "0", "-1", "2", "self", "on",
                                           "9999-12-31", "1900-01-01", "2026-02-30", "/account", "//evil",
                                           "a" * 5000, "BCDF-GHJK", "123456", "ABCD1234EFGH5678",
                                           "13800138000", "110101199003074258"]), st.text(max_size=20))
NAMES = st.one_of(st.sampled_from(FIELDS), st.sampled_from(FIELDS), PLAIN.map(lambda text: text[:20]))
FORM = st.lists(st.tuples(NAMES, VALUES), max_size=8)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | PLAIN,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(PLAIN, inner, max_size=4),
                           max_leaves=12)
JSON = st.one_of(st.dictionaries(st.sampled_from(["ceremony", "credential", "name", "id", "rawId", "type",
                                                  "response", "user_code", "decision"]), JSON_VALUES, max_size=5),
                 JSON_VALUES)
# Routes of the pages under attack; the path parameters are filled in per test (a live QR id and so on).
ROUTES = ["/account/acting-for", "/account/authorisations", "/account/authorisations/{authorisation}/accept",
          "/account/authorisations/{authorisation}/revoke", "/account/passkeys", "/account/passkeys/1/remove",
          "/account/passkeys/options", "/account/second-factor/recovery-codes", "/account/second-factor/remove",
          "/account/second-factor/sms", "/account/second-factor/totp", "/login/qr/{qr}/confirm",
          "/login/qr/{qr}/decision", "/login/qr/{qr}/continue", "/device", "/device/decision", "/consent",
          "/login/second-factor", "/login/second-factor/sms", "/login/passkey", "/login/passkey/options"]


GET_ROUTES = ["/account", "/account/acting-for", "/account/second-factor/sms", "/account/second-factor/totp",
              "/account/step-up", "/account/step-up/done", "/consent", "/device", "/login/qr/{qr}",
              "/login/qr/{qr}/status", "/login/second-factor"]
QUERY = st.lists(st.tuples(st.one_of(st.sampled_from(["next", "tx", "entity", "acting_for", "user_code", "acr",
                                                       "method", "tab", "lang", "client_id"]), PLAIN),
                           VALUES), max_size=5)
# where a redirect may lead: this server, or the registered portal's redirect URI
SAME_SITE = ("http://localhost/", "http://localhost:9001/oidc/callback")


def snapshot(app) -> dict:
    from idp.extensions import db
    with app.app_context():
        return {table: sorted(map(repr, db.session.execute(text(f"SELECT * FROM {table}")).all()))
                for table in GUARDED}


@pytest.fixture
def target(app, rp, citizen):
    """A logged-in phone, a live QR code on a desktop, and the routes with their parameters filled in."""
    desktop = Desktop(app, rp)
    desktop.start()
    qr = desktop.show_code().rstrip("/").rsplit("/", 1)[-1]
    phone = Phone(app)
    routes = [route.format(qr=qr, authorisation="AbCdEf0123456789") for route in ROUTES]
    return phone, routes, [route.format(qr=qr) for route in GET_ROUTES]


def test_every_attacked_route_is_covered(app):
    """The list above names every POST route of these pages (a new one must be added)."""
    prefixes = ("/account/", "/login/qr/", "/device", "/login/second-factor", "/login/passkey", "/consent")
    posts = {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods
             and rule.rule.startswith(prefixes) and rule.rule != "/device_authorization"}
    covered = {route.replace("{qr}", "<request_id>").replace("{authorisation}", "<public_id>")
               .replace("/1/remove", "/<int:passkey_id>/remove") for route in ROUTES}
    assert posts - covered == {"/account/logout-all"}  # no fields; it logs the browser out


def _check(app, phone, route, answer, before):
    assert answer.status_code < 500, (route, answer.status_code, answer.get_data(as_text=True)[:500])
    if 300 <= answer.status_code < 400:  # no open redirect: a relative path on this server, or a known place
        location = answer.headers["Location"]
        assert (location.startswith("/") and not location.startswith(("//", "/\\"))) \
            or location.startswith(SAME_SITE), (route, location)
    if answer.status_code >= 400:
        assert snapshot(app) == before, (route, answer.status_code)


@FUZZ
@given(route=st.integers(0, len(ROUTES) - 1), form=FORM)
def test_arbitrary_form_fields_never_get_a_server_error(app, target, route, form):
    phone, routes, _gets = target
    token = csrf_token(phone.client.get("/account").get_data(as_text=True))
    data = MultiDict([(name, value) for name, value in form if name != "csrf_token"] + [("csrf_token", token)])
    before = snapshot(app)
    _check(app, phone, routes[route], phone.client.post(routes[route], data=data), before)


@FUZZ
@given(route=st.integers(0, len(ROUTES) - 1), body=JSON)
def test_arbitrary_json_bodies_never_get_a_server_error(app, target, route, body):
    phone, routes, _gets = target
    token = csrf_token(phone.client.get("/account").get_data(as_text=True))
    before = snapshot(app)
    answer = phone.client.post(routes[route], data=json.dumps(body), content_type="application/json",
                               headers={"X-CSRFToken": token})
    _check(app, phone, routes[route], answer, before)


@FUZZ
@given(route=st.integers(0, len(GET_ROUTES) - 1), query=QUERY)
def test_arbitrary_query_parameters_never_get_a_server_error(app, target, route, query):
    phone, _posts, routes = target
    before = snapshot(app)
    _check(app, phone, routes[route], phone.client.get(routes[route], query_string=MultiDict(query)), before)
