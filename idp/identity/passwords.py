"""argon2id password hashing (argon2-cffi) with OWASP parameters."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16,
                         type=Type.ID)

# Verified against for unknown usernames so that they cost the same time as known ones.
_DUMMY_HASH = _hasher.hash("not a real password: timing equaliser")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Return (ok, new_hash); new_hash is set when parameters changed and the hash should be upgraded.

    Any argon2 variant verifies (the variant is read from the hash); a hash made with other
    parameters or another variant is upgraded to the current argon2id parameters.
    """
    if not password_hash:
        burn_time(password)
        return False, None
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, ValueError):  # InvalidHashError, or a hash that is not ASCII
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


def burn_time(password: str) -> None:
    """Spend the same time as a real verification (for unknown accounts)."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass
