"""Authorization code flow with PKCE, ID tokens, access tokens and their failure cases, on every backend."""
from __future__ import annotations

import threading
import time

import pytest

from helpers import CITIZEN_ID, REDIRECT_A, decode_jwt, pkce_pair, query_of, register
from idp.authn.result import ACR_PASSWORD

pytestmark = pytest.mark.every_backend



def test_the_app_keeps_its_data_where_its_backend_says(app, app_backend, rp):
    """Tokens go to the backend's database, the SSO session to its ephemeral store and nowhere else."""
    from idp.extensions import db
    from idp.storage.memory import MemoryStore
    from idp.storage.redis import RedisStore
    from idp.storage.sql import SqlStore
    rp.login_tokens()
    dialect, store_type = {"sqlite": ("sqlite", MemoryStore), "postgres": ("postgresql", SqlStore),
                           "redis": ("postgresql", RedisStore)}[app_backend.name]
    store = app.extensions["idp"].store
    assert isinstance(store, store_type)
    with app.app_context(), db.engine.connect() as conn:
        assert store.ping() and conn.dialect.name == dialect
        in_sql = conn.exec_driver_sql("SELECT count(*) FROM ephemeral_records").scalar()
        assert conn.exec_driver_sql("SELECT count(*) FROM tokens").scalar() == 1
    assert (in_sql > 0) is (store_type is SqlStore)


def test_discovery_and_rfc8414_metadata(browser):
    oidc = browser.client.get("/.well-known/openid-configuration").get_json()
    oauth = browser.client.get("/.well-known/oauth-authorization-server").get_json()
    assert oidc == oauth
    assert oidc["issuer"] == "http://localhost"
    assert oidc["authorization_response_iss_parameter_supported"] is True
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert {"RS256", "ES256"} <= set(oidc["id_token_signing_alg_values_supported"])
    assert oidc["backchannel_logout_supported"] and oidc["end_session_endpoint"].endswith("/logout")
    assert "private_key_jwt" in oidc["token_endpoint_auth_methods_supported"]


def test_jwks_publishes_rs256_and_es256_public_keys(browser):
    response = browser.client.get("/jwks.json")
    keys = response.get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    assert all("d" not in k and "p" not in k for k in keys), "private key material published"


def test_code_flow_issues_verified_id_token_and_jwt_access_token(app, rp):
    tokens, params = rp.login_tokens()
    id_token = decode_jwt(app, tokens["id_token"])
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == "http://localhost" and claims["aud"] == [rp.client_id]
    assert claims["nonce"] == params["nonce"]
    assert claims["acr"] == ACR_PASSWORD and claims["amr"] == ["pwd"]
    assert claims["sid"] and claims["at_hash"] and claims["auth_time"] <= time.time()
    assert claims["sub"] != CITIZEN_ID
    access = decode_jwt(app, tokens["access_token"])
    assert access.header["typ"] == "at+jwt"
    for claim in ("iss", "exp", "aud", "sub", "client_id", "iat", "jti", "scope"):
        assert claim in access.claims
    assert access.claims["sub"] == claims["sub"] and access.claims["client_id"] == rp.client_id
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]


def test_authorization_response_carries_iss_and_state(rp):
    params, _ = rp.auth_params()
    response = rp.browser.authorize_and_login(**params)
    query = query_of(response.headers["Location"])
    assert query["iss"] == "http://localhost" and query["state"] == params["state"]


def test_userinfo_releases_id_number_only_with_idcard_scope(app, browser, rp):
    tokens, _ = rp.login_tokens(scope="openid profile")
    info = browser.client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).get_json()
    assert info["name"] == "张三" and "id_number" not in info
    tokens, _ = rp.login_tokens(scope="openid profile idcard")
    info = browser.client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).get_json()
    assert info["id_number"] == CITIZEN_ID


def test_scope_not_allowed_for_client_is_not_granted(app, browser, citizen):
    limited = register(app, browser, name="Limited", scopes=("openid", "profile"))
    tokens, _ = limited.login_tokens(scope="openid profile idcard")
    assert "idcard" not in tokens["scope"].split()
    assert "id_number" not in decode_jwt(app, tokens["id_token"]).claims


