"""Headers every response carries: anti-framing, no MIME sniffing, same-origin referrers; no-store on tokens."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from idp.web.headers import SECURITY_HEADERS, add_missing

EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@pytest.mark.parametrize("path,status", [("/login", 200), ("/jwks.json", 200), ("/healthz", 200),
                                         ("/no-such-page", 404), ("/token", 405)])
def test_every_response_carries_the_security_headers(app, path, status):
    response = app.test_client().get(path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.getlist(name) == [value]


def test_published_documents_keep_their_own_cache_policy(app):
    client = app.test_client()
    assert client.get("/jwks.json").headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert client.get("/.well-known/openid-configuration").headers.getlist("Cache-Control") == [
        "public, max-age=300"]


def test_token_responses_are_not_cached(rp):
    code, verifier, _ = rp.get_code()
    response = rp.exchange(code, verifier)
    assert response.status_code == 200
    assert response.headers.getlist("Cache-Control") == ["no-store"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]


def test_a_value_set_by_the_view_is_kept_whatever_its_case():
    headers = Headers([("content-type", "text/html"), ("x-frame-options", "SAMEORIGIN")])
    add_missing(headers, SECURITY_HEADERS)
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert len(headers) == 4
