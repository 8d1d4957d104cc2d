"""The CLI's one error table: each kind exits with its code and one line on stderr."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from agentos import errors
from agentos.cli._output import EXIT_CODE_BY_KIND, handle_errors


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (errors.InvalidError("bad"), 2),
        (errors.NotFoundError("missing"), 3),
        (errors.ConflictError("clash"), 4),
        (errors.UnauthenticatedError("login"), 5),
        (errors.ForbiddenError("no"), 5),
        (errors.RateLimitedError("slow", retry_after_s=1), 6),
        (errors.UnavailableError("down"), 7),
        (errors.InternalError("bug"), 1),
    ],
)
def test_error_kinds_exit_with_their_code(error: errors.AgentOSError, exit_code: int) -> None:
    app = typer.Typer()

    @app.command()
    @handle_errors
    def fail() -> None:
        raise error

    result = CliRunner().invoke(app, [])
    assert result.exit_code == exit_code
    assert EXIT_CODE_BY_KIND[error.kind] == exit_code
    assert error.message in result.output
    assert "Traceback" not in result.output
