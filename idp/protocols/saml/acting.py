"""Whom the person acts for at a SAML service provider. An SP allowed the ``entity`` attribute is told
the enterprise she acts for, as an OpenID client asking for the ``entity`` scope is: the login first
offers her the choice (herself, or an enterprise she may act for at this SP), unless the request is
passive; the assertion then carries the context she holds at this SP at the moment it is issued (a
context revoked or expired since she chose it is not asserted, as an authorization response does not
carry it)."""
from __future__ import annotations

from ...identity.authorisations import ActingContext, acting_context, choice_needed
from ...sessions.login_transaction import CONTEXT_CHOSEN
from ...sessions.sso import SsoSession
from .models import ENTITY


def releases_entity(provider) -> bool:
    return ENTITY in (provider.attributes or [])


def chooser_needed(session: SsoSession, provider, state: dict) -> bool:
    """Whether the person is first asked whom she acts for (``state``: the SAML request's, which says
    whether it was passive and whether she has chosen already)."""
    if not releases_entity(provider) or state.get("passive") or state.get(CONTEXT_CHOSEN):
        return False
    return choice_needed(session.person_id, provider.session_key, entity_id=session.entity_id,
                         chosen=session.context_chosen)


def held_context(session: SsoSession, provider) -> ActingContext | None:
    """The enterprise context of the session if the person holds it at this SP now."""
    if session.entity_id is None:
        return None
    return acting_context(session.person_id, session.entity_id, provider.session_key)
