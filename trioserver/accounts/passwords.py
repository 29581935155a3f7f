"""Password hashing with argon2id (a memory-hard hash), via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Production parameters: OWASP's recommended argon2id configuration
#: (19 MiB, 2 passes, 1 lane; Password Storage Cheat Sheet). Hashes made with
#: other parameters still verify: each hash carries its own.
PRODUCTION = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Cheap parameters for test servers: still argon2id, just fast.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, hasher: PasswordHasher = PRODUCTION) -> str:
    return str(hasher.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches; the hash's own parameters are used."""
    try:
        return bool(PRODUCTION.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False
