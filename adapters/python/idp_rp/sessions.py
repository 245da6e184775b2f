"""Server-side local sessions, findable by provider `sid` and `sub` for back-channel logout.

The browser only holds a signed random id (see cookies.py). A store is anything with the five
methods of `SessionStore`; `MemorySessionStore` is the thread-safe in-process default.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class PendingLogin:
    """A login started by this browser and not yet finished."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    return_to: str
    acr_values: tuple[str, ...] = ()
    created_at: float = field(default_factory=time.time)
    #: Started with prompt=none: a "login required" answer is not an error.
    silent: bool = False


@dataclass
class LocalSession:
    id: str
    created_at: float = field(default_factory=time.time)
    expires_at: float = 0.0
    #: Identity, filled in after a successful login.
    sub: str | None = None
    sid: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] = field(default_factory=dict)
    id_token: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    access_token_expires_at: float | None = None
    scope: str | None = None
    authenticated_at: float | None = None
    #: Logins in flight, keyed by state (several tabs may log in at once).
    pending: dict[str, PendingLogin] = field(default_factory=dict)
    #: A silent login (prompt=none) was tried in this session; it is not tried again.
    silent_login_tried: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.sub is not None

    @property
    def acr(self) -> str | None:
        return self.claims.get("acr")

    @property
    def amr(self) -> list[str]:
        amr = self.claims.get("amr")
        return list(amr) if isinstance(amr, list) else []

    def clear_identity(self) -> None:
        self.sub = self.sid = self.id_token = self.access_token = self.refresh_token = None
        self.access_token_expires_at = self.authenticated_at = None
        self.scope = None
        self.claims = {}
        self.userinfo = {}


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class SessionStore(Protocol):
    def get(self, session_id: str) -> LocalSession | None: ...
    def save(self, session: LocalSession) -> None: ...
    def delete(self, session_id: str) -> None: ...
    def find_by_sid(self, sid: str) -> list[LocalSession]: ...
    def find_by_sub(self, sub: str) -> list[LocalSession]: ...


class MemorySessionStore:
    """In-process session store. Sessions are copied in and out so callers never share objects."""

    def __init__(self) -> None:
        self._sessions: dict[str, LocalSession] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> LocalSession | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires_at and session.expires_at < time.time():
                del self._sessions[session_id]
                return None
            return copy.deepcopy(session)

    def save(self, session: LocalSession) -> None:
        with self._lock:
            self._sessions[session.id] = copy.deepcopy(session)
            self._purge_expired()

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def find_by_sid(self, sid: str) -> list[LocalSession]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._sessions.values() if s.sid == sid]

    def find_by_sub(self, sub: str) -> list[LocalSession]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._sessions.values() if s.sub == sub]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _purge_expired(self) -> None:
        now = time.time()
        for sid in [k for k, s in self._sessions.items() if s.expires_at and s.expires_at < now]:
            del self._sessions[sid]


class ReplayCache(Protocol):
    def seen(self, key: str, until: float) -> bool:
        """Record `key` until the time `until`; return True if it was already recorded."""


class MemoryReplayCache:
    """Remembers token ids (jti) until they expire, thread-safe."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def seen(self, key: str, until: float) -> bool:
        now = time.time()
        with self._lock:
            for k in [k for k, exp in self._seen.items() if exp < now]:
                del self._seen[k]
            if key in self._seen:
                return True
            self._seen[key] = until
            return False
