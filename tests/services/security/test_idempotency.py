"""The idempotency stores (table when embedded, Redis DB1 when distributed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agentos.errors import ConflictError, InvalidError
from agentos.services.backends import idempotency
from agentos.services.backends.idempotency import StoredResponse
from agentos.services.runtime import Runtime, backends_of
from agentos.settings import Settings


def _claim(runtime: Runtime, key: str, fingerprint: str) -> StoredResponse | None:
    with runtime.session() as session:
        return backends_of(session).idempotency.claim(
            session, scope="user:1", key=key, fingerprint=fingerprint
        )


def _complete(runtime: Runtime, key: str, fingerprint: str, response: StoredResponse) -> None:
    with runtime.session() as session:
        backends_of(session).idempotency.complete(
            session, scope="user:1", key=key, fingerprint=fingerprint, response=response
        )


def test_claim_conflict_complete_replay(settings: Settings, runtime: Runtime) -> None:
    assert _claim(runtime, "k", "f1") is None
    with pytest.raises(ConflictError):
        _claim(runtime, "k", "f1")
    with pytest.raises(InvalidError):
        _claim(runtime, "k", "f2")
    _complete(runtime, "k", "f1", StoredResponse(ok=True, body={"result": {"n": 1}}))
    assert _claim(runtime, "k", "f1") == StoredResponse(ok=True, body={"result": {"n": 1}})


def test_release_and_expiry_free_the_key(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    assert _claim(runtime, "r", "f") is None
    with runtime.session() as session:
        backends_of(session).idempotency.release(session, scope="user:1", key="r")
    assert _claim(runtime, "r", "f") is None
    short = make_runtime(settings.model_copy(update={"idempotency_ttl_s": 1}))
    _complete(short, "r", "f", StoredResponse(ok=False, body={"kind": "conflict"}))
    assert _claim(short, "r", "f") is not None
    time.sleep(1.2)
    assert _claim(short, "r", "other") is None  # expired: a new request may use the key


def test_fingerprint_is_canonical_and_keys_are_checked() -> None:
    assert idempotency.fingerprint("a", {"x": 1, "y": 2}) == idempotency.fingerprint(
        "a", {"y": 2, "x": 1}
    )
    assert idempotency.fingerprint("a", {"x": 1}) != idempotency.fingerprint("b", {"x": 1})
    assert idempotency.validate_key('"abc-123"') == "abc-123"
    with pytest.raises(InvalidError):
        idempotency.validate_key("has space")
