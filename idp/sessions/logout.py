"""Ending an SSO session everywhere: tokens, back-channel logout to every client, other listeners."""
from __future__ import annotations

from ..clients.service import find_client
from ..extensions import db
from ..identity.claims import subject_for
from ..identity.models import Person
from .backchannel import build_logout_token
from .sso import SsoSession


def end_session_everywhere(core, session: SsoSession, reason: str = "logout") -> SsoSession | None:
    ended = core.sessions.end(session)
    if ended is None:
        return None
    core.tokens.revoke_grant(sid=ended.sid)  # tokens issued through the ended session lose their refresh
    person = db.session.get(Person, ended.person_id)
    for client_id in sorted(ended.clients):
        client = find_client(client_id)
        if client is None or not client.backchannel_logout_uri or person is None:
            continue
        alg = client.id_token_signed_response_alg or "RS256"
        token = build_logout_token(issuer=core.settings.issuer, client_id=client_id,
                                   sub=subject_for(person.public_id, client, core.pairwise_salt),
                                   sid=ended.sid, key=core.keys.signing_key(alg), alg=alg)
        core.notifier.send(client_id, client.backchannel_logout_uri, token)
    for listener in core.logout_listeners:
        listener(ended)
    core.audit("logout", person=person.public_id if person else None, reason=reason,
               clients=sorted(ended.clients))
    return ended
