"""Provider signing-key rotation: an unknown kid triggers exactly one JWKS refetch."""

from __future__ import annotations

from .conftest import login


def test_rotation_refetches_jwks_once_and_login_works(op, site):
    app, ext = site
    first = app.test_client()
    assert login(first).status_code == 302
    assert op.jwks_fetches == 1

    op.rotate_to("ec-2024", "EC")
    second = app.test_client()
    assert login(second).status_code == 302
    assert second.get("/profile").status_code == 200
    assert op.jwks_fetches == 2

    # Cached keys serve further logins without any fetch.
    assert login(app.test_client()).status_code == 302
    assert op.jwks_fetches == 2
    # Sessions opened before the rotation stay logged in.
    assert first.get("/profile").status_code == 200


def test_unknown_kid_refetch_is_rate_limited(op, site):
    app, ext = site
    assert login(app.test_client()).status_code == 302
    op.rotate_to("ec-a", "EC")
    assert login(app.test_client()).status_code == 302
    assert op.jwks_fetches == 2
    # A second rotation within the refetch interval: no further fetch, the login fails cleanly.
    op.rotate_to("ec-b", "EC")
    resp = login(app.test_client())
    assert resp.status_code == 400
    assert "no signing key with kid &#x27;ec-b&#x27;" in resp.get_data(as_text=True)
    assert op.jwks_fetches == 2


def test_refetch_allowed_again_after_interval(op):
    from .conftest import make_site

    app, ext = make_site(op, jwks_refetch_interval=0)
    assert login(app.test_client()).status_code == 302
    op.rotate_to("ec-a", "EC")
    assert login(app.test_client()).status_code == 302
    op.rotate_to("ec-b", "EC")
    assert login(app.test_client()).status_code == 302
    assert op.jwks_fetches == 3
