"""The rules of enterprise authorisations: who may grant, what is offered, what a role may be."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.authn.result import ACR_CERTIFICATE, ACR_PASSWORD
from idp.errors import ValidationError
from idp.identity import authorisations
from idp.identity.service import create_entity, create_person, link_representative

BOSS, AGENT = "11010519491231002X", "110105198503151230"
USCC = "91110000100000000R"


@pytest.fixture
def people(ctx):
    boss = create_person(id_number=BOSS, name="张三")
    agent = create_person(id_number=AGENT, name="李四")
    entity = create_entity(uscc=USCC, name="示例科技有限公司")
    link_representative(uscc=USCC, id_number=BOSS, role="legal_representative")
    return boss, agent, entity


def _grant(boss, entity, roles=("declarant",), portals=None, days=30, acr=ACR_CERTIFICATE):
    return authorisations.grant(granter_id=boss.id, acr=acr, entity_id=entity.id, agent_id_number=AGENT,
                                agent_name="李四", roles=list(roles), portals=portals,
                                valid_until=datetime.now(timezone.utc) + timedelta(days=days))


def test_only_a_certificate_level_login_may_grant(people):
    boss, _agent, entity = people
    assert authorisations.enterprises_authorisable_by(boss.id, ACR_PASSWORD) == []
    with pytest.raises(PermissionError):
        _grant(boss, entity, acr=ACR_PASSWORD)
    assert [e.id for e in authorisations.enterprises_authorisable_by(boss.id, ACR_CERTIFICATE)] == [entity.id]


def test_a_pending_or_expired_authorisation_gives_no_context(people):
    boss, agent, entity = people
    granted = _grant(boss, entity)
    assert authorisations.acting_context(agent.id, entity.id) is None, "not accepted yet"
    authorisations.accept(person_id=agent.id, public_id=granted.public_id)
    context = authorisations.acting_context(agent.id, entity.id, "any-portal")
    assert context.authorisation_id == granted.public_id and context.roles == ("declarant",)
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert authorisations.acting_context(agent.id, entity.id, at=later) is None
    assert authorisations.contexts_for(agent.id, at=later) == []


def test_portals_limit_where_the_context_is_offered(people):
    from idp.clients.service import register_client
    boss, agent, entity = people
    portal = register_client(name="A", redirect_uris=["http://localhost:9001/cb"], scopes=["openid"]).client
    granted = _grant(boss, entity, portals=[portal.client_id])
    authorisations.accept(person_id=agent.id, public_id=granted.public_id)
    assert authorisations.acting_context(agent.id, entity.id, portal.client_id) is not None
    assert authorisations.acting_context(agent.id, entity.id, "another-portal") is None
    with pytest.raises(ValidationError):
        _grant(boss, entity, portals=["no-such-portal"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(roles=st.lists(st.text(max_size=40), max_size=20))
def test_roles_are_short_words_or_refused(people, roles):
    try:
        cleaned = authorisations._clean_roles(roles)
    except ValidationError:
        return
    assert 1 <= len(cleaned) <= authorisations.MAX_ROLES and len(set(cleaned)) == len(cleaned)
    assert all(authorisations.ROLE_PATTERN.fullmatch(role) for role in cleaned)


def test_a_legal_representative_is_offered_her_enterprise_and_needs_certificate_level(people):
    from idp.authn.result import ACR_HARDWARE_CERTIFICATE
    boss, agent, entity = people
    [offered] = authorisations.offered_contexts(boss.id, None, "any-portal")
    assert offered.entity.id == entity.id and offered.role == "legal_representative"
    assert authorisations.needs_step_up(offered, ACR_PASSWORD) and authorisations.needs_step_up(offered, None)
    assert not authorisations.needs_step_up(offered, ACR_CERTIFICATE)
    assert not authorisations.needs_step_up(offered, ACR_HARDWARE_CERTIFICATE)
    assert authorisations.offered_contexts(agent.id, None, None) == [], "not hers"
    assert authorisations.choice_needed(boss.id, None, entity_id=None, chosen=False)
    assert not authorisations.choice_needed(boss.id, None, entity_id=None, chosen=True)
    assert not authorisations.choice_needed(agent.id, None, entity_id=None, chosen=False, ask_again=True)


def test_an_accepted_authorisation_past_its_date_is_ended_once(people, app):
    boss, agent, entity = people
    granted = _grant(boss, entity)
    authorisations.accept(person_id=agent.id, public_id=granted.public_id)
    core = app.extensions["idp"]
    assert authorisations.end_expired(core) == 0
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert authorisations.end_expired(core, at=later) == 1
    assert authorisations.find(granted.public_id).state() == "expired"
    assert authorisations.end_expired(core, at=later) == 0
