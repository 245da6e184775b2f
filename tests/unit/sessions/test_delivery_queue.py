"""Logout messages queued in the database: each is posted by one node only, and one left behind by a
node that died is posted by another."""
from __future__ import annotations

import threading
import time

import pytest

from helpers import app_on, dispose_app
from idp.sessions.delivery_queue import Outgoing

SOAP = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>{}</soap:Body></soap:Envelope>'


@pytest.fixture
def app(tmp_path, any_database):
    app = app_on(tmp_path, any_database)
    yield app
    dispose_app(app)


def _engine(app):
    from idp.extensions import db
    with app.app_context():
        return db.engine


def _node(app, name, *, claim_seconds=5.0, retries=3):
    from idp.sessions.backchannel import BackchannelNotifier
    from idp.sessions.delivery_queue import DeliveryQueue
    engine = _engine(app)
    return BackchannelNotifier(timeout=2, retries=retries, backoff=0.01,
                               queue=DeliveryQueue(name, claim_seconds=claim_seconds), engine=lambda: engine)


def _deliver_due_until_received(node, engine, rp, seconds=10):
    """Run the retry job on ``node`` until the site got a POST (the claim left behind has lapsed)."""
    deadline = time.monotonic() + seconds
    while not rp.received and time.monotonic() < deadline:
        node.deliver_due(engine)
        node.wait_idle(5)
        time.sleep(0.05)


def _rows(app):
    from idp.extensions import db
    from idp.sessions.delivery_models import LogoutDelivery
    with app.app_context():
        return db.session.execute(db.select(LogoutDelivery.message, LogoutDelivery.delivered, LogoutDelivery.attempts,
                                            LogoutDelivery.done_at).order_by(LogoutDelivery.id)).all()


def test_a_queued_message_is_delivered_once_and_recorded(app, site):
    rp = site(503, 200)
    node = _node(app, "node-a")
    assert node.send("portal-a", rp.url, "token-1").result(10) is True
    assert [r[1]["logout_token"] for r in rp.received] == [["token-1"], ["token-1"]]  # one retry after the 503
    [(message, delivered, attempts, done_at)] = _rows(app)
    assert (message, delivered, attempts) == ("token-1", True, 2) and done_at is not None
    assert node.deliver_due(_engine(app)) == 0  # nothing left to send


def test_finished_messages_are_forgotten_after_a_week(app, site):
    from idp.sessions.backchannel import KEEP_FINISHED_SECONDS
    rp = site(200)
    node = _node(app, "node-a")
    engine = _engine(app)
    assert node.send("portal-a", rp.url, "token-done").result(10) is True
    node.queue.add(engine, Outgoing("portal-a", rp.url, "token-waiting"), "node-b:claim")
    with engine.begin() as conn:  # delivered eight days ago; the other one still waits (claimed elsewhere)
        conn.exec_driver_sql("UPDATE logout_deliveries SET done_at = done_at - %d WHERE done_at IS NOT NULL"
                             % (KEEP_FINISHED_SECONDS + 86400))
    assert node.deliver_due(engine) == 0
    assert [r.message for r in _rows(app)] == ["token-waiting"]


def test_a_refused_message_is_recorded_as_failed(app, site):
    rp = site(400)
    node = _node(app, "node-a")
    assert node.send("portal-a", rp.url, "token-1").result(10) is False
    assert [(r.delivered, r.attempts) for r in _rows(app)] == [(False, 1)]
    assert node.failed == [("portal-a", rp.url, "HTTP 400")]


