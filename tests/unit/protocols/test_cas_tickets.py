"""CAS service tickets, on every backend: hashed, single-use, bound to one service URL, tied to a live
session and person, and remembered for single logout whatever the length of the service URL."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import CITIZEN_ID
from idp.authn.result import ACR_PASSWORD, AuthResult
from idp.protocols.cas import tickets
from idp.protocols.cas.errors import INVALID_REQUEST, INVALID_SERVICE, INVALID_TICKET, CasError

SERVICE_URL = "https://archive.example.gov.cn/cas/login"

pytestmark = pytest.mark.every_backend


@pytest.fixture
def cas(ctx, citizen):
    from idp.identity.service import find_person_by_id_number
    from idp.protocols.cas.services import register_service
    core = ctx.extensions["idp"]
    person = find_person_by_id_number(CITIZEN_ID)
    _token, session = core.sessions.create(AuthResult(person_id=person.id, method="password", acr=ACR_PASSWORD,
                                                      amr=("pwd",)))
    service = register_service(name="档案馆", service_url=SERVICE_URL)
    return core, session, service, person


def _code(call) -> str:
    with pytest.raises(CasError) as raised:
        call()
    return raised.value.code


def test_a_ticket_validates_once_for_its_service(cas):
    core, session, service, person = cas
    ticket = tickets.issue(core, session, service, SERVICE_URL, new_login=True)
    assert ticket.startswith("ST-") and core.store.get(tickets.TICKET, ticket) is None  # stored hashed
    validated = tickets.validate(core, ticket, SERVICE_URL, renew=True)
    assert validated.person.id == person.id and validated.session.sid == session.sid and validated.new_login
    assert service.session_key in core.sessions.get(session.key).clients
    assert _code(lambda: tickets.validate(core, ticket, SERVICE_URL)) == INVALID_TICKET
    assert tickets.validated_tickets(core, session.key) == [
        {"service_id": service.id, "service_url": SERVICE_URL, "ticket": ticket}]
    assert tickets.validated_tickets(core, session.key) == []  # forgotten once read


def test_single_logout_remembers_tickets_for_long_service_urls(cas):
    core, session, service, _person = cas
    urls = [SERVICE_URL + "?return=" + "a" * 1500, SERVICE_URL + "?page=" + "%E6%A1%A3" * 200, SERVICE_URL]
    issued = [tickets.issue(core, session, service, url, new_login=False) for url in urls]
    for ticket, url in zip(issued, urls):
        tickets.validate(core, ticket, url)
    assert sorted((t["service_url"], t["ticket"]) for t in tickets.validated_tickets(core, session.key)) == sorted(
        zip(urls, issued))
    assert tickets.validated_tickets(core, session.key) == []


def test_a_ticket_presented_for_another_service_is_spent(cas):
    core, session, service, _person = cas
    ticket = tickets.issue(core, session, service, SERVICE_URL, new_login=False)
    assert _code(lambda: tickets.validate(core, ticket, SERVICE_URL + "?x=1")) == INVALID_SERVICE
    assert _code(lambda: tickets.validate(core, ticket, SERVICE_URL)) == INVALID_TICKET


def test_renew_refuses_a_ticket_from_single_sign_on(cas):
    core, session, service, _person = cas
    ticket = tickets.issue(core, session, service, SERVICE_URL, new_login=False)
    assert _code(lambda: tickets.validate(core, ticket, SERVICE_URL, renew=True)) == INVALID_TICKET


def test_an_ended_session_or_disabled_person_validates_nothing(cas):
    from idp.extensions import db
    core, session, service, person = cas
    first = tickets.issue(core, session, service, SERVICE_URL, new_login=True)
    second = tickets.issue(core, session, service, SERVICE_URL, new_login=True)
    person.disabled = True
    db.session.commit()
    assert _code(lambda: tickets.validate(core, first, SERVICE_URL)) == INVALID_TICKET
    core.sessions.end(session)
    assert _code(lambda: tickets.validate(core, second, SERVICE_URL)) == INVALID_TICKET


@pytest.mark.parametrize("ticket,service_url,code", [
    (None, SERVICE_URL, INVALID_REQUEST), ("ST-abc", None, INVALID_REQUEST), ("", "", INVALID_REQUEST),
    ("PT-abc", SERVICE_URL, INVALID_TICKET), ("ST-" + "a" * 300, SERVICE_URL, INVALID_TICKET),
])
def test_malformed_requests(cas, ticket, service_url, code):
    core = cas[0]
    assert _code(lambda: tickets.validate(core, ticket, service_url)) == code


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.text(max_size=80))
def test_any_string_is_an_invalid_ticket_not_an_error(ctx, garbage):
    core = ctx.extensions["idp"]
    with pytest.raises(CasError) as raised:
        tickets.validate(core, "ST-" + garbage, SERVICE_URL)
    assert raised.value.code == INVALID_TICKET
