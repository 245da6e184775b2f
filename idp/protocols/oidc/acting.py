"""When an authorization request sends the person to choose whom she acts for (herself or one of the
enterprises she is the legal representative of or holds an authorisation for): the client asks for the
enterprise context (the ``entity`` scope, or an ``entity`` claim in the ``claims`` parameter, OIDC Core
5.5) and ``authorisations.choice_needed`` says so (``prompt=select_account`` asks her again)."""
from __future__ import annotations

import json

from authlib.oauth2.rfc6749 import scope_to_list

from ...identity.authorisations import choice_needed
from ...sessions.login_transaction import CONTEXT_CHOSEN, LoginTransaction
from ...sessions.sso import SsoSession

ENTITY = "entity"


def asks_for_entity(params: dict) -> bool:
    if ENTITY in (scope_to_list(params.get("scope") or "") or []):
        return True
    try:
        claims = json.loads(params.get("claims") or "{}")
    except ValueError:
        return False
    if not isinstance(claims, dict):
        return False
    return any(isinstance(claims.get(target), dict) and ENTITY in claims[target] for target in ("id_token", "userinfo"))


def chooser_needed(session: SsoSession, person_id: int, client_id: str, params: dict, prompts: list[str],
                   tx: LoginTransaction | None) -> bool:
    if not asks_for_entity(params) or (tx is not None and tx.state.get(CONTEXT_CHOSEN)):
        return False
    return choice_needed(person_id, client_id, entity_id=session.entity_id, chosen=session.context_chosen,
                         ask_again="select_account" in prompts)
