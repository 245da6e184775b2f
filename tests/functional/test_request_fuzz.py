"""Property-based fuzzing of every route: whatever a client sends, the answer is never a 5xx, never a
traceback, and the server still serves a normal password login afterwards.

Requests are generated over the app's URL map (every rule, path variables filled with real ids or
hostile text) with any method, query and form parameters holding non-ASCII, NUL and control
characters, undecodable bytes and huge values, JSON bodies nested far deeper than a parser's
recursion limit, and bad headers (Host, Basic credentials, bearer tokens, cookies, forwarding
headers). They go in as raw WSGI environs, so bytes no HTTP client library would send arrive as a
server would pass them. The same runs on SQLite and, when reachable, on PostgreSQL.

The run is derandomized (the same examples each time) with ``IDP_FUZZ_EXAMPLES`` examples per backend
(default 400); setting the variable also makes the run random, for longer explorations:
``IDP_FUZZ_EXAMPLES=5000 pytest tests/functional/test_request_fuzz.py``.
"""
from __future__ import annotations

import base64
import json
import os
import re
import traceback
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

import helpers
from admin_support import ADMIN_ID, ADMIN_PASSWORD, admin_token, create_admin

EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "0") or 0)
FUZZ_SETTINGS = settings(max_examples=EXAMPLES or 400, derandomize=not EXAMPLES, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), print_blob=True)
# generated logins use this person, who may well end up locked out; the final login is the citizen's
FUZZED_ID, FUZZED_PASSWORD = "110105194912310038", "fuzzed person pass phrase"
FUZZ_PEER = "203.0.113.7"  # fuzz requests come from here; the final login from 127.0.0.1 (no lockout shared)

PARAM_NAMES = ["client_id", "client_secret", "username", "password", "redirect_uri", "response_type", "scope",
               "state", "nonce", "code", "code_verifier", "code_challenge", "code_challenge_method", "grant_type",
               "refresh_token", "token", "token_type_hint", "tx", "next", "acr", "lang", "prompt", "max_age",
               "acr_values", "id_token_hint", "post_logout_redirect_uri", "logout_hint", "ui_locales",
               "service", "ticket", "pgtUrl", "renew", "gateway", "format", "targetService", "pgt", "decision",
               "challenge_id", "signed", "certificate", "signature", "chain", "algorithm", "client_assertion",
               "client_assertion_type", "request", "csrf_token", "name", "redirect_uris", "jwks", "kid",
               "acting_for", "entity", "user_code"]
NASTY_TEXT = ["", "\x00", "a\x00b", "\x01\x02\x1b[31m", "\r\nSet-Cookie: x=1", "\t", "\x7f", "\u0085",
              "\u2028", "\u202e", "\ufeff", "\ufffd", "😀", "𠀀张三", "ｆｕｌｌ", "%00", "%zz", "%", "../../etc/passwd",
              "<script>alert(1)</script>", "' OR 1=1 --", "null", "[]", "{}", "-1", "1e999", "NaN",
              "http://evil.example/", "//evil.example", "javascript:alert(1)", " " * 10, "a" * 64, "a" * 300]
PATH_NASTY = ["\x00", "a\x00b", "\x00" * 3, "x\x1by", "\x7f", "😀", "\ufffd", "a" * 300, "%00", "..", "-1"]
BAD_HOSTS = ["a" * 64 + ".example", "a" * 64, "", ".", "..", "exa mple", "ex\x00ample", "[::1", "[zz]",
             "localhost:99999", "localhost:-1", "localhost:", "-bad-.example", "a..b", "ä.example", "x" * 300,
             "localhost:80:80", "user@localhost", "local host", "[::1]:x"]
GOOD_HOSTS = ["localhost", "127.0.0.1", "localhost:8000", "[::1]", "[::1]:8443", "id.example.gov.cn"]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data",
                 "multipart/form-data; boundary=x", "application/jwt", "application/json; charset=latin-1",
                 "application/x-www-form-urlencoded; charset=gbk", ""]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

