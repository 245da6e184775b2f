"""The shape every login method has.

An authenticator takes the credentials of its method (parsed from the request by the page or API
that received them) and the context of the attempt, and returns one neutral ``AuthResult`` or
raises ``AuthnError`` with a stable code. It knows nothing about HTTP, pages or login transactions:
the caller parses, renders, audits and starts the session.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from .result import AuthResult

C = TypeVar("C", contravariant=True)


@dataclass(frozen=True)
class LoginContext:
    """What a login method may need to know about the attempt beyond its credentials."""

    ip: str = ""
    session_person_id: int | None = None  # the person of the browser's current SSO session, if any
    step_up: bool = False                 # raising that session's level: only the same person may


class Authenticator(Protocol[C]):
    method: str

    def authenticate(self, credentials: C, context: LoginContext) -> AuthResult:
        """Who the credentials prove the person to be, or raise ``AuthnError``."""
