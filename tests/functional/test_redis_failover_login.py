"""A citizen's SSO session in Redis Sentinel survives the primary's death: while Sentinel promotes the
replica the identity server answers 503 with Retry-After (never 500, never the login page), and after
it the second portal signs the citizen in from the same session."""
from __future__ import annotations

import time

import pytest

import helpers
from idp import create_app
from idp.migrate import upgrade
from redis_topology import sentinel_topology

pytestmark = pytest.mark.redis


def test_sso_session_survives_a_sentinel_failover(tmp_path):
    with sentinel_topology(tmp_path / "redis") as topo:
        settings = helpers.make_settings(tmp_path, session_backend="redis", redis_url=topo.url)
        app = create_app(settings)
        app.config["TESTING"] = True
        upgrade(app)
        with app.app_context():
            app.extensions["idp"].keys.ensure_active_keys()
            from idp.identity.service import create_person
            create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD)
        browser = helpers.Browser(app.test_client())
        portal_a = helpers.register(app, browser, "Portal A", helpers.REDIRECT_A)
        portal_b = helpers.register(app, browser, "Portal B", helpers.REDIRECT_B)
        portal_a.login_tokens()  # the login page was answered: the session is on the replica too

        topo.primary.kill()
        killed_at = time.monotonic()
        statuses: dict[int, int] = {}
        while True:
            params, verifier = portal_b.auth_params()
            response = browser.authorize(**params)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 503:
                assert response.headers["Retry-After"]
                assert time.monotonic() - killed_at < 20, "Sentinel failover not followed within 20 s"
                time.sleep(0.1)
                continue
            break
        outage = time.monotonic() - killed_at
        print(f"\nSSO across a Sentinel failover: answers {statuses}, {outage:.1f} s until served again")
        assert response.status_code == 302, response.get_data(as_text=True)
        location = response.headers["Location"]
        assert location.startswith(helpers.REDIRECT_B), f"the session was lost: sent to {location}"
        code = helpers.query_of(location)["code"]
        tokens = portal_b.exchange(code, verifier)
        assert tokens.status_code == 200, tokens.get_json()
        assert set(statuses) <= {302, 503}
        app.extensions["idp"].notifier.wait_idle(5)
        app.extensions["idp"].store.close()
