"""Password hashing with argon2id (a memory-hard hash), via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Production parameters: one of the argon2id configurations the OWASP
#: Password Storage Cheat Sheet lists as equally strong (7 MiB, 5 passes,
#: 1 lane; the others trade memory for passes: 19 MiB and 2, 12 MiB and 3,
#: 9 MiB and 4). The smallest buffer: on a small machine, memory is what
#: runs out first. Hashes made with other parameters still verify: each hash
#: carries its own.
PRODUCTION = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)
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
