"""Password hashing with argon2id (memory-hard), verification and one-time passwords."""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
_dummy_hash: str | None = None
_dummy_lock = threading.Lock()
ONE_TIME_PASSWORD_BYTES = 18


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; argon2 compares the digests in constant time."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    """A one-time password: 24 URL-safe characters (144 bits of entropy)."""
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so unknown users are not told apart by timing."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = hash_password(generate_password())
        reference = _dummy_hash
    verify_password(reference, password)
