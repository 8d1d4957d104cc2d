"""Dialogs: confirmation (blocks a dangerous action until answered), prompts, action
forms built from payload models, the help screen and the `:` command line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static

from agentos.errors import InvalidError
from agentos.schemas.actions import ActionInfo
from agentos.tui.widgets import form


class ConfirmScreen(ModalScreen[bool]):
    """Nothing runs until the operator answers; `y` confirms, `n` or Escape cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(id="confirm")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger"):
            yield Label(self.title_text, classes="dialog-title")
            # Plain text: messages quote paths, labels and payloads, never markup. A long
            # list of marked rows scrolls; the buttons stay in view.
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self.message, id="confirm-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes, run it (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(id="prompt")
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_whole_number(
    app: App[Any],
    question: str,
    then: Callable[[int], None],
    *,
    value: str = "",
    placeholder: str = "",
) -> None:
    """Prompt for a whole number; `then(number)` runs only when one was typed (anything else
    is an error notification, Escape does nothing)."""

    def answered(text: str | None) -> None:
        if text is None:
            return
        try:
            number = int(text)
        except ValueError:
            app.notify(f"not a whole number: {text!r}", severity="error")
            return
        then(number)

    app.push_screen(PromptScreen(question, value=value, placeholder=placeholder), answered)


class ActionFormScreen(ModalScreen[dict[str, Any] | None]):
    """One input per payload field, required ones first (`reason` last); focus starts on
    the first required field left empty. Values taken from the selected row (`chosen`)
    say so. Enter in the last field (or Run) submits."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        info: ActionInfo,
        *,
        prefill: dict[str, str] | None = None,
        chosen: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(id="action-form")
        self.info = info
        self.fields = form.ordered(form.fields_of(info.payload_schema))
        self.prefill = prefill or {}
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            danger = " (dangerous: asks to confirm)" if self.info.dangerous else ""
            yield Label(f"{self.info.name}{danger}", classes="dialog-title")
            yield Static(self.info.summary, classes="dim")
            for field in self.fields:
                origin = " (from the selected row)" if field.name in self.chosen else ""
                yield Label(f"{field.name}{' *' if field.required else ''}{origin}")
                value = self.prefill.get(field.name, "")
                yield Input(value=value, placeholder=field.hint, id=f"field-{field.name}")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Run", variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        empty = [
            field.name
            for field in self.fields
            if field.required and not self.prefill.get(field.name, "").strip()
        ]
        inputs = list(self.query(Input))
        if empty:
            self.query_one(f"#field-{empty[0]}", Input).focus()
        elif inputs:
            inputs[0].focus()
        else:
            self.query_one("#run", Button).focus()

    def _submit(self) -> None:
        raw = {
            field.name: self.query_one(f"#field-{field.name}", Input).value for field in self.fields
        }
        try:
            payload = form.parse(self.fields, raw)
        except InvalidError as exc:
            self.query_one("#form-error", Static).update(f"[red]{exc.message}[/]")
            return
        self.dismiss(payload)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._submit()
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Secret:
    title: str
    value: str
    note: str


class SecretScreen(ModalScreen[None]):
    """A secret the server shows once (a one-time password, an API key): here, and nowhere
    else (not in a notification, not kept by the app once this closes)."""

    BINDINGS = [
        Binding("c", "copy", "Copy"),
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close"),
    ]

    def __init__(self, secret: Secret) -> None:
        super().__init__(id="secret")
        self.secret = secret

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.secret.title, classes="dialog-title")
            yield Static(self.secret.value, id="secret-value", markup=False)
            yield Static(self.secret.note, id="secret-note", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("I have stored it (⏎)", variant="primary", id="done")
                yield Button("Copy (c)", id="copy")

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.secret.value)
        self.notify("copied to the clipboard (if the terminal allows it)")

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few values (Enter); the current one is highlighted, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        question: str,
        choices: Sequence[str],
        *,
        current: str = "",
        screen_id: str = "choice",  # another, when one choice leads straight to the next
    ) -> None:
        super().__init__(id=screen_id)
        self.question = question
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            yield OptionList(
                *[
                    f"{choice} (now)" if choice == self.current else choice
                    for choice in self.choices
                ],
                id="choices",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.choices:
            options.highlighted = self.choices.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close"),
        Binding("q", "close", "Close"),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str]], notes: list[str]) -> None:
        super().__init__(id="help")
        self.title_text = title
        self.rows = rows
        self.notes = notes

    def compose(self) -> ComposeResult:
        # Sized to the terminal (80x24 too): the key table scrolls (↑/↓), the notes stay.
        with Vertical(classes="dialog wide help", id="help-dialog"):
            yield Label(
                f"Keys — {self.title_text} (↑/↓ scroll, Esc closes)", classes="dialog-title"
            )
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static("\n".join(self.notes), classes="dim", id="help-notes", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does")
        for key, description in self.rows:
            table.add_row(key, description)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class CommandLineScreen(ModalScreen[str | None]):
    """`:` as in k9s: a view name or number, or an action with key=value arguments."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="jobs | 2 | job.cancel be1ce8cf | job.set_priority job_id=be1c priority=5 | help",
            id="command-input",
        )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
