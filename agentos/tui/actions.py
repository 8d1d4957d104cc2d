"""The app's side of admin actions: every key, form, palette entry and `:` command runs its
action here, through the pipeline (`Source.run`) in a thread worker, with a confirmation
first for dangerous ones. The confirmation says in words what will happen; when the
action has a dry run, that runs first, so a refusal (deleting a job still processing)
shows instead of the question and the question says what would change. A one-time secret
in an answer (a new user's password, a new API key) is shown once in its own dialog and
nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from agentos.errors import AgentOSError, InternalError
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.tui import commands, wording
from agentos.tui.bulk import BulkReport, BulkRow, run_rows
from agentos.tui.screens.modals import ActionFormScreen, ConfirmScreen, SecretScreen
from agentos.tui.screens.reports import BulkReportScreen
from agentos.tui.source import Source

READ_ONLY = "read-only mode: actions are disabled"


@dataclass(frozen=True)
class Then:
    """What runs on the UI thread once an action answered."""

    after: Callable[[ActionResponse], None] | None = None
    failed: Callable[[AgentOSError], None] | None = None
    declined: Callable[[], None] | None = None  # the confirmation was answered no


@dataclass(frozen=True)
class Ask:
    """A confirmation to show before running: its title, question and whether the
    action's dry run runs first (its answer is added to the question)."""

    title: str
    question: str
    rehearse: bool


def has_dry_run(info: ActionInfo | None) -> bool:
    return info is not None and "dry_run" in info.payload_schema.get("properties", {})


