from __future__ import annotations

from argon2 import PasswordHasher

from agentos.services.security.passwords import (
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_is_argon2id_and_verifies() -> None:
    digest = hash_password("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert verify_password(digest, "correct horse battery")
    assert not verify_password(digest, "correct horse batterY")


def test_same_password_hashes_differently() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_garbage_hash_is_a_mismatch_not_a_crash() -> None:
    assert not verify_password("not-a-hash", "anything")
    assert needs_rehash("not-a-hash")


def test_weaker_parameters_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw123456")
    assert verify_password(weak, "pw123456")
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("pw123456"))


def test_generated_passwords_are_long_and_unique() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(password) >= 20 for password in passwords)
