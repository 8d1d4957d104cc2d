"""The root command group: commands are imported when used, help and completion stay
light, and errors print as one line (or JSON with --json).

`agentos --help` and shell completion (which runs the program on every Tab) list the
commands from a table of names and one-line helps, without importing any command's
module; a command's module (and the client, pydantic, SQLAlchemy... behind it) is
imported only when that command runs or its own help is asked for.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer import core as typer_core

from agentos.cli._output import err_console, error_document, print_json


@dataclass(frozen=True)
class Lazy:
    """A command listed by name and imported when used: `target` is "module:attribute",
    a `typer.Typer` (a group, or one command)."""

    target: str
    help: str
    panel: str


class LazyGroup(typer_core.TyperGroup):
    """A `TyperGroup` whose commands (`lazy`, set by a subclass) load on first use."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = 0

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.lazy, *(name for name in self.commands if name not in self.lazy)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        spec = self.lazy.get(cmd_name)
        if command is not None or spec is None:
            return command
        if self._listing:  # help and completion need the name and the help only
            return typer_core.TyperCommand(cmd_name, help=spec.help, rich_help_panel=spec.panel)
        command = load(spec.target, cmd_name)
        command.rich_help_panel = spec.panel
        self.commands[cmd_name] = command
        return command

    @contextmanager
    def _stubs(self) -> Iterator[None]:
        self._listing += 1
        try:
            yield
        finally:
            self._listing -= 1

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self._stubs():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        with self._stubs():
            return super().shell_complete(ctx, incomplete)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except typer.TyperException as error:
            matches = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                named = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {named}?"
            raise

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Typer's main, with usage errors as one plain line when stderr is not a
        terminal, and as the JSON error document on stdout under --json."""
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(
                args=argv,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except typer.TyperException as error:
            if not standalone_mode:
                raise
            show_usage_error(error, as_json=wants_json(argv))
            sys.exit(error.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            err_console.print("aborted")
            sys.exit(1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def load(target: str, name: str) -> Any:
    module_name, _, attribute = target.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)
    command = typer.main.get_command(app)
    command.name = name
    return command


def wants_json(argv: Sequence[str]) -> bool:
    words = list(argv)
    if "--" in words:
        words = words[: words.index("--")]
    return "--json" in words or "--jsonl" in words


def show_usage_error(error: Any, *, as_json: bool) -> None:
    if type(error).__name__ == "NoArgsIsHelpError":  # the help was printed already
        return
    message = error.format_message()
    ctx = getattr(error, "ctx", None)
    if as_json:
        document = error_document(message, kind="invalid", code="USAGE_ERROR")
        document["exit_code"] = error.exit_code
        print_json(document)
        return
    if err_console.is_terminal:
        from typer import rich_utils

        rich_utils.rich_format_error(error)
        return
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    err_console.print(f"error: {message}{hint}", markup=False, highlight=False)


def _plain_type(shown: str | None) -> str | None:
    """Value types in people's words: TEXT, not the Python type `<str>`."""
    return {"<str>": "TEXT", "<list[str]>": "TEXT..."}.get(shown or "", shown)


def _option_type(self: Any, ctx: Any) -> str | None:
    """A flag takes no value, so its help shows none (`--wait`, not `--wait <bool>`)."""
    if self.is_flag and self.metavar is None:
        return None
    return _plain_type(_typer_option_type(self, ctx))


def _argument_type(self: Any, ctx: Any) -> str | None:
    return _plain_type(_typer_argument_type(self, ctx))


_typer_option_type = typer_core.TyperOption.display_type_rich
_typer_argument_type = typer_core.TyperArgument.display_type_rich
setattr(typer_core.TyperOption, "display_type_rich", _option_type)  # noqa: B010
setattr(typer_core.TyperArgument, "display_type_rich", _argument_type)  # noqa: B010
