"""JWKS and discovery served as stored bytes ahead of Flask: the same answer as through Flask, entity tags
and conditional requests, and a key rotation on one node reaching every node through the database."""
from __future__ import annotations

import time
import types

import pytest

from helpers import make_settings

DOCUMENTS = ("/jwks.json", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
ANY_ID = "X-Request-ID"


def _node(settings):
    from idp import create_app
    from idp.migrate import upgrade
    app = create_app(settings)
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    return app


@pytest.fixture
def app(tmp_path):
    return _node(make_settings(tmp_path))


def _headers(response) -> dict:
    return {name: value for name, value in response.headers.items() if name != ANY_ID}


@pytest.mark.parametrize("path", DOCUMENTS)
def test_stored_answer_is_the_flask_answer(app, path):
    client = app.test_client()
    client.get(path)  # loads the key snapshot
    stored = client.get(path)
    # a query string sends the request through Flask (the views ignore it)
    through_flask = client.get(path + "?via=flask")
    assert stored.status_code == through_flask.status_code == 200
    assert stored.data == through_flask.data
    assert _headers(stored) == _headers(through_flask)
    assert stored.headers["ETag"].startswith('"') and stored.headers["X-Frame-Options"] == "DENY"
    assert stored.headers[ANY_ID] and stored.headers[ANY_ID] != through_flask.headers[ANY_ID]
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(stored.data))


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("query", ["", "?via=flask"])
def test_conditional_request_gets_304(app, path, query):
    client = app.test_client()
    etag = client.get(path).headers["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(path + query, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.data == b"" and response.headers["ETag"] == etag
        assert response.headers["Cache-Control"].startswith("public")
    assert client.get(path + query, headers={"If-None-Match": '"other"'}).status_code == 200


def test_request_id_is_echoed_on_the_stored_answer(app):
    client = app.test_client()
    client.get("/jwks.json")
    assert client.get("/jwks.json", headers={ANY_ID: "abc-123"}).headers[ANY_ID] == "abc-123"
    assert client.get("/jwks.json", headers={ANY_ID: "bad id\x01"}).headers[ANY_ID] != "bad id\x01"


@pytest.mark.parametrize("request_kwargs", [
    {"method": "POST"},
    {"method": "GET", "headers": {"Authorization": "Basic !!!"}},
    {"method": "GET", "headers": {"Host": "bad host"}},
    {"method": "GET", "query_string": "a=%00"},
])
def test_requests_with_more_than_a_plain_get_go_through_the_hooks(app, request_kwargs):
    """What the request guard and routing refuse is still refused: these requests never take the stored
    answer."""
    client = app.test_client()
    client.get("/jwks.json")
    response = client.open("/jwks.json", **request_kwargs)
    assert response.status_code in (400, 401, 405), response.data
    assert response.is_json and "error" in response.get_json()


def test_stored_answers_are_counted_in_the_metrics(app):
    client = app.test_client()
    for _ in range(3):
        client.get("/.well-known/openid-configuration")
    body = client.get("/metrics").get_data(as_text=True)
    line = next(line for line in body.splitlines() if line.startswith("idp_http_requests_total{")
                and 'endpoint="/.well-known/openid-configuration"' in line and 'status="200"' in line)
    assert float(line.rsplit(" ", 1)[1]) == 3


def test_rotation_on_one_node_changes_the_jwks_every_node_serves(tmp_path, monkeypatch):
    """Two processes on one database: a key rotated through the first is published by the second once its
    snapshot is due for reload (keys.service.CACHE_SECONDS), from the database, with a new entity tag."""
    from idp.keys import service

    clock = [time.time()]
    monkeypatch.setattr(service, "time", types.SimpleNamespace(time=lambda: clock[0]))
    settings = make_settings(tmp_path)
    first, second = _node(settings), _node(settings)
    readers = [first.test_client(), second.test_client()]
    before = [reader.get("/jwks.json") for reader in readers]
    assert before[0].data == before[1].data
    old_etag = before[0].headers["ETag"]

    with first.app_context():
        [new] = first.extensions["idp"].keys.rotate("ES256")

    # the first node changed its own snapshot; the second still holds the one it loaded ...
    assert new.kid.encode() in readers[0].get("/jwks.json").data
    assert readers[1].get("/jwks.json").headers["ETag"] == old_etag
    # ... until it is due for reload, and then it reads the keys from the database
    clock[0] += service.CACHE_SECONDS + 1
    for reader in readers:
        response = reader.get("/jwks.json", headers={"If-None-Match": old_etag})
        assert response.status_code == 200
        assert new.kid in {key["kid"] for key in response.get_json()["keys"]}
        assert response.headers["ETag"] != old_etag
        again = reader.get("/jwks.json")  # and the stored answer from then on carries the new keys
        assert again.data == response.data and again.headers["ETag"] == response.headers["ETag"]
