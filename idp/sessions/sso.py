"""Server-side SSO sessions behind an opaque cookie; only the cookie's hash is stored."""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field

from ..authn.result import AuthResult
from ..storage.token_hash import token_hash

SESSION = "sso"
CLIENTS = "sso_clients"
BY_PERSON = "sso_person"
COOKIE_NAME = "idp_session"


@dataclass
class SsoSession:
    key: str
    sid: str
    person_id: int
    auth_time: int
    acr: str
    amr: list
    method: str
    created_at: int
    expires_at: int
    ip: str = ""
    user_agent: str = ""
    certificate: dict | None = None
    entity_id: int | None = None
    authorisation_id: str | None = None  # the enterprise authorisation the session acts under, if any
    context_chosen: bool = False  # the person chose whom she acts for (herself or an enterprise)
    clients: set = field(default_factory=set)

    def to_record(self) -> dict:
        data = asdict(self)
        data.pop("clients")
        return data


class SessionManager:
    def __init__(self, store, ttl: int):
        self.store = store
        self.ttl = ttl

    def create(self, auth: AuthResult, ip: str = "", user_agent: str = "") -> tuple[str, SsoSession]:
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        session = SsoSession(key=token_hash(token), sid=secrets.token_urlsafe(16), person_id=auth.person_id,
                             auth_time=auth.auth_time, acr=auth.acr, amr=list(auth.amr), method=auth.method,
                             created_at=now, expires_at=now + self.ttl, ip=ip, user_agent=user_agent[:256],
                             certificate=auth.certificate, entity_id=auth.entity_id)
        self.store.put(SESSION, session.key, session.to_record(), self.ttl)
        self.store.index_add(BY_PERSON, str(auth.person_id), session.key, self.ttl)
        return token, session

    def load(self, token: str | None) -> SsoSession | None:
        if not token or len(token) > 128:
            return None
        return self.get(token_hash(token))

    def get(self, key: str) -> SsoSession | None:
        record = self.store.get(SESSION, key)
        if record is None:
            return None
        session = SsoSession(**record)
        session.clients = self.store.index_members(CLIENTS, key)
        return session

    def reauthenticate(self, session: SsoSession, auth: AuthResult) -> SsoSession:
        """Record a fresh (possibly stronger) authentication in the same session (step-up)."""
        if auth.person_id != session.person_id:
            raise ValueError("re-authentication by a different person must start a new session")
        session.auth_time = auth.auth_time
        session.acr, session.amr, session.method = auth.acr, list(auth.amr), auth.method
        if auth.certificate is not None:
            session.certificate = auth.certificate
        if auth.entity_id is not None:
            session.entity_id, session.authorisation_id = auth.entity_id, None
        remaining = max(1, session.expires_at - int(time.time()))
        self.store.put(SESSION, session.key, session.to_record(), remaining)
        return session

    def act_for(self, session: SsoSession, entity_id: int | None, authorisation_id: str | None) -> SsoSession:
        """Record whom the person acts for in this session: herself (None) or an enterprise."""
        session.entity_id, session.authorisation_id = entity_id, authorisation_id
        session.context_chosen = True
        remaining = max(1, session.expires_at - int(time.time()))
        self.store.put(SESSION, session.key, session.to_record(), remaining)
        return session

    def add_client(self, session: SsoSession, client_id: str) -> None:
        remaining = max(1, session.expires_at - int(time.time()))
        self.store.index_add(CLIENTS, session.key, client_id, remaining)
        session.clients.add(client_id)

    def for_person(self, person_id: int) -> list[SsoSession]:
        sessions = []
        for key in self.store.index_members(BY_PERSON, str(person_id)):
            session = self.get(key)
            if session is None:
                self.store.index_remove(BY_PERSON, str(person_id), key)
            else:
                sessions.append(session)
        return sorted(sessions, key=lambda s: s.created_at)

    def end(self, session: SsoSession) -> SsoSession | None:
        """Delete the session; returns it (with its clients) only to the one caller that ended it."""
        record = self.store.consume(SESSION, session.key)
        if record is None:
            return None
        ended = SsoSession(**record)
        ended.clients = self.store.index_members(CLIENTS, session.key)
        self.store.index_clear(CLIENTS, session.key)
        self.store.index_remove(BY_PERSON, str(session.person_id), session.key)
        return ended