def test_nodes_racing_for_due_messages_post_each_once(app, site):
    rp = site()
    engine = _engine(app)
    leaving = _node(app, "node-gone", claim_seconds=3.0)
    stored = time.time()
    for n in range(30):  # stored and claimed by a node that then died before posting
        leaving.queue.add(engine, Outgoing("portal-a", rp.url, f"token-{n}"), leaving.queue.new_claim())
    last_stored = time.time()  # on a loaded machine the 30 inserts take a while: every claim lapses after this
    nodes = [_node(app, f"node-{i}") for i in range(3)]
    assert time.time() < stored + 3.0 and all(node.deliver_due(engine) == 0 for node in nodes)  # claims held
    time.sleep(max(0.0, last_stored + 3.1 - time.time()))
    barrier = threading.Barrier(3)

    def take(node):
        barrier.wait()
        for _ in range(5):
            node.deliver_due(engine)

    threads = [threading.Thread(target=take, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(node.wait_idle(30) for node in nodes)
    posted = sorted(r[1]["logout_token"][0] for r in rp.received)
    assert posted == sorted(f"token-{n}" for n in range(30))  # every one, none twice
    assert sum(len(node.delivered) for node in nodes) == 30
    assert all(row.delivered is True for row in _rows(app))


def test_a_message_whose_node_died_between_retries_is_finished_by_another(app, site):
    rp = site()
    engine = _engine(app)
    dying = _node(app, "node-dying", claim_seconds=0.3)
    claim = dying.queue.new_claim()
    row_id = dying.queue.add(engine, Outgoing("portal-a", rp.url, "token-1"), claim)
    item = dying.queue.claim(engine, row_id, claim)
    assert dying.queue.retry_at(engine, item, time.time(), "HTTP 503")  # then the process is gone
    other = _node(app, "node-b")
    _deliver_due_until_received(other, engine, rp)
    assert [r[1]["logout_token"] for r in rp.received] == [["token-1"]]
    assert [(r.delivered, r.attempts) for r in _rows(app)] == [(True, 2)]
    assert dying.queue.claim(engine, row_id, claim) is None  # finished: the old claim gets nothing


def test_logout_through_the_app_queues_the_message(app, site):
    """The server's notifier stores each logout message before posting it."""
    rp = site()
    core = app.extensions["idp"]
    with app.test_request_context():
        future = core.notifier.send("portal-a", rp.url, "token-x")
    assert future.result(10) is True
    assert [(r.message, r.delivered) for r in _rows(app)] == [("token-x", True)]


def _kinds(app):
    from idp.extensions import db
    from idp.sessions.delivery_models import LogoutDelivery
    with app.app_context():
        return db.session.execute(db.select(LogoutDelivery.kind, LogoutDelivery.content_type, LogoutDelivery.field,
                                            LogoutDelivery.answer_check).order_by(LogoutDelivery.id)).all()


def test_a_raw_body_is_posted_as_it_is_with_its_content_type(app, site):
    rp = site(503, 200)
    node = _node(app, "node-a")
    body = SOAP.format("<LogoutRequest ID='_1'>a &amp; b, 中文</LogoutRequest>")
    assert node.send_raw("sp-a", rp.url, body, "text/xml; charset=utf-8").result(10) is True
    assert rp.bodies == [("text/xml; charset=utf-8", body.encode("utf-8"))] * 2  # once again after the 503
    assert [tuple(r) for r in _kinds(app)] == [("raw", "text/xml; charset=utf-8", "", None)]
    assert [(r.message, r.delivered, r.attempts) for r in _rows(app)] == [(body, True, 2)]


def test_a_raw_message_left_by_a_dead_node_is_posted_raw_by_another(app, site):
    rp = site()
    engine = _engine(app)
    dying = _node(app, "node-dying", claim_seconds=0.3)
    dying.queue.add(engine, Outgoing.raw("sp-a", rp.url, SOAP.format("x"), "text/xml"), dying.queue.new_claim())
    other = _node(app, "node-b")
    _deliver_due_until_received(other, engine, rp)
    assert rp.bodies == [("text/xml", SOAP.format("x").encode())]
    assert other.delivered == [("sp-a", rp.url)]


def test_the_answer_check_a_message_names_decides_whether_it_was_taken(app, site):
    def says(body):  # the site answers with what the body asks it to say
        return b"yes" if b"please" in body else b"no"
    rp = site(reply=says)
    node = _node(app, "node-a")
    node.answer_checks["echo"] = lambda out, response: None if response.text == "yes" else f"said {response.text}"
    assert node.send_raw("sp-a", rp.url, "please", "text/plain", answer_check="echo").result(10) is True
    assert node.send_raw("sp-a", rp.url, "rude", "text/plain", answer_check="echo").result(10) is False
    assert node.send_raw("sp-a", rp.url, "please", "text/plain", answer_check="unknown").result(10) is False
    assert len(rp.bodies) == 3  # an answer that says no is not asked again
    assert [(r.delivered, r.attempts) for r in _rows(app)] == [(True, 1), (False, 1), (False, 1)]
    assert [error for _c, _u, error in node.failed] == ["said no", "no answer check 'unknown'"]


def test_a_row_stored_before_raw_messages_existed_is_sent_as_a_form_field(app, site):
    """Rows written by the previous release (no kind, content type or check) keep being delivered."""
    rp = site()
    engine = _engine(app)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO logout_deliveries (client_id, uri, field, message, accept_redirect, created_at, attempts,"
            " next_attempt_at) VALUES ('portal-a', '%s', 'logout_token', 'old-token', %s, 0, 0, 0)"
            % (rp.url, "false"))
    node = _node(app, "node-a")
    assert node.deliver_due(engine) == 1 and node.wait_idle(10)
    assert [r[1] for r in rp.received] == [{"logout_token": ["old-token"]}]
    assert [tuple(r) for r in _kinds(app)] == [("form", None, "logout_token", None)]
