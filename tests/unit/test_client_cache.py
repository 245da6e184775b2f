"""The per-process client cache never serves a client that was disabled or deleted in this process."""
from __future__ import annotations

from helpers import make_settings
from idp import create_app
from idp.clients.service import find_client, get_client, register_client
from idp.extensions import db
from idp.migrate import upgrade


def test_disabling_or_deleting_a_client_takes_effect_at_once(tmp_path):
    app = create_app(make_settings(tmp_path))
    upgrade(app)
    with app.app_context():
        client_id = register_client(name="Portal", redirect_uris=["https://portal.example.gov.cn/cb"]
                                    ).client.client_id
        assert find_client(client_id) is find_client(client_id)  # served from the cache
        row = get_client(client_id)
        row.disabled = True
        db.session.commit()
        assert find_client(client_id) is None
        row.disabled = False
        db.session.commit()
        assert find_client(client_id).client_id == client_id
        db.session.delete(get_client(client_id))
        db.session.commit()
        assert find_client(client_id) is None


def test_cache_is_per_database(tmp_path):
    first = create_app(make_settings(tmp_path / "a"))
    second = create_app(make_settings(tmp_path / "b"))
    for app in (first, second):
        upgrade(app)
    with first.app_context():
        client_id = register_client(name="Only here", redirect_uris=["https://a.example.gov.cn/cb"]).client.client_id
        assert find_client(client_id) is not None
    with second.app_context():
        assert find_client(client_id) is None