class ActionRunner(App[None]):
    source: Source
    read_only: bool
    catalog: list[ActionInfo]

    def changed_by_action(self, name: str) -> None:
        """`name` ran (or was tried on many rows): read again what it changed."""

    def info_of(self, name: str) -> ActionInfo | None:
        return next((item for item in self.catalog if item.name == name), None)

    def run_admin_action(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        confirm: str | None = None,
        subject: str | None = None,
        rehearse: bool = True,
        after: Callable[[ActionResponse], None] | None = None,
        failed: Callable[[AgentOSError], None] | None = None,
        declined: Callable[[], None] | None = None,
    ) -> None:
        """Run through the pipeline; dangerous actions (or `confirm`, the question in
        words) ask first, after their dry run unless `rehearse` is False (the view showed
        its own preview). `subject` names what it acts on ("job 2a9206f7 clip.mp4").
        `failed` gets the error (after the notification), e.g. to show it in the form that
        ran it; `declined` runs when the operator answers no or the dry run refuses."""
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        info = self.info_of(name)
        payload = dict(payload or {})
        then = Then(after, failed, declined)
        dangerous = info is not None and info.dangerous
        if not (dangerous or confirm):
            self._start_action(name, payload, then)
            return
        if dangerous:
            payload["confirm"] = True
        ask = Ask(
            title=f"Confirm {name}",
            question=confirm or wording.question(info, name, payload, subject),
            rehearse=rehearse and has_dry_run(info) and not payload.get("dry_run"),
        )
        if ask.rehearse:
            self.run_worker(
                partial(self._rehearse_worker, name, payload, ask, then),
                thread=True,
                group="actions",
                exit_on_error=False,
            )
        else:
            self._ask(name, payload, ask, then, None)

    def _rehearse_worker(self, name: str, payload: dict[str, Any], ask: Ask, then: Then) -> None:
        rehearsal = {key: value for key, value in payload.items() if key != "confirm"}
        try:
            response = self.source.run(name, {**rehearsal, "dry_run": True})
        except AgentOSError as exc:
            self.call_from_thread(self._refused_in_rehearsal, name, exc, then)
            return
        except Exception as exc:  # a bug must not leave a form waiting forever
            error = InternalError(f"{type(exc).__name__}: {exc}", code="TUI_UNEXPECTED")
            self.call_from_thread(self._refused_in_rehearsal, name, error, then)
            return
        self.call_from_thread(
            self._ask, name, payload, ask, then, wording.rehearsed(response.result)
        )

    def _refused_in_rehearsal(self, name: str, exc: AgentOSError, then: Then) -> None:
        self.notify(
            f"not asked, its dry run was refused: {commands.describe_error(exc)}",
            title=name,
            severity="warning" if exc.kind == "rate_limited" else "error",
            markup=False,
        )
        if then.failed is not None:
            then.failed(exc)

    def _ask(
        self, name: str, payload: dict[str, Any], ask: Ask, then: Then, rehearsed: str | None
    ) -> None:
        message = ask.question + (f"\n\n{rehearsed}" if rehearsed else "")
        self.push_screen(
            ConfirmScreen(ask.title, message), partial(self._confirmed, name, payload, then)
        )

    def _confirmed(
        self, name: str, payload: dict[str, Any], then: Then, answer: bool | None
    ) -> None:
        if answer:
            self._start_action(name, payload, then)
            return
        self.notify(f"{name} not run", severity="information")
        if then.declined is not None:
            then.declined()

    def _start_action(self, name: str, payload: dict[str, Any], then: Then) -> None:
        self.run_worker(
            partial(self._action_worker, name, payload, then),
            thread=True,
            group="actions",
            exit_on_error=False,
        )

    def _action_worker(self, name: str, payload: dict[str, Any], then: Then) -> None:
        try:
            response = self.source.run(name, payload)
        except AgentOSError as exc:
            self.call_from_thread(self._action_failed, name, exc, then)
            return
        except Exception as exc:  # a bug must not leave a form waiting forever
            error = InternalError(f"{type(exc).__name__}: {exc}", code="TUI_UNEXPECTED")
            self.call_from_thread(self._action_failed, name, error, then)
            return
        self.call_from_thread(self._action_done, response, then)

    def _action_failed(self, name: str, exc: AgentOSError, then: Then) -> None:
        severity: SeverityLevel = "warning" if exc.kind == "rate_limited" else "error"
        self.notify(commands.describe_error(exc), title=name, severity=severity, markup=False)
        if then.failed is not None:
            then.failed(exc)

    def _action_done(self, response: ActionResponse, then: Then) -> None:
        severity: SeverityLevel = (
            "warning" if response.dry_run or response.replayed else "information"
        )
        self.notify(wording.done(response), title=response.action, severity=severity, markup=False)
        if then.after is not None:  # first: it may close the form that ran the action
            then.after(response)
        secret = commands.secret_of(response)
        if secret is not None:
            self.push_screen(SecretScreen(secret))
        self.changed_by_action(response.action)

    # -- many rows ---------------------------------------------------------------------------

    def run_bulk(
        self,
        name: str,
        rows: list[BulkRow],
        *,
        noun: str,
        finished: Callable[[BulkReport], None] | None = None,
        declined: Callable[[], None] | None = None,
    ) -> None:
        """One action over many rows: the question lists them before anything runs; each
        runs on its own (confirmed when dangerous); `finished` gets the per-row report
        (the view unmarks the rows done), which is also shown when any row was not done."""
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        info = self.info_of(name)
        message = wording.bulk_question(name, info, [row.label for row in rows], noun)
        self.push_screen(
            ConfirmScreen(f"{name} on {len(rows)} {noun}", message),
            partial(self._bulk_confirmed, name, rows, finished, declined),
        )

    def _bulk_confirmed(
        self,
        name: str,
        rows: list[BulkRow],
        finished: Callable[[BulkReport], None] | None,
        declined: Callable[[], None] | None,
        answer: bool | None,
    ) -> None:
        if not answer:
            self.notify(f"{name} not run; the marks stay", severity="information")
            if declined is not None:
                declined()
            return
        info = self.info_of(name)
        self.run_worker(
            partial(self._bulk_worker, name, rows, info is not None and info.dangerous, finished),
            thread=True,
            group="actions",
            exit_on_error=False,
        )

    def _bulk_worker(
        self,
        name: str,
        rows: list[BulkRow],
        dangerous: bool,
        finished: Callable[[BulkReport], None] | None,
    ) -> None:
        report = run_rows(
            self.source.run, name, rows, confirm=dangerous, describe=commands.describe_error
        )
        self.call_from_thread(self._bulk_done, report, finished)

    def _bulk_done(self, report: BulkReport, finished: Callable[[BulkReport], None] | None) -> None:
        severity: SeverityLevel = "information" if not report.left else "warning"
        self.notify(report.summary(), title=report.action, severity=severity, markup=False)
        if finished is not None:
            finished(report)
        if report.left:
            self.push_screen(BulkReportScreen(report))
        self.changed_by_action(report.action)

    def open_action_form(
        self,
        info: ActionInfo,
        prefill: dict[str, str] | None = None,
        *,
        chosen: frozenset[str] = frozenset(),
    ) -> None:
        """The action's form; `chosen` names the fields prefilled from the selected row
        (labelled so, never taken silently)."""
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        self.push_screen(
            ActionFormScreen(info, prefill=prefill, chosen=chosen),
            lambda payload: None if payload is None else self.run_admin_action(info.name, payload),
        )
