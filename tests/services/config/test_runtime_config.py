"""Runtime configuration: validated, kept with its history, applied live in every process."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agentos.errors import InvalidError, RateLimitedError
from agentos.services.config import live
from agentos.services.runtime import Runtime
from agentos.settings import Settings
from tests.services.actions.helpers import prepare, run

APPLIED_WITHIN_S = 1.0


def _effective(runtime: Runtime, key: str) -> dict[str, object]:
    found = run(runtime, "config.get", {"key": key}).result["effective"]
    assert len(found) == 1
    return found[0]


def test_set_validates_applies_and_reset_returns_to_the_started_value(runtime: Runtime) -> None:
    started = runtime.settings.ssot_cache_ttl_s
    changed = run(runtime, "config.set", {"key": "ssot_cache_ttl_s", "value": 42, "reason": "why"})
    assert changed.result == {
        "key": "ssot_cache_ttl_s",
        "old": started,
        "new": 42,
        "source": "runtime",
    }
    assert runtime.settings.ssot_cache_ttl_s == 42
    assert _effective(runtime, "ssot_cache_ttl_s") == {
        "name": "ssot_cache_ttl_s",
        "value": 42,
        "source": "runtime",
        "settable": True,
    }
    back = run(runtime, "config.reset", {"key": "ssot_cache_ttl_s"}).result
    assert back["new"] == started
    assert runtime.settings.ssot_cache_ttl_s == started
    assert _effective(runtime, "ssot_cache_ttl_s")["source"] == "default"

    history = run(runtime, "config.history", {"key": "ssot_cache_ttl_s"}).result["entries"]
    assert [(entry["old_value"], entry["new_value"]) for entry in history] == [
        (42, None),
        (None, 42),
    ]
    assert history[1]["reason"] == "why"
    assert history[1]["changed_by"] == "alice"


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("ssot_cache_ttl_s", 0, "INVALID_SETTING"),
        ("action_rate_algorithm", "leaky_bucket", "INVALID_SETTING"),
        ("secret_key", "stolen", "SETTING_NOT_SETTABLE"),
        ("database_url", "sqlite://", "SETTING_NOT_SETTABLE"),
        ("action_ip_restrictions", {"job.cancel": ["not-a-network"]}, "INVALID_SETTING"),
    ],
)
def test_invalid_or_secret_values_are_refused(
    embedded_runtime: Runtime, key: str, value: object, code: str
) -> None:
    with pytest.raises(InvalidError) as refused:
        run(embedded_runtime, "config.set", {"key": key, "value": value})
    assert refused.value.code == code


def test_secrets_are_never_readable(runtime: Runtime) -> None:
    runtime.settings.signing_key()
    effective = run(runtime, "config.get").result["effective"]
    by_name = {item["name"]: item for item in effective}
    assert by_name["secret_key"]["settable"] is False
    assert by_name["secret_key"]["value"] in (None, "****")
    exported = run(runtime, "config.export").result["values"]
    assert "secret_key" not in exported
    assert "database_url" not in exported


def test_import_is_all_or_nothing_and_names_every_error(runtime: Runtime) -> None:
    document = {"ssot_cache_ttl_s": 0, "lockout_attempts": -1, "breaker_cooldown_s": 9}
    checked = run(runtime, "config.validate", {"document": document}).result
    assert checked["ok"] is False
    assert len(checked["errors"]) == 2
    with pytest.raises(InvalidError) as refused:
        run(runtime, "config.import", {"document": document})
    assert refused.value.code == "INVALID_CONFIG_DOCUMENT"
    assert "ssot_cache_ttl_s" in refused.value.message
    assert "lockout_attempts" in refused.value.message
    assert runtime.settings.breaker_cooldown_s != 9  # the valid one was not applied either

    exported = run(runtime, "config.export").result
    exported["values"]["breaker_cooldown_s"] = 9.0
    rehearsal = run(runtime, "config.import", {"document": exported, "dry_run": True}).result
    assert [change["key"] for change in rehearsal["changes"]] == ["breaker_cooldown_s"]
    assert runtime.settings.breaker_cooldown_s != 9
    run(runtime, "config.import", {"document": exported})
    assert runtime.settings.breaker_cooldown_s == 9


def _other_process(settings: Settings, make_runtime: Callable[[Settings], Runtime]) -> Runtime:
    """A second process: its own Settings object and runtime, following the bus."""
    return make_runtime(settings.model_copy(deep=True))


def _drain(runtime: Runtime, subscription: object, condition: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not condition() and time.monotonic() - started < APPLIED_WITHIN_S + 2:
        event = subscription.get(timeout_s=0.1)  # type: ignore[attr-defined]
        if event is not None:
            live.handle_change(runtime, event.payload)
    return time.monotonic() - started


def test_a_change_reaches_another_process_within_a_second(
    settings: Settings, runtime: Runtime, make_runtime: Callable[[Settings], Runtime]
) -> None:
    from agentos.services import events

    other = _other_process(settings, make_runtime)
    live.load(other)
    subscription = other.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        run(runtime, "config.set", {"key": "lockout_attempts", "value": 2})
        took = _drain(other, subscription, lambda: other.settings.lockout_attempts == 2)
    finally:
        subscription.close()  # type: ignore[attr-defined]
    assert other.settings.lockout_attempts == 2
    assert took <= APPLIED_WITHIN_S
    fresh = _other_process(settings, make_runtime)  # a process started later loads it
    live.load(fresh)
    assert fresh.settings.lockout_attempts == 2


@pytest.mark.parametrize("algorithm", ["sliding_window", "token_bucket", "fixed_window"])
def test_rate_policy_set_in_one_process_is_enforced_by_another(
    settings: Settings,
    runtime: Runtime,
    make_runtime: Callable[[Settings], Runtime],
    algorithm: str,
) -> None:
    from agentos.services import events

    prepare(runtime)
    other = _other_process(settings, make_runtime)
    subscription = other.backends.bus.subscribe(events.CHANGES_CHANNEL)
    try:
        result = run(
            runtime,
            "ratelimit.policy.set",
            {
                "scope": "dashboard.alert.ack_all",
                "limit": 2,
                "window_s": 60,
                "algorithm": algorithm,
            },
        ).result
        assert result["policy"]["algorithm"] == algorithm

        def applied() -> bool:
            found = other.settings.rate_limit_policies.get("dashboard.alert.ack_all")
            return found is not None and found.algorithm == algorithm

        took = _drain(other, subscription, applied)
    finally:
        subscription.close()  # type: ignore[attr-defined]
    assert applied()
    assert took <= APPLIED_WITHIN_S
    for _ in range(2):
        run(other, "dashboard.alert.ack_all")
    with pytest.raises(RateLimitedError) as limited:
        run(other, "dashboard.alert.ack_all")
    assert limited.value.limit == 2
    catalog = {item["name"]: item for item in _catalog(other)}
    assert catalog["dashboard.alert.ack_all"]["rate_limit"] == 2


def _catalog(runtime: Runtime) -> list[dict[str, object]]:
    from agentos.services.actions import registry

    return [item.model_dump() for item in registry.catalog(runtime.settings)]


def test_unknown_policy_scope_is_refused(embedded_runtime: Runtime) -> None:
    with pytest.raises(InvalidError) as refused:
        run(
            embedded_runtime,
            "ratelimit.policy.set",
            {"scope": "everything", "limit": 1, "window_s": 1},
        )
    assert refused.value.code == "UNKNOWN_SCOPE"
