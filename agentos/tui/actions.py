"""The app's side of admin actions: every key, form, palette entry and `:` command runs its
action here, through the pipeline (`Source.run`) in a thread worker, with a confirmation
first for dangerous ones. A one-time secret in an answer (a new user's password, a new API
key) is shown once in its own dialog and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from agentos.errors import AgentOSError, InternalError
from agentos.schemas.actions import ActionInfo, ActionResponse
from agentos.tui import commands
from agentos.tui.screens.modals import ActionFormScreen, ConfirmScreen, SecretScreen
from agentos.tui.source import Source

READ_ONLY = "read-only mode: actions are disabled"


@dataclass(frozen=True)
class Then:
    """What runs on the UI thread once an action answered."""

    after: Callable[[ActionResponse], None] | None = None
    failed: Callable[[AgentOSError], None] | None = None
    declined: Callable[[], None] | None = None  # the confirmation was answered no


class ActionRunner(App[None]):
    source: Source
    read_only: bool
    catalog: list[ActionInfo]

    def changed_by_action(self, name: str) -> None:
        """`name` ran (or was tried on many rows): read again what it changed."""

    def run_admin_action(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        confirm: str | None = None,
        after: Callable[[ActionResponse], None] | None = None,
        failed: Callable[[AgentOSError], None] | None = None,
        declined: Callable[[], None] | None = None,
    ) -> None:
        """Run through the pipeline; dangerous actions (or `confirm`) ask first. `failed`
        gets the error (after the notification), e.g. to show it in the form that ran it;
        `declined` runs when the operator answers no (a form waiting for it stops waiting)."""
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        info = next((item for item in self.catalog if item.name == name), None)
        payload = dict(payload or {})
        then = Then(after, failed, declined)
        if (info is not None and info.dangerous) or confirm:
            message = confirm or f"Run {name} with {payload or 'no arguments'}?"
            if info is not None and info.dangerous:
                payload["confirm"] = True
            self.push_screen(
                ConfirmScreen(f"Confirm {name}", message),
                partial(self._confirmed, name, payload, then),
            )
            return
        self._start_action(name, payload, then)

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
        self.notify(commands.describe_error(exc), title=name, severity=severity)
        if then.failed is not None:
            then.failed(exc)

    def _action_done(self, response: ActionResponse, then: Then) -> None:
        self.notify(commands.describe(response), title=response.action)
        if then.after is not None:  # first: it may close the form that ran the action
            then.after(response)
        secret = commands.secret_of(response)
        if secret is not None:
            self.push_screen(SecretScreen(secret))
        self.changed_by_action(response.action)

    def run_bulk(self, name: str, payloads: list[dict[str, Any]], *, what: str) -> None:
        """One action over many rows: the count is shown before anything runs."""
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        message = f"{name} on {len(payloads)} {what}. Each runs through the action pipeline."
        self.push_screen(
            ConfirmScreen(f"{name} on {len(payloads)} rows", message),
            partial(self._bulk_confirmed, name, payloads),
        )

    def _bulk_confirmed(
        self, name: str, payloads: list[dict[str, Any]], answer: bool | None
    ) -> None:
        if answer:
            self.run_worker(
                partial(self._bulk_worker, name, payloads),
                thread=True,
                group="actions",
                exit_on_error=False,
            )

    def _bulk_worker(self, name: str, payloads: list[dict[str, Any]]) -> None:
        done, errors = 0, []
        for payload in payloads:
            try:
                self.source.run(name, payload)
                done += 1
            except AgentOSError as exc:
                errors.append(exc.message)
        severity = "information" if not errors else "warning"
        detail = f"; first error: {errors[0]}" if errors else ""
        self.call_from_thread(
            self.notify, f"{done}/{len(payloads)} done{detail}", title=name, severity=severity
        )
        self.call_from_thread(self.changed_by_action, name)

    def open_action_form(self, info: ActionInfo, prefill: dict[str, str] | None = None) -> None:
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        self.push_screen(
            ActionFormScreen(info, prefill=prefill),
            lambda payload: None if payload is None else self.run_admin_action(info.name, payload),
        )
