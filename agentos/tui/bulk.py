"""One action over many rows (marked jobs, a failure group): each row runs through the
pipeline on its own, and the report says per row what became of it.

A 429 stops the run: the rows not yet run are reported with the limiter's retry time
(running them would only be refused again, each refusal audited). Plain; no Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentos.errors import AgentOSError, RateLimitedError
from agentos.schemas.actions import ActionResponse

Outcome = Literal["done", "refused", "rate_limited"]
OUTCOME_WORDS = {"done": "done", "refused": "refused", "rate_limited": "rate limited"}


@dataclass(frozen=True)
class BulkRow:
    key: str  # the row's key in its table (a job id)
    label: str  # how the question and the report name it
    payload: dict[str, Any]


@dataclass(frozen=True)
class RowResult:
    row: BulkRow
    outcome: Outcome
    detail: str = ""


@dataclass
class BulkReport:
    action: str
    results: list[RowResult] = field(default_factory=list)
    retry_after_s: float | None = None  # set when the limiter stopped the run

    @property
    def done(self) -> list[str]:
        return [item.row.key for item in self.results if item.outcome == "done"]

    @property
    def left(self) -> list[str]:
        """Rows not done (refused, rate limited): they stay marked."""
        return [item.row.key for item in self.results if item.outcome != "done"]

    def summary(self) -> str:
        total = len(self.results)
        text = f"{len(self.done)}/{total} done"
        refused = sum(1 for item in self.results if item.outcome == "refused")
        if refused:
            text += f", {refused} refused"
        if self.retry_after_s is not None:
            waiting = total - len(self.done) - refused
            text += f", {waiting} rate limited: try again in {self.retry_after_s:.0f} s"
        if self.left:
            text += " (those stay marked)"
        return text

    def lines(self) -> list[tuple[str, str, str]]:
        """(row, outcome, detail) per row, for the report dialog."""
        return [(item.row.label, OUTCOME_WORDS[item.outcome], item.detail) for item in self.results]


def run_rows(
    run: Callable[[str, dict[str, Any]], ActionResponse],
    name: str,
    rows: list[BulkRow],
    *,
    confirm: bool,
    describe: Callable[[AgentOSError], str],
) -> BulkReport:
    """Run `name` for each row in order (with confirm=true when it is dangerous: the
    operator answered the question for all of them)."""
    report = BulkReport(action=name)
    for index, row in enumerate(rows):
        payload = {**row.payload, "confirm": True} if confirm else dict(row.payload)
        try:
            run(name, payload)
        except RateLimitedError as exc:
            wait = max(1.0, exc.retry_after_s)
            report.retry_after_s = wait
            note = f"try again in {wait:.0f} s"
            report.results += [RowResult(rest, "rate_limited", note) for rest in rows[index:]]
            return report
        except AgentOSError as exc:
            report.results.append(RowResult(row, "refused", describe(exc)))
            continue
        report.results.append(RowResult(row, "done"))
    return report
