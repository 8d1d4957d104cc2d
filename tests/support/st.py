"""The schemathesis configuration shared by tests/server/test_schemathesis.py and
scripts/api_fuzz/run.sh: what OpenAPI cannot state about this API, said once.

- Unknown query parameters and headers are ignored, as HTTP APIs do (proxies and browsers
  add their own); OpenAPI has no way to say so, so they are not generated as invalid input.
- Opaque cursors (`cursor` on the lists, `before` in `logs.search`) are only ever values the
  server handed out: a valid request is generated without one (`OPAQUE`, `OPAQUE_QUERY`).
- Rules between fields are listed in the document (`x-cross-field-rules` on the schema
  they apply to); a request generated as valid honours them (`honours_cross_field_rules`).
- The rate limits are lifted, so the run measures behaviour rather than the limiter.
- Admin actions that take the deployment itself out of service for the rest of the run
  (maintenance, rate-limit policy and settings, allow-list, breakers, restore, reset) are
  sent as dry runs, or as `system.info`, when generated as valid requests
  (`DISRUPTIVE_ACTIONS`, `defuse`); their refusals are sent as generated. Every phase goes
  through `before_call`, so examples and coverage cases are defused too.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import schemathesis

from agentos.settings import Settings

# Per operation and phase; AGENTOS_TEST_ST_EXAMPLES=200 for a longer run by hand.
MAX_EXAMPLES = int(os.environ.get("AGENTOS_TEST_ST_EXAMPLES", "8"))
UNLIMITED = 1_000_000
TIERS = ("public", "user", "upload", "admin_read", "admin_action")


def unlimited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={f"ratelimit_{tier}_per_min": UNLIMITED for tier in TIERS}
        | {"ratelimit_burst_factor": 0}
    )


# Each would change how the server answers everything after it (503 for writes, 429s, 403
# for every admin call, open breakers, a wiped database): tested by their own tests.
DISRUPTIVE_ACTIONS = frozenset(
    {
        "system.maintenance.enable", "system.drain", "system.restore",
        "system.db.reset_and_seed", "system.circuit.trip", "ratelimit.policy.set",
        "config.set", "config.import", "config.reset", "ipallow.add", "worker.shutdown",
    }
)  # fmt: skip


# Those of them that take dry_run: true (report what would change, change nothing).
DRY_RUNS = frozenset(
    {"system.restore", "system.db.reset_and_seed", "system.circuit.trip", "worker.shutdown"}
)
HARMLESS = {"action": "system.info", "payload": {}}
# Opaque cursors: only a value the server answered is one (a made-up one is 422 BAD_CURSOR):
# in an action's payload, and the lists' `cursor` query parameter.
OPAQUE = {"logs.search": "before"}
OPAQUE_QUERY = ("cursor",)


def _negative(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_negative


IDEMPOTENCY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")


def defuse(case: Any) -> None:
    """A valid request for a disruptive action becomes its dry run, or `system.info`; its
    Idempotency-Key is its own (a key reused with another request is refused, 422, as the
    IETF draft says: keeping keys unique is the client's part)."""
    body = case.body
    if _negative(case):
        return
    for name in IDEMPOTENCY_HEADERS:
        if case.headers and name in case.headers:
            case.headers[name] = uuid.uuid4().hex
    for name in OPAQUE_QUERY:
        if isinstance(case.query, dict):
            case.query.pop(name, None)
    if not isinstance(body, dict):
        return
    payload = body.get("payload")
    if isinstance(payload, dict) and body.get("action") in OPAQUE:
        payload.pop(OPAQUE[body["action"]], None)
    if body.get("action") not in DISRUPTIVE_ACTIONS:
        return
    if body["action"] in DRY_RUNS and isinstance(payload, dict):
        payload["dry_run"] = True
        payload.pop("confirm", None)
    else:
        body.clear()
        body.update(HARMLESS)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    defuse(case)


def wanted(case: Any, components: dict[str, Any]) -> bool:
    """Whether to send a generated case (negative ones always are)."""
    if _negative(case):
        return True
    raw = case.operation.definition.raw.get("requestBody", {})
    media = raw.get("content", {}).get("application/json", {})
    return honours_cross_field_rules(case.body, media.get("schema", {}), components)


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = components.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
    return node


def _rule_holds(rule: dict[str, Any], value: dict[str, Any]) -> bool:
    if rule.get("rule") not in ("less-than", "not-greater"):
        return True
    low, high = (value.get(name) for name in rule["fields"])
    if rule.get("merged") and (low is None) != (high is None):
        return False  # one side merges with a stored value this run cannot see
    if low is None or high is None:
        return True
    return bool(low < high) if rule["rule"] == "less-than" else bool(low <= high)


def honours_cross_field_rules(value: Any, schema: Any, components: dict[str, Any]) -> bool:
    """Whether `value` keeps every `x-cross-field-rules` of `schema` and its parts."""
    schema = _resolve(schema, components)
    if not isinstance(schema, dict):
        return True
    if isinstance(value, dict):
        if not all(_rule_holds(rule, value) for rule in schema.get("x-cross-field-rules", [])):
            return False
        for name, part in schema.get("properties", {}).items():
            if name in value and not honours_cross_field_rules(value[name], part, components):
                return False
    if isinstance(value, list) and "items" in schema:
        return all(honours_cross_field_rules(item, schema["items"], components) for item in value)
    for key in ("oneOf", "anyOf", "allOf"):
        for part in schema.get(key, []):
            if not honours_cross_field_rules(value, part, components):
                return False
    return True


def configure(schema: Any, headers: dict[str, str]) -> Any:
    schema.config.update(headers=headers)
    schema.config.generation.allow_extra_parameters = False
    components = schema.raw_schema.get("components", {}).get("schemas", {})

    @schema.hook
    def filter_case(context: Any, case: Any) -> bool:
        return wanted(case, components)

    return schema


__all__ = ["configure", "honours_cross_field_rules", "schemathesis", "unlimited", "wanted"]
