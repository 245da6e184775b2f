"""A request whose database connection is terminated by the server (a PostgreSQL restart) after its
last query keeps the answer it made: the ROLLBACK at the end of the request fails, and that failure
is not turned into a 500."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from backends import fresh_postgres_database, libpq_url
from idp.extensions import db

import helpers

pytestmark = pytest.mark.postgres


def test_connection_terminated_before_the_request_ends(tmp_path):
    with fresh_postgres_database() as url:
        app = helpers.create_app(helpers.make_settings(tmp_path, database_url=url))
        pids = []

        def query_then_lose_the_connection():
            pids.append(db.session.execute(text("SELECT pg_backend_pid()")).scalar())  # a transaction opens
            with psycopg.connect(libpq_url(url), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pids[-1],))
            return "done"

        app.add_url_rule("/probe-connection-lost", "probe", query_then_lose_the_connection)
        client = app.test_client()
        for _ in range(2):  # and the next request gets a working connection
            response = client.get("/probe-connection-lost")
            assert response.status_code == 200 and response.get_data(as_text=True) == "done"
        assert len(set(pids)) == 2
        helpers.dispose_app(app)