def test_es256_id_tokens_per_client(app, browser, citizen):
    es = register(app, browser, name="ES", id_token_alg="ES256")
    tokens, _ = es.login_tokens()
    assert decode_jwt(app, tokens["id_token"]).header["alg"] == "ES256"


def test_wrong_redirect_uri_is_not_followed(rp):
    params, _ = rp.auth_params(redirect_uri="http://localhost:9001/oidc/callback/evil")
    response = rp.browser.authorize(**params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect" in response.get_data(as_text=True).lower()


def test_unknown_client_gets_error_page(browser, citizen):
    response = browser.authorize(response_type="code", client_id="nope", redirect_uri=REDIRECT_A, scope="openid")
    assert response.status_code == 400 and "invalid_client" in response.get_data(as_text=True)


def test_token_endpoint_rejects_unknown_client_and_bad_secret(rp):
    code, verifier, _ = rp.get_code()
    bad = rp.browser.client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": rp.redirect_uri, "code_verifier": verifier},
                                 auth=(rp.client_id, "wrong"))
    assert bad.status_code == 401 and bad.get_json()["error"] == "invalid_client"
    unknown = rp.browser.client.post("/token", data={"grant_type": "authorization_code", "code": code},
                                     auth=("unknown", "x"))
    assert unknown.status_code == 401 and unknown.get_json()["error"] == "invalid_client"


def test_missing_and_wrong_pkce_verifier(rp):
    code, verifier, _ = rp.get_code()
    missing = rp.exchange(code, None)
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    code, verifier, _ = rp.get_code()
    wrong = rp.exchange(code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"


def test_a_failed_exchange_uses_up_the_code(rp):
    code, verifier, _ = rp.get_code()
    wrong = rp.exchange(code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    again = rp.exchange(code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    code, verifier, _ = rp.get_code()
    elsewhere = rp.exchange(code, verifier, redirect_uri="http://localhost:9001/other")
    assert elsewhere.status_code == 400
    assert rp.exchange(code, verifier).status_code == 400


def test_a_person_disabled_after_the_code_was_issued_gets_no_tokens(app, rp):
    from idp.extensions import db
    from idp.identity.models import Person

    def set_disabled(value):
        with app.app_context():
            db.session.execute(db.update(Person).where(Person.id_number == CITIZEN_ID).values(disabled=value))
            db.session.commit()

    code, verifier, _ = rp.get_code()
    set_disabled(True)
    refused = rp.exchange(code, verifier)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    set_disabled(False)
    assert rp.exchange(code, verifier).status_code == 400  # the code was used up by the refused attempt


def test_concurrent_exchanges_of_one_code_issue_one_token_set(app, rp):
    """Requests racing with the same code: one gets tokens, the others invalid_grant, and since the
    code was used more than once the tokens it issued are revoked (RFC 6749 4.1.2)."""
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    code, verifier, _ = rp.get_code()
    racers = 6
    barrier = threading.Barrier(racers)
    results = []

    def exchange():
        client = app.test_client()
        barrier.wait()
        results.append(client.post("/token", headers=rp.basic, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier}))

    threads = [threading.Thread(target=exchange) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == racers
    issued = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code != 200]
    assert len(issued) == 1, [r.get_json() for r in results]
    assert {(r.status_code, r.get_json()["error"]) for r in refused} == {(400, "invalid_grant")}
    access = issued[0].get_json()["access_token"]
    assert rp.browser.client.get("/userinfo", headers={"Authorization": "Bearer " + access}).status_code == 401
    with app.app_context():
        events = [e.event for e in db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.event.in_(["token.issued", "token.code_replay"])))]
    assert events.count("token.issued") == 1 and events.count("token.code_replay") == racers - 1


def test_every_issued_token_has_its_audit_record(app, rp):
    from idp.audit.log import verify
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    from idp.protocols.oidc.models import Token
    for _ in range(3):
        rp.login_tokens()
    with app.app_context():
        tokens = db.session.scalar(db.select(db.func.count(Token.id)))
        issued = db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == "token.issued")).all()
        assert tokens == len(issued) == 3
        assert {e.data["grant_type"] for e in issued} == {"authorization_code"}
        assert all(e.data["client_id"] == rp.client_id and e.data["refresh"] is True for e in issued)
        assert verify() == (True, [])