PLAUSIBLE = ["code", "openid", "openid profile email", "profile", "admin", "authorization_code",
             "client_credentials", "refresh_token", "S256", "plain", "login", "none", "consent", "access_token",
             "zh", "en", "true", "1", "allow", "deny", "/account", "json", "JSON", "XML", "urn:idp:loa:2",
             "client_secret_basic", helpers.REDIRECT_A, "http://localhost:9001/", "https://e.example.gov.cn/cas",
             FUZZED_ID, FUZZED_PASSWORD, "13900139000", "lisi@example.gov.cn", "wrong password", "李四"]

latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=40)
huge = st.integers(min_value=1000, max_value=120_000).map(lambda n: "x" * n)
hostile_text = st.one_of(st.sampled_from(NASTY_TEXT), huge)


def usually(common, rare, rare_in=5):
    """``common`` most of the time, ``rare`` about once in ``rare_in`` draws."""
    return st.integers(0, rare_in - 1).flatmap(lambda n: rare if n == 0 else common)


@st.composite
def deep_json(draw) -> bytes:
    depth = draw(st.sampled_from([40, 1000, 5000, 100_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"redirect_uris":[', b"]}")]))
    return opener * depth + b"1" + closer * depth


def _encode_params(pairs) -> bytes:
    return b"&".join(quote_from_bytes(name, safe=b"").encode() + b"=" + quote_from_bytes(value, safe=b"").encode()
                     if encoded else name + b"=" + value for name, value, encoded in pairs)


def strategies(fixtures, hostile: bool):
    """Values for one part of a request: benign ones (so the views run) or hostile ones."""
    plausible = st.sampled_from(PLAUSIBLE + fixtures["ids"] + fixtures["tokens"])
    printable = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
    if hostile:
        text_value = st.one_of(plausible, st.text(max_size=40), hostile_text, hostile_text)
        value_bytes = st.one_of(text_value.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=40))
        name_bytes = usually(st.sampled_from(PARAM_NAMES).map(str.encode), value_bytes, rare_in=3)
    else:
        text_value = st.one_of(plausible, plausible, printable)
        value_bytes = text_value.map(str.encode)
        name_bytes = st.sampled_from(PARAM_NAMES).map(str.encode)
    params = st.lists(st.tuples(name_bytes, value_bytes, st.just(True) if not hostile else st.booleans()),
                      max_size=7)
    json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text_value,
                            st.lists(plausible, max_size=3))
    json_value = st.recursive(json_scalar, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(PARAM_NAMES + ["client_name", "grant_types", "redirect_uris", "scope",
                                                       "token_endpoint_auth_method", "service_url"]),
                        inner, max_size=5)), max_leaves=12)
    return text_value, params, json_value


FOCUS = ["none", "path", "query", "body", "host", "auth", "headers", "method", "all"]
FOCUS_WEIGHTS = ["none", "path", "path", "query", "query", "body", "body", "host", "auth", "headers", "method", "all"]


