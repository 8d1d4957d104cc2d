"""Everything the CLI prints: --json, colours, one-line errors, exit codes, short ids.

Kept light (no pydantic, no client): `agentos --help` and shell completion import it.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agentos.errors import ERROR_CLASS_BY_KIND, EXIT_CODE_BY_KIND, AgentOSError, RateLimitedError

# EXIT_CODE_BY_KIND (the exit code per error kind) lives beside the kinds in agentos.errors,
# so the error catalog (docs/errors.md, OpenAPI) shows the same codes the CLI exits with.
# What each exit code means, for `agentos --help` and the README (keep them in step).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (1, "internal error, or the command's check failed (db check, jobs submit --wait)"),
    (2, "invalid input or usage (bad option, bad payload, unknown action)"),
    (3, "not found (job, user, backup, action target)"),
    (4, "conflict (wrong state for this, or a question answered no)"),
    (5, "not logged in, token refused, or not allowed (role, IP allow-list)"),
    (6, "rate limited: the message says when to retry"),
    (7, "unavailable: database, Redis or server unreachable, not migrated, maintenance"),
    (130, "interrupted (Ctrl-C)"),
)
# Piped output is laid out this wide: tables keep their natural width instead of being
# squeezed (and ids cut) to a guessed 80 columns.
PIPE_WIDTH = 512
SHORT_ID = 8

P = ParamSpec("P")
R = TypeVar("R")


class _Console(Console):
    """A console that is wide when it does not write to a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(max(size.width, PIPE_WIDTH), size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _Console()
# Messages on stderr are never hard-wrapped: `grep` sees one line per message.
err_console = _Console(stderr=True, soft_wrap=True)
# --json (or --jsonl) on the running command: its errors are JSON on stdout too ("json",
# or one line for "jsonl"); None: a line on stderr.
_json_errors: ContextVar[str | None] = ContextVar("agentos_cli_json_errors", default=None)
# Whether the running command printed its JSON answer already: a failure found after that
# (a verification that failed) leaves the answer as stdout's one document.
_json_written: ContextVar[bool] = ContextVar("agentos_cli_json_written", default=False)


def to_jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model (not imported here)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")
    sys.stdout.flush()
    _json_written.set(True)


def error_document(
    message: str, *, kind: str, code: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The server's error envelope, with the exit code the CLI leaves with."""
    cls = ERROR_CLASS_BY_KIND.get(kind)
    document: dict[str, Any] = {
        "success": False,
        "error": message,
        "error_code": code or (cls.default_code if cls else "INTERNAL_ERROR"),
        "kind": kind,
        "exit_code": EXIT_CODE_BY_KIND.get(kind, 1),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    if details:
        document["details"] = to_jsonable(details)
    return document


def fail(
    message: str,
    *,
    kind: str = "invalid",
    code: str | None = None,
    details: dict[str, Any] | None = None,
) -> NoReturn:
    """Print one error (a line on stderr, or JSON on stdout under --json) and exit with
    the error table's code. `message` is plain text (never read as markup)."""
    mode = _json_errors.get()
    if mode is not None:
        if not _json_written.get():
            document = error_document(message, kind=kind, code=code, details=details)
            if mode == "jsonl":
                sys.stdout.write(json.dumps(document, default=str) + "\n")
                sys.stdout.flush()
            else:
                print_json(document)
    else:
        err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_CODE_BY_KIND.get(kind, 1))


def retry_hint(retry_after_s: float, *, now: datetime | None = None) -> str:
    """`retry in 12 s (at 14:03:27 UTC)`."""
    seconds = max(1, round(retry_after_s))
    at = (now or datetime.now(UTC)) + timedelta(seconds=seconds)
    return f"retry in {seconds} s (at {at:%H:%M:%S} UTC)"


def describe_error(error: AgentOSError, *, with_code: bool = True) -> str:
    text = error.message
    if isinstance(error, RateLimitedError):
        text += f"; {retry_hint(error.retry_after_s)}"
    return f"{text} ({error.code})" if with_code else text


def fail_with(error: AgentOSError) -> NoReturn:
    """`fail` for a core error: the code in the line (JSON has its own field), and a rate
    limit's wait in both."""
    details = dict(error.details)
    if isinstance(error, RateLimitedError):
        details["retry_after_s"] = error.retry_after_s
    message = describe_error(error, with_code=_json_errors.get() is None)
    fail(message, kind=error.kind, code=error.code, details=details)


@contextmanager
def json_errors(mode: str | None) -> Iterator[None]:
    token, written = _json_errors.set(mode), _json_written.set(False)
    try:
        yield
    finally:
        _json_errors.reset(token)
        _json_written.reset(written)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn core errors into one line on stderr (JSON on stdout when the command was
    given --json or --jsonl) and the error table's exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        mode = "jsonl" if kwargs.get("jsonl") else "json" if kwargs.get("as_json") else None
        with json_errors(mode):
            try:
                return command(*args, **kwargs)
            except AgentOSError as error:
                fail_with(error)
            except KeyboardInterrupt:
                err_console.print("interrupted")
                raise typer.Exit(130) from None

    return wrapper


def is_piped() -> bool:
    """Whether stdout goes to a program or a file rather than a person."""
    return not console.is_terminal


def short_ids(ids: Iterable[object]) -> dict[str, str]:
    """Each id as people read it: on a terminal the shortest prefix of at least 8
    characters that no other id shown shares (a prefix every command and action takes);
    the full id when the output is piped."""
    full = [str(item) for item in ids]
    if is_piped():
        return {item: item for item in full}
    shown: dict[str, str] = {}
    for item in full:
        length = SHORT_ID
        while length < len(item) and any(
            other != item and other.startswith(item[:length]) for other in full
        ):
            length += 1
        shown[item] = item[:length].rstrip("-")
    return shown


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, header_style="bold")
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*(_cell(cell) for cell in row))
    return result


def _cell(value: Any) -> str | Text:
    """Data is shown as it is (a title `[draft] cut` keeps its brackets); a styled cell
    is passed as a `Text`."""
    if value is None:
        return ""
    return value if isinstance(value, Text) else escape(str(value))


def emit(value: Any, *, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `value` as JSON for scripts, or through `render` for people."""
    if as_json:
        print_json(value)
    else:
        render(value)
