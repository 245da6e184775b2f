"""argon2id password hashing (passlib + argon2-cffi) with OWASP parameters."""
from __future__ import annotations

from passlib.context import CryptContext

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

# Verified against for unknown usernames so that they cost the same time as known ones.
_DUMMY_HASH = _context.hash("not a real password: timing equaliser")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Return (ok, new_hash); new_hash is set when parameters changed and the hash should be upgraded."""
    if not password_hash:
        _context.verify(password, _DUMMY_HASH)
        return False, None
    try:
        return _context.verify_and_update(password, password_hash)
    except ValueError:
        return False, None


def burn_time(password: str) -> None:
    """Spend the same time as a real verification (for unknown accounts)."""
    _context.verify(password, _DUMMY_HASH)
