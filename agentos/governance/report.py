"""Running the rules, the score out of 10 in the seed's words, and the three formats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from agentos.governance import rules_api, rules_errors, rules_policy, rules_responses
from agentos.governance.model import CHECKLIST, RULES, Finding, Rule, Subject
from agentos.governance.rules_api import LIMIT, band

# Importing the rule modules registers their rules.
RULE_MODULES = (rules_api, rules_responses, rules_errors, rules_policy)
ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001 - the seed's icons


def wording(score: int) -> tuple[str, str]:
    """The seed's words for a score: 10/10 is its "HEALTHY"."""
    if score == len(CHECKLIST):
        return "HEALTHY", "✅"
    if score >= 8:
        return "CAUTION", "🟡"
    if score >= 5:
        return "WARNING", "⚠️"
    return "CRITICAL", "❌"


@dataclass
class Report:
    title: str
    operations: int
    rules: list[Rule]
    findings: list[Finding]

    def counted(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity and not f.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]

    def item_failed(self, item: int) -> bool:
        failing = {f.rule for f in self.counted("error")}
        return any(rule.item == item and rule.id in failing for rule in self.rules)

    @property
    def score(self) -> int:
        return sum(1 for item in CHECKLIST if not self.item_failed(item))

    @property
    def ok(self) -> bool:
        return not self.counted("error")

    def as_dict(self) -> dict[str, Any]:
        status, _ = wording(self.score)
        word, _ = band(self.operations)
        by_rule: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_rule.setdefault(finding.rule, []).append(finding)
        return {
            "title": self.title,
            "score": self.score,
            "max_score": len(CHECKLIST),
            "status": status,
            "ok": self.ok,
            "operations": self.operations,
            "limit": LIMIT,
            "band": word,
            "counts": {
                "error": len(self.counted("error")),
                "warning": len(self.counted("warning")),
                "info": len(self.counted("info")),
                "suppressed": len(self.suppressed),
            },
            "checklist": [
                {"item": item, "text": text, "passed": not self.item_failed(item)}
                for item, text in CHECKLIST.items()
            ],
            "rules": [
                {
                    "id": rule.id,
                    "title": rule.title,
                    "severity": rule.severity,
                    "item": rule.item,
                    "fix": rule.fix,
                    "passed": not any(
                        f.severity == "error" and not f.suppressed for f in by_rule.get(rule.id, [])
                    ),
                }
                for rule in self.rules
            ],
            "findings": [asdict(finding) for finding in self.findings],
        }


def run(subject: Subject, *, title: str, only: Iterable[str] | None = None) -> Report:
    chosen = [RULES[rule_id] for rule_id in (only or RULES)]
    findings = [finding for rule in chosen for finding in rule.run(subject)]
    return Report(title, len(subject.operations()), chosen, findings)


def headline(report: Report) -> list[str]:
    status, icon = wording(report.score)
    word, emoji = band(report.operations)
    return [
        f"Governance Score: {report.score}/{len(CHECKLIST)} {icon} {status}",
        f"Endpoints: {report.operations}/{LIMIT} {emoji} {word} "
        "(seed bands: 🟢 <40 healthy, 🟡 40-45 caution, ⚠️ 45-50 warning, ❌ >50 critical)",
    ]


def render_text(report: Report) -> str:
    lines = [f"🛡️  {report.title}", *headline(report), "", "Checklist:"]
    for item, text in CHECKLIST.items():
        lines.append(f"  [{' ' if report.item_failed(item) else 'x'}] {item}. {text}")
    counts = report.as_dict()["counts"]
    lines += [
        "",
        f"Rules: {len(report.rules)} checked; findings: {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['info']} info, "
        f"{counts['suppressed']} suppressed with a reason",
    ]
    for finding in report.findings:
        if finding.suppressed:
            continue
        lines.append(
            f"  {ICONS[finding.severity]} {finding.severity.upper():7} {finding.rule:28} "
            f"{finding.where}: {finding.message}"
        )
        lines.append(f"      fix: {finding.fix}")
    for finding in report.suppressed:
        lines.append(f"  ⏭️  SUPPRESSED {finding.rule} {finding.where}: {finding.suppressed}")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)


def render_markdown(report: Report) -> str:
    out = [f"# {report.title}", "", *(f"**{line}**  " for line in headline(report)), ""]
    out += ["## Checklist", ""]
    for item, text in CHECKLIST.items():
        out.append(f"- [{' ' if report.item_failed(item) else 'x'}] {text}")
    out += ["", "## Rules", "", "| id | severity | rule | result | fix |", "|---|---|---|---|---|"]
    for row in report.as_dict()["rules"]:
        result = "✅ pass" if row["passed"] else "❌ fail"
        out.append(
            f"| `{row['id']}` | {row['severity']} | {row['title']} | {result} | {row['fix']} |"
        )
    out += ["", "## Findings", ""]
    if not report.findings:
        out.append("None.")
    else:
        out += ["| severity | rule | where | finding | fix or reason |", "|---|---|---|---|---|"]
        for f in report.findings:
            severity = "suppressed" if f.suppressed else f.severity
            text = f.suppressed or f.fix
            out.append(f"| {severity} | `{f.rule}` | {f.where} | {f.message} | {text} |")
    return "\n".join(out) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