def test_confidential_client_may_skip_pkce(rp):
    params, _ = rp.auth_params()
    del params["code_challenge"], params["code_challenge_method"]
    response = rp.browser.authorize_and_login(**params)
    code = query_of(response.headers["Location"])["code"]
    assert rp.exchange(code, None).status_code == 200


def test_public_client_requires_s256(app, browser, citizen):
    public = register(app, browser, name="SPA", public=True)
    assert public.secret is None
    params, verifier = public.auth_params()
    del params["code_challenge"], params["code_challenge_method"]
    response = browser.authorize_and_login(**params)
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
    params, verifier = public.auth_params(code_challenge_method="plain")
    response = browser.authorize_and_login(**params)
    assert query_of(response.headers["Location"])["error"] == "invalid_request"
    tokens, _ = public.login_tokens()
    assert tokens["access_token"]


def test_replayed_code_is_refused_and_revokes_its_tokens(rp):
    code, verifier, _ = rp.get_code()
    first = rp.exchange(code, verifier)
    assert first.status_code == 200
    access = first.get_json()["access_token"]
    assert rp.browser.client.get("/userinfo", headers={"Authorization": "Bearer " + access}).status_code == 200
    replay = rp.exchange(code, verifier)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert rp.browser.client.get("/userinfo", headers={"Authorization": "Bearer " + access}).status_code == 401
    refresh = rp.browser.client.post("/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": first.get_json()["refresh_token"]},
                                     headers=rp.basic)
    assert refresh.status_code == 400


def test_expired_code_is_refused(app, rp):
    from idp.extensions import db
    from idp.protocols.oidc.models import AuthorizationCode
    code, verifier, _ = rp.get_code()
    with app.app_context():
        db.session.execute(db.update(AuthorizationCode).values(expires_at=time.time() - 1))
        db.session.commit()
    response = rp.exchange(code, verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_code_is_bound_to_redirect_uri_and_client(app, browser, rp):
    code, verifier, _ = rp.get_code()
    response = rp.exchange(code, verifier, redirect_uri="http://localhost:9001/other")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    other = register(app, browser, name="Other", redirect_uri="http://localhost:9002/cb")
    code, verifier, _ = rp.get_code()
    stolen = browser.client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": rp.redirect_uri, "code_verifier": verifier},
                                 headers=other.basic)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"


def test_nonce_and_state_round_trip(app, rp):
    tokens, params = rp.login_tokens(nonce="n-0123456789")
    assert decode_jwt(app, tokens["id_token"]).claims["nonce"] == "n-0123456789"


def test_a_nonce_is_accepted_once_per_client(app, browser, rp):
    rp.login_tokens(nonce="n-once")
    params, _ = rp.auth_params(nonce="n-once", prompt="none")  # the same browser, its session still on
    replayed = query_of(rp.browser.authorize(**params).headers["Location"])
    assert replayed["error"] == "invalid_request" and "code" not in replayed
    # another nonce on the same session is answered with a code; another client may use the same nonce
    params, _ = rp.auth_params(nonce="n-twice", prompt="none")
    assert "code" in query_of(rp.browser.authorize(**params).headers["Location"])
    other = register(app, browser, name="Other", redirect_uri="http://localhost:9002/cb")
    params, _ = other.auth_params(nonce="n-once", prompt="none")
    assert "code" in query_of(other.browser.authorize(**params).headers["Location"])


def test_prompt_none_without_session_returns_login_required(rp):
    params, _ = rp.auth_params(prompt="none")
    response = rp.browser.authorize(**params)
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert query["error"] == "login_required" and query["state"] == params["state"]
    assert query["iss"] == "http://localhost"


def test_prompt_none_with_session_issues_code_silently(rp):
    rp.login_tokens()
    params, _ = rp.auth_params(prompt="none")
    response = rp.browser.authorize(**params)
    assert "code" in query_of(response.headers["Location"])


def test_prompt_login_forces_reauthentication(rp):
    first, _ = rp.login_tokens()
    params, _ = rp.auth_params(prompt="login")
    response = rp.browser.authorize(**params)
    assert "/login" in response.headers["Location"]
    time.sleep(1.1)
    tokens, _ = rp.login_tokens(prompt="login")
    before = decode_jwt(rp.app, first["id_token"]).claims["auth_time"]
    after = decode_jwt(rp.app, tokens["id_token"]).claims["auth_time"]
    assert after > before


