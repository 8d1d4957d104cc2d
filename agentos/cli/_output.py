"""Everything the CLI prints: --json, colours, one-line errors, exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from agentos.errors import AgentOSError

EXIT_CODE_BY_KIND: dict[str, int] = {
    "invalid": 2,
    "not_found": 3,
    "conflict": 4,
    "unauthenticated": 5,
    "forbidden": 5,
    "rate_limited": 6,
    "unavailable": 7,
    "internal": 1,
}

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, *, kind: str = "invalid") -> NoReturn:
    # soft_wrap: one line whatever the terminal's width (scripts grep it).
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_CODE_BY_KIND.get(kind, 1))


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn core errors into one line on stderr and the error table's exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AgentOSError as error:
            fail(f"{error.message} ({error.code})", kind=error.kind)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, header_style="bold")
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*("" if cell is None else str(cell) for cell in row))
    return result


def emit(value: Any, *, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `value` as JSON for scripts, or through `render` for people."""
    if as_json:
        print_json(value)
    else:
        render(value)
