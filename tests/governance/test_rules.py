"""`agentos governance check`: the project passes every rule (10/10), and a document or
app with one planted violation of a rule is caught by that rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentos.governance import report
from agentos.governance.model import CHECKLIST, RULES, Subject

Planter = Callable[[Subject], None]


def op(subject: Subject, key: str) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    found: dict[str, Any] = subject.spec["paths"][path][method.lower()]
    return found


def add_op(subject: Subject, key: str, like: str, **changes: Any) -> dict[str, Any]:
    """A new operation at `key`, a copy of `like` (so only its path/method is wrong)."""
    method, path = key.split(" ", 1)
    copied = {**copy.deepcopy(op(subject, like)), **changes}
    copied.pop("x-governance-suppress", None)
    subject.spec["paths"].setdefault(path, {})[method.lower()] = copied
    return copied


def _budget(s: Subject) -> None:
    for index in range(60 - len(s.operations())):
        add_op(s, f"GET /api/extra-{index}", "GET /api/queue/status")


def _undocumented_route(s: Subject) -> None:
    app = copy.copy(s.app)
    app.router = copy.copy(s.app.router)
    app.router.routes = list(s.app.router.routes)
    app.add_api_route("/api/secret-report", lambda: {}, include_in_schema=False)
    s.app = app


def _stale_listing(s: Subject) -> None:
    s.spec["x-undocumented-routes"].append({"path": "/api/gone", "reason": "was here"})


def _no_summary(s: Subject) -> None:
    op(s, "GET /api/queue/stats").pop("summary")


def _no_tag(s: Subject) -> None:
    op(s, "GET /api/queue/stats")["tags"] = []


def _undeclared_tag(s: Subject) -> None:
    op(s, "GET /api/queue/stats")["tags"] = ["Mystery"]


def _camel_segment(s: Subject) -> None:
    add_op(s, "GET /api/queue/queueStats", "GET /api/queue/stats")


def _verb(s: Subject) -> None:
    add_op(s, "POST /api/jobs/{job_id}/delete", "POST /api/jobs/{job_id}/cancel")


def _state_changing_get(s: Subject) -> None:
    add_op(s, "GET /api/jobs/{job_id}/retry-now", "GET /api/jobs/{job_id}")


def _get_body(s: Subject) -> None:
    op(s, "GET /api/queue/stats")["requestBody"] = op(s, "POST /api/jobs/create")["requestBody"]


def _bare_success(s: Subject) -> None:
    content = op(s, "GET /api/queue/stats")["responses"]["200"]["content"]["application/json"]
    content["schema"] = {"$ref": "#/components/schemas/QueueStats"}
    content.pop("example", None)


def _fastapi_422(s: Subject) -> None:
    s.spec["components"]["schemas"]["HTTPValidationError"] = {
        "type": "object",
        "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
    }
    answer = op(s, "GET /api/jobs/{job_id}")["responses"]["422"]
    answer["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/HTTPValidationError"
    }


def _no_404(s: Subject) -> None:
    op(s, "GET /api/jobs/{job_id}")["responses"].pop("404")


def _codes_without_meaning(s: Subject) -> None:
    answer = op(s, "POST /api/jobs/{job_id}/cancel")["responses"]["409"]
    answer["content"]["application/json"].pop("examples")


def _unknown_code(s: Subject) -> None:
    answer = op(s, "POST /api/jobs/{job_id}/cancel")["responses"]["409"]
    examples = answer["content"]["application/json"]["examples"]
    examples["NOT_A_CODE"] = {"summary": "?", "value": {"error_code": "NOT_A_CODE"}}


def _no_catalog(s: Subject) -> None:
    s.spec.pop("x-error-codes")


def _undocumented_code(s: Subject) -> None:
    answer = op(s, "POST /api/upload/finalize")["responses"]["409"]
    answer["content"]["application/json"]["examples"].pop("UPLOAD_INCOMPLETE")


def _no_example(s: Subject) -> None:
    op(s, "GET /api/queue/stats")["responses"]["200"]["content"]["application/json"].pop("example")


def _bad_example(s: Subject) -> None:
    content = op(s, "GET /api/queue/stats")["responses"]["200"]["content"]["application/json"]
    content["example"] = {"success": "yes", "data": None}


def _no_tier(s: Subject) -> None:
    op(s, "GET /api/queue/stats").pop("x-rate-limit")


def _429_without_headers(s: Subject) -> None:
    op(s, "GET /api/queue/stats")["responses"]["429"].pop("headers")


def _admin_read_outside_ssot(s: Subject) -> None:
    add_op(s, "GET /api/admin/users", "GET /api/admin/ssot/managers")


def _admin_write_outside_action(s: Subject) -> None:
    add_op(s, "POST /api/admin/users/{user_id}/disable", "POST /api/agents/{agent_id}/stop")


def _no_security(s: Subject) -> None:
    op(s, "GET /api/jobs/today").pop("security")


class _StripSecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, value)
                    for name, value in message["headers"]
                    if name not in (b"x-content-type-options", b"content-security-policy")
                ]
            await send(message)

        await self.app(scope, receive, strip)


def _no_security_headers(s: Subject) -> None:
    s.app = _StripSecurityHeaders(s.app)  # type: ignore[assignment]


def _versioned_path(s: Subject) -> None:
    add_op(s, "GET /api/v2/queue/stats", "GET /api/queue/stats")


def _past_sunset(s: Subject) -> None:
    yesterday = date.today() - timedelta(days=1)
    s.spec["x-deprecations"][0]["since"] = (yesterday - timedelta(days=30)).isoformat()
    s.spec["x-deprecations"][0]["sunset"] = yesterday.isoformat()


PLANTED: dict[str, Planter] = {
    "inventory.budget": _budget,
    "inventory.documented": _undocumented_route,
    "inventory.stale-undocumented": _stale_listing,
    "inventory.summary": _no_summary,
    "tags.present": _no_tag,
    "tags.declared": _undeclared_tag,
    "naming.kebab-case": _camel_segment,
    "naming.no-verbs": _verb,
    "methods.safe-get": _state_changing_get,
    "methods.no-get-body": _get_body,
    "envelope.success": _bare_success,
    "envelope.error": _fastapi_422,
    "status.documented": _no_404,
    "errors.meanings": _codes_without_meaning,
    "errors.catalog": _no_catalog,
    "errors.documented": _undocumented_code,
    "examples.present": _no_example,
    "examples.valid": _bad_example,
    "ratelimit.tier": _no_tier,
    "ratelimit.429": _429_without_headers,
    "admin.ssot-only": _admin_read_outside_ssot,
    "admin.action-only": _admin_write_outside_action,
    "security.scheme": _no_security,
    "security.headers": _no_security_headers,
    "version.policy": _versioned_path,
    "version.deprecation": _past_sunset,
}


def test_every_rule_has_a_planted_violation() -> None:
    assert set(PLANTED) == set(RULES)


def test_every_rule_has_an_id_severity_fix_and_checklist_item() -> None:
    for rule_id, found in RULES.items():
        assert found.id == rule_id
        assert "." in rule_id
        assert found.severity in ("error", "warning", "info")
        assert found.fix.strip()
        assert "\n" not in found.fix
        assert found.item in CHECKLIST


def test_the_project_passes_with_ten_out_of_ten(project: Subject) -> None:
    result = report.run(project, title="AgentOS")
    errors = [f"{f.rule} {f.where}: {f.message}" for f in result.counted("error")]
    assert errors == []
    assert result.score == 10
    assert "10/10 ✅ HEALTHY" in report.render_text(result)


@pytest.mark.parametrize("rule_id", sorted(PLANTED))
def test_a_planted_violation_is_caught_by_its_rule(planted: Subject, rule_id: str) -> None:
    clean = list(RULES[rule_id].run(planted))
    assert [f for f in clean if not f.suppressed and f.severity == "error"] == []
    PLANTED[rule_id](planted)
    caught = [f for f in RULES[rule_id].run(planted) if not f.suppressed]
    assert caught, f"{rule_id} missed its planted violation"
    assert all(f.rule == rule_id and f.fix for f in caught)


def test_a_planted_error_fails_the_check_and_lowers_the_score(planted: Subject) -> None:
    _no_security(planted)
    result = report.run(planted, title="AgentOS")
    assert not result.ok
    assert result.score == 9
    document = report.render_json(result)
    assert '"score": 9' in document
    assert '"ok": false' in document
    assert "| `security.scheme` | error |" in report.render_markdown(result)


def test_suppression_needs_the_reason_in_the_document(planted: Subject) -> None:
    operation = op(planted, "POST /api/jobs/create")
    assert "naming.no-verbs" in operation["x-governance-suppress"]
    operation.pop("x-governance-suppress")
    caught = [f for f in RULES["naming.no-verbs"].run(planted) if not f.suppressed]
    assert [f.where for f in caught] == ["POST /api/jobs/create"]