def test_max_age_zero_requires_login_and_max_age_large_does_not(rp):
    rp.login_tokens()
    params, _ = rp.auth_params(max_age="3600")
    assert "code" in query_of(rp.browser.authorize(**params).headers["Location"])
    time.sleep(1.1)
    params, _ = rp.auth_params(max_age="0")
    assert "/login" in rp.browser.authorize(**params).headers["Location"]
    params, _ = rp.auth_params(max_age="soon")
    assert query_of(rp.browser.authorize(**params).headers["Location"])["error"] == "invalid_request"


def test_acr_values_above_session_level_asks_for_certificate(rp):
    rp.login_tokens()
    params, _ = rp.auth_params(acr_values="urn:idp:loa:2")
    response = rp.browser.authorize(**params)
    assert "/login" in response.headers["Location"]
    page = rp.browser.client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert "digital certificate" in page.get_data(as_text=True)
    params, _ = rp.auth_params(acr_values="urn:idp:loa:2", prompt="none")
    assert query_of(rp.browser.authorize(**params).headers["Location"])["error"] == "login_required"


def test_acr_values_at_session_level_is_satisfied(app, rp):
    tokens, _ = rp.login_tokens(acr_values="urn:idp:loa:1")
    assert decode_jwt(app, tokens["id_token"]).claims["acr"] == ACR_PASSWORD


def test_pairwise_subjects_differ_between_sectors(app, browser, citizen):
    public = register(app, browser, name="Public")
    sector_a1 = register(app, browser, name="A1", sector_identifier="shebao.gov.cn")
    sector_a2 = register(app, browser, name="A2", sector_identifier="shebao.gov.cn")
    sector_b = register(app, browser, name="B", sector_identifier="gjj.gov.cn")
    subs = {}
    for name, rp in (("public", public), ("a1", sector_a1), ("a2", sector_a2), ("b", sector_b)):
        tokens, _ = rp.login_tokens()
        subs[name] = decode_jwt(app, tokens["id_token"]).claims["sub"]
    assert subs["a1"] == subs["a2"]
    assert len({subs["public"], subs["a1"], subs["b"]}) == 3


def test_client_secret_post_authentication(app, browser, citizen):
    post = register(app, browser, name="Post", auth_method="client_secret_post")
    code, verifier, _ = post.get_code()
    response = browser.client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": post.redirect_uri, "code_verifier": verifier,
                                                   "client_id": post.client_id, "client_secret": post.secret})
    assert response.status_code == 200
    code, verifier, _ = post.get_code()
    basic = post.exchange(code, verifier)  # registered for post, not basic
    assert basic.status_code == 401 and basic.get_json()["error"] == "invalid_client"


def test_private_key_jwt_authentication(app, browser, citizen):
    from authlib.oauth2.rfc7523 import private_key_jwt_sign
    from joserfc.jwk import RSAKey
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1", "alg": "RS256"})
    rp = register(app, browser, name="PKJWT", auth_method="private_key_jwt",
                  jwks={"keys": [key.as_dict(private=False)]})
    code, verifier, _ = rp.get_code()
    assertion = private_key_jwt_sign(key, rp.client_id, "http://localhost/token", alg="RS256",
                                     header={"kid": "rp-key-1"})
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier, "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert browser.client.post("/token", data=data).status_code == 200
    code, verifier, _ = rp.get_code()
    data["code"], data["code_verifier"] = code, verifier
    replay = browser.client.post("/token", data=data)  # same assertion jti again
    # RFC 6749 5.2: 401 only when credentials came in the Authorization header
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_client"
    other_key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1", "alg": "RS256"})
    forged = private_key_jwt_sign(other_key, rp.client_id, "http://localhost/token", alg="RS256",
                                  header={"kid": "rp-key-1"})
    data["client_assertion"] = forged
    assert browser.client.post("/token", data=data).get_json()["error"] == "invalid_client"


def test_non_ascii_in_echoed_parameters_is_a_clear_error_not_a_500(rp):
    for params in ({"response_type": "tokén"}, {"response_type": "id_token\x01"},
                   {"redirect_uri": rp.redirect_uri + "é"}):
        query, _ = rp.auth_params(**params)
        response = rp.browser.authorize(**query)
        assert response.status_code == 400, params
        assert "invalid_request" in response.get_data(as_text=True)