@st.composite
def requests(draw, rules, fixtures):
    """One request; each part benign unless it is the one part made hostile (or all of them are)."""
    focus = draw(st.sampled_from(FOCUS_WEIGHTS))
    hostile = {part: focus in (part, "all") for part in FOCUS}
    with_variables = [rule for rule in rules if rule.arguments]
    rule = draw(st.sampled_from(with_variables if hostile["path"] and draw(st.booleans()) else rules))
    path = rule.rule
    for argument in rule.arguments:
        value = draw(st.sampled_from(PATH_NASTY) if hostile["path"] else st.sampled_from(fixtures["ids"]))
        path = re.sub(r"<(?:\w+:)?" + re.escape(argument) + ">", lambda _: value, path)
    if hostile["path"] and draw(st.integers(0, 4)) == 0:
        path = draw(st.sampled_from(["/", "/nowhere", "/token/x", "/api/admin/none", "/cas/none", "//x", "/\x00"]))
    path_bytes = path.encode("utf-8", "surrogatepass")
    rule_methods = st.sampled_from(sorted(rule.methods - {"OPTIONS"}))
    method = draw(st.sampled_from(METHODS) if hostile["method"] else rule_methods)
    host = draw(st.one_of(st.sampled_from(BAD_HOSTS), latin1) if hostile["host"]
                else st.sampled_from(GOOD_HOSTS[:1] * 4 + GOOD_HOSTS))
    headers = {}
    choices = ["basic_random", "basic_text", "bearer_text", "basic_real", "bearer_real"] if hostile["auth"] \
        else ["none", "basic_real", "bearer_real"]
    auth = draw(st.sampled_from(choices))
    if auth == "basic_random":
        headers["Authorization"] = "Basic " + base64.b64encode(draw(st.binary(max_size=40))).decode()
    elif auth == "basic_real":
        client_id, secret = draw(st.sampled_from(fixtures["clients"]))
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    elif auth == "basic_text":
        headers["Authorization"] = "Basic " + draw(latin1)
    elif auth == "bearer_real":
        headers["Authorization"] = "Bearer " + draw(st.sampled_from(fixtures["tokens"]))
    elif auth == "bearer_text":
        headers["Authorization"] = "Bearer " + draw(latin1)
    if hostile["headers"]:
        for name in ("Cookie", "Accept-Language", "X-Forwarded-Proto", "X-Forwarded-For", "X-Request-ID",
                     "X-SSL-Client-Cert", "Origin", "Referer", "Content-Length"):
            if draw(st.integers(0, 3)) == 0:
                headers[name] = draw(latin1)
    elif draw(st.booleans()):
        headers["Cookie"] = draw(st.sampled_from(fixtures["cookies"]))
    # the administrator's credentials on the admin routes most of the time, so that their views run
    if rule.rule.startswith("/api/admin/") and not hostile["auth"] and draw(st.integers(0, 3)):
        headers["Authorization"] = "Bearer " + fixtures["tokens"][-1]
    if rule.rule.startswith("/admin/") and not hostile["headers"] and draw(st.integers(0, 3)):
        headers["Cookie"] = fixtures["cookies"][-1]
    _, query_params, _ = strategies(fixtures, hostile["query"])
    text_value, params, json_value = strategies(fixtures, hostile["body"])
    kinds = ["none", "form", "json", "deep_json", "raw"] if hostile["body"] else ["none", "form", "json"]
    body_kind = draw(st.sampled_from(kinds))
    body, content_type = b"", None
    if body_kind == "form":
        body, content_type = _encode_params(draw(params)), "application/x-www-form-urlencoded"
    elif body_kind == "json":
        body = json.dumps(draw(json_value), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        content_type = "application/json"
    elif body_kind == "deep_json":
        body, content_type = draw(deep_json()), "application/json"
    elif body_kind == "raw":
        body = draw(st.one_of(st.binary(max_size=200), text_value.map(lambda s: s.encode("utf-8", "surrogatepass"))))
        content_type = draw(st.sampled_from(CONTENT_TYPES))
    return {"method": method, "path": path_bytes, "query": _encode_params(draw(query_params)), "host": host,
            "headers": headers, "body": body, "content_type": content_type}


def environ_for(generated) -> dict:
    builder = EnvironBuilder(method=generated["method"], data=generated["body"],
                             content_type=generated["content_type"])
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    # What a WSGI server passes: the path and query as bytes seen through latin-1, the Host header verbatim.
    environ.update(PATH_INFO=generated["path"].decode("latin-1"), QUERY_STRING=generated["query"].decode("latin-1"),
                   HTTP_HOST=generated["host"], REMOTE_ADDR=FUZZ_PEER, SERVER_NAME="localhost", SERVER_PORT="80")
    for name, value in generated["headers"].items():  # no CR or LF: HTTP framing keeps them out of a value
        environ["HTTP_" + name.upper().replace("-", "_")] = value.replace("\r", "").replace("\n", "")
    return environ


def send(app, generated):
    try:
        body_iter, status, headers = run_wsgi_app(app, environ_for(generated), buffered=True)
        body = b"".join(body_iter)
    except Exception:  # noqa: BLE001 - an exception escaping the app is the failure being looked for
        pytest.fail("the application raised instead of answering:\n" + traceback.format_exc())
    return int(status.split()[0]), headers, body


def prepare(app):
    """Seed the data generated requests refer to: a person and an administrator with sessions, clients and
    their tokens."""
    from idp.identity.service import create_person
    from idp.protocols.cas.services import register_service
    from idp.sessions.sso import COOKIE_NAME

    app.config["WTF_CSRF_ENABLED"] = False  # let form posts reach the views instead of stopping at CSRF
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD,
                      phone="13800138000", email="zhangsan@example.gov.cn")
        create_person(id_number=FUZZED_ID, name="李四", password=FUZZED_PASSWORD, phone="13900139000",
                      email="lisi@example.gov.cn")
        service = register_service(name="Existing", service_url="https://e.example.gov.cn/cas")
        kids = [key.kid for key in app.extensions["idp"].keys.list_keys()]
    create_admin(app)
    browser = helpers.Browser(app.test_client())
    rp = helpers.register(app, browser, scopes=("openid", "profile", "email"))
    machine = helpers.register(app, browser, name="Batch", scopes=("openid", "profile"),
                               grant_types=["client_credentials"])
    tokens, _ = rp.login_tokens()
    machine_token = machine_client_token(app, machine)
    administrator = helpers.Browser(app.test_client())
    response = administrator.login("/login?next=/admin/", username=ADMIN_ID, password=ADMIN_PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    cookies = [f"{COOKIE_NAME}={b.client.get_cookie(COOKIE_NAME).value}" for b in (browser, administrator)]
    return {"ids": [rp.client_id, machine.client_id, str(service.id), "0", *kids],
            "clients": [(rp.client_id, rp.secret), (machine.client_id, machine.secret)],
            "tokens": [tokens["access_token"], tokens["refresh_token"], tokens["id_token"], machine_token,
                       admin_token(app, app.test_client())],
            "cookies": cookies}


def machine_client_token(app, machine):
    response = app.test_client().post("/token", headers=machine.basic,
                                      data={"grant_type": "client_credentials", "scope": "openid profile"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def assert_login_still_works(app):
    browser = helpers.Browser(app.test_client())
    response = browser.login("/login")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/account")
    assert browser.client.get("/account").status_code == 200


def fuzz(app):
    fixtures = prepare(app)
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    statuses: dict[int, int] = {}

    @FUZZ_SETTINGS
    @given(generated=requests(rules, fixtures))
    def no_server_error(generated):
        status, _, body = send(app, generated)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (status, generated["method"], generated["path"], body[:500])
        assert b"Traceback" not in body

    no_server_error()
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses), statuses
    assert_login_still_works(app)


def make_app(tmp_path, **overrides):
    app = helpers.create_app(helpers.make_settings(tmp_path, **overrides))
    app.config["TESTING"] = True
    helpers.upgrade(app)
    return app


def test_no_generated_request_gets_a_server_error_on_sqlite(tmp_path):
    app = make_app(tmp_path)
    try:
        fuzz(app)
    finally:
        app.extensions["idp"].notifier.wait_idle(5)


@pytest.mark.postgres
def test_no_generated_request_gets_a_server_error_on_postgres(tmp_path, pg_database_url):
    from idp.extensions import db

    app = make_app(tmp_path, database_url=pg_database_url)
    try:
        fuzz(app)
    finally:
        app.extensions["idp"].notifier.wait_idle(5)
        with app.app_context():
            db.engine.dispose()
