"""A form that runs one admin action and stays open until it is done.

Each field may be checked as it is typed (a CIDR, say); what the pipeline refuses (an
invalid value, a name taken) is shown under the field it is about, and the form stays open
with what was typed, so it can be corrected and run again. Refusals about nothing typed
(a 403, a 429) go under the form. Escape closes it without running anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from agentos.errors import AgentOSError
from agentos.schemas.actions import ActionResponse
from agentos.tui import commands

if TYPE_CHECKING:
    from agentos.tui.actions import ActionRunner

Check = Callable[[str], str | None]  # what is wrong with the text, or None
Build = Callable[[dict[str, str]], dict[str, Any]]  # the typed text -> the action's payload


@dataclass(frozen=True)
class FormField:
    name: str  # the payload field it fills (errors about that field are shown under it)
    label: str
    value: str = ""
    placeholder: str = ""
    choices: tuple[str, ...] = ()  # a drop-down of these instead of a text box
    check: Check | None = None


def _about(exc: AgentOSError, names: Sequence[str]) -> tuple[str | None, str]:
    """Which field an error is about (if any) and what to say there."""
    named = exc.details.get("field")
    if isinstance(named, str) and named in names:
        return named, exc.message.removeprefix(f"{named}: ")
    for error in exc.details.get("errors") or []:
        where = [str(part) for part in error.get("loc", ()) if part != "payload"]
        if where and where[0] in names:
            return where[0], str(error.get("msg", exc.message))
    return None, exc.message


class FormScreen(ModalScreen[bool]):
    """Dismissed with True once the action is done, False when closed without it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        *,
        action: str,
        build: Build,
        note: str = "",
        error_field: str | None = None,
        after: Callable[[ActionResponse], None] | None = None,
    ) -> None:
        super().__init__(id="form")
        self.title_text = title
        self.fields = list(fields)
        self.action = action
        self.build = build
        self.note = note
        self.error_field = error_field  # where an invalid-value error about no field goes
        self.after = after
        self.busy = False
        self.closed = False

    @property
    def runner(self) -> ActionRunner:
        return cast("ActionRunner", self.app)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dim", markup=False)
            for field in self.fields:
                yield Label(field.label)
                if field.choices:
                    chosen = field.value if field.value in field.choices else field.choices[0]
                    yield Select(
                        [(choice, choice) for choice in field.choices],
                        value=chosen,
                        allow_blank=False,
                        id=f"field-{field.name}",
                    )
                else:
                    yield Input(
                        value=field.value, placeholder=field.placeholder, id=f"field-{field.name}"
                    )
                yield Static("", id=f"error-{field.name}", classes="field-error", markup=False)
            yield Static("", id="form-error", classes="field-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Run", variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        first = self.query("Input, Select")
        if first:
            first.first().focus()

    # -- values and errors -----------------------------------------------------------------

    def values(self) -> dict[str, str]:
        values = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            value = widget.value if isinstance(widget, Input | Select) else ""
            values[field.name] = "" if value is Select.NULL else str(value)
        return values

    def show_error(self, name: str | None, message: str) -> None:
        self.query_one(f"#error-{name}" if name else "#form-error", Static).update(message)

    def _check(self, field: FormField, text: str) -> str | None:
        problem = field.check(text) if field.check is not None else None
        self.show_error(field.name, problem or "")
        return problem

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        field = next((item for item in self.fields if item.name == name), None)
        if field is not None:
            self._check(field, event.value)

    # -- running ---------------------------------------------------------------------------

    def submit(self) -> None:
        if self.busy:
            return
        raw = self.values()
        problems = [self._check(field, raw[field.name]) for field in self.fields]
        self.show_error(None, "")
        if any(problems):
            return
        try:
            payload = self.build(raw)
        except AgentOSError as exc:
            self.failed(exc)
            return
        if self.runner.read_only:
            self.show_error(None, "read-only mode: actions are disabled")
            return
        self._busy(True)
        self.runner.run_admin_action(
            self.action, payload, after=self.done, failed=self.failed, declined=self.declined
        )

    def done(self, response: ActionResponse) -> None:
        if self.closed:
            return
        self.closed = True
        self.dismiss(True)
        if self.after is not None:
            self.after(response)

    def failed(self, exc: AgentOSError) -> None:
        if self.closed:
            return
        self._busy(False)
        name, message = _about(exc, [field.name for field in self.fields])
        if name is None and exc.kind == "invalid":
            name = self.error_field
        self.show_error(name, message if name else commands.describe_error(exc))

    def declined(self) -> None:
        if not self.closed:
            self._busy(False)
            self.show_error(None, "not run (not confirmed)")

    def _busy(self, busy: bool) -> None:
        self.busy = busy
        button = self.query_one("#run", Button)
        button.disabled = busy
        button.label = "Running…" if busy else "Run"

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.submit()
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.submit()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.closed = True
        self.dismiss(False)
