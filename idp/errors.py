"""Error hierarchy of the identity core. Protocol layers translate these to their own codes."""
from __future__ import annotations


class IdpError(Exception):
    """Base class; ``str(error)`` is a message fit for an operator or a user."""


class ConfigError(IdpError):
    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class ValidationError(IdpError):
    """A value given by an operator or a user is not acceptable."""


class NotFound(IdpError):
    pass


class AlreadyExists(IdpError):
    pass


class AuthnError(IdpError):
    """A login was refused; every login method raises this type (or a subclass) and nothing else.

    ``code`` is stable: pages and APIs map it to a message and a status. ``details`` are facts for the
    audit record (e.g. the trust profile of a refused certificate), never secrets. The message is for
    operators and never reveals whether an account exists.
    """

    def __init__(self, code: str, message: str = "", *, details: dict | None = None):
        self.code = code
        self.details = dict(details or {})
        super().__init__(message or code)


class LockedOut(AuthnError):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__("locked", f"too many failed attempts; try again in {retry_after} seconds")
