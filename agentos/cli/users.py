"""`agentos users create|list` and `agentos token NAME`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption
from agentos.cli._output import console, emit, fail, handle_errors, table
from agentos.schemas.auth import AccessToken
from agentos.schemas.common import Page
from agentos.schemas.users import ROLES, UserCreated, UserRead

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("no password on stdin (--password-stdin reads one line)")
    return password


@app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="Username (letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    email: Annotated[str | None, typer.Option("--email", help="Contact address.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Create a user; prints a one-time password unless --password-stdin is given."""
    password = _read_password() if password_stdin else None
    with opened(server, token) as backend:
        created = backend.create_user(username=name, role=role, password=password, email=email)
    emit(created, as_json=as_json, render=_render_created)


@app.command("list")
@handle_errors
def list_users(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Users per page.")] = 100,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List users with their role and state."""
    with opened(server, token) as backend:
        result = backend.list_users(page=page, per_page=per_page)
    emit(result, as_json=as_json, render=_render_page)


@handle_errors
def mint(
    name: Annotated[str, typer.Argument(help="The user the token is for.")],
    ttl: Annotated[
        int | None, typer.Option("--ttl", min=1, help="Lifetime in seconds (default: settings).")
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Print an access token for NAME (recorded as a security event)."""
    with opened(server, token) as backend:
        result = backend.mint_token(username=name, ttl_s=ttl)
    emit(result, as_json=as_json, render=_render_token)


def _render_created(created: UserCreated) -> None:
    user = created.user
    console.print(f"Created user [bold]{user.username}[/bold] ({user.role}), id {user.id}")
    if created.one_time_password is not None:
        console.print("One-time password (shown once, change it after the first login):")
        # Plain print: the password must be copyable, without markup or wrapping.
        typer.echo(created.one_time_password)


def _render_page(page: Page[UserRead]) -> None:
    rows: list[list[Any]] = [
        [
            user.username,
            user.role,
            "yes" if user.is_active else "no",
            user.locked_until.isoformat(timespec="seconds") if user.locked_until else "",
            user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "",
            user.created_at.isoformat(timespec="seconds"),
        ]
        for user in page.data
    ]
    info = page.pagination
    title = f"Users (page {info.page}/{info.total_pages}, {info.total} in all)"
    console.print(
        table(title, ["username", "role", "active", "locked until", "last login", "created"], rows)
    )


def _render_token(result: AccessToken) -> None:
    # Only the token on stdout, so `$(agentos token NAME)` works in scripts.
    typer.echo(result.access_token)
