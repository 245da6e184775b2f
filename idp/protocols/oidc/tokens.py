"""JWT access tokens (RFC 9068) and storing them through the token store (``core.tokens``)."""
from __future__ import annotations

import secrets
import time

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from ...identity.claims import subject_for
from ...storage.tokens import AlreadyClaimed, NewToken
from .principal import Principal


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Authlib's RFC 9068 generator; the subject is per client (pairwise aware)."""

    def __init__(self, core):
        super().__init__(issuer=core.settings.issuer, alg=core.settings.access_token_alg,
                         refresh_token_generator=lambda *a, **k: secrets.token_urlsafe(48),
                         expires_generator=lambda client, grant_type: core.settings.access_token_ttl)
        self.core = core

    def get_jwks(self):
        return KeySet([self.core.keys.signing_key(self.alg)])

    def get_jti(self, client, grant_type, user, scope):
        # Authlib draws each character from SystemRandom one call at a time; one read is enough.
        return secrets.token_urlsafe(16)

    def get_extra_claims(self, client, grant_type, user, scope):
        if isinstance(user, Principal):
            return {"sub": subject_for(user.person.public_id, client, self.core.pairwise_salt)}
        return {}

    def get_auth_time(self, user):
        return user.auth_time if isinstance(user, Principal) else None

    def get_acr(self, user):
        return user.acr if isinstance(user, Principal) else None

    def get_amr(self, user):
        return list(user.amr) if isinstance(user, Principal) and user.amr else None


def save_token(core, token: dict, request) -> None:
    """Store the issued tokens with their audit record, claiming the code of a code exchange or the
    refresh token of a rotation, in one transaction."""
    now = time.time()
    user = request.user if isinstance(request.user, Principal) else None
    previous = getattr(request, "refresh_token", None)
    code = getattr(request, "authorization_code", None)
    refresh = token.get("refresh_token")
    client_id = request.client.get_client_id()
    scope = token.get("scope", "")
    issued = NewToken(
        access_token=token["access_token"],
        refresh_token=refresh,
        client_id=client_id,
        person_id=user.person.id if user else None,
        scope=scope,
        family_id=previous.family_id if previous is not None else secrets.token_hex(16),
        code_id=code.id if code is not None else (previous.code_id if previous is not None else None),
        sid=user.sid if user else None,
        auth_time=user.auth_time if user else None,
        acr=user.acr if user else None,
        amr=list(user.amr) if user else [],
        entity_id=user.entity.id if user and user.entity else None,
        issued_at=now,
        access_expires_at=now + int(token.get("expires_in", core.settings.access_token_ttl)),
        refresh_expires_at=(previous.refresh_expires_at if previous is not None
                            else now + core.settings.refresh_token_ttl) if refresh else None,
    )
    audited = dict(grant_type=getattr(request.payload, "grant_type", None), client_id=client_id,
                   person=user.person.public_id if user else None, scope=scope, refresh=bool(refresh))
    try:
        core.tokens.issue(issued, audit=audited, code_id=code.id if code is not None else None,
                          refresh_id=previous.id if previous is not None else None)
    except AlreadyClaimed:
        # Another request exchanged the same code, or rotated the same refresh token, and committed
        # since this one read it: a replay (nothing of this request was stored).
        if code is not None:
            code_replayed(core, code)
            raise InvalidGrantError("The authorization code has already been used.") from None
        refresh_replayed(core, previous)
        raise InvalidGrantError() from None


def code_replayed(core, code) -> None:
    """RFC 6749 4.1.2: a code used twice revokes the tokens issued from it."""
    core.tokens.revoke_grant(code_id=code.id)
    core.audit("token.code_replay", client_id=code.client_id, person_id=code.person_id)


def refresh_replayed(core, stored) -> None:
    """RFC 9700 4.14.2: a rotated refresh token used again revokes the whole family."""
    core.tokens.revoke_grant(family_id=stored.family_id)
    core.audit("token.refresh_replay", client_id=stored.client_id, person_id=stored.person_id)
