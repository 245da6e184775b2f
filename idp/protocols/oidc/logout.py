"""OIDC's part of single logout: when an SSO session ends, the tokens issued through it lose their refresh
ability and every client of the session that registered a ``backchannel_logout_uri`` receives a signed
logout token (OIDC Back-Channel Logout 1.0), delivered in the background by the core's notifier."""
from __future__ import annotations

import secrets
import time

from joserfc import jwt

from ...clients.service import find_client
from ...extensions import db
from ...identity.claims import subject_for
from ...identity.models import Person

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def build_logout_token(*, issuer: str, client_id: str, sub: str, sid: str, key, alg: str) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": client_id, "iat": now, "exp": now + 120,
              "jti": secrets.token_urlsafe(16), "sub": sub, "sid": sid, "events": {EVENT: {}}}
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key)


def oidc_logout_listener(core):
    def notify(ended) -> None:
        core.tokens.revoke_grant(sid=ended.sid)  # tokens issued through the ended session lose their refresh
        person = db.session.get(Person, ended.person_id)
        if person is None:
            return
        for client_id in sorted(ended.clients):
            client = find_client(client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            alg = client.id_token_signed_response_alg or "RS256"
            token = build_logout_token(issuer=core.settings.issuer, client_id=client_id,
                                       sub=subject_for(person.public_id, client, core.pairwise_salt),
                                       sid=ended.sid, key=core.keys.signing_key(alg), alg=alg)
            core.notifier.send(client_id, client.backchannel_logout_uri, token)
    return notify
