"""`agentos users create|list|disable|enable|set-role|unlock|revoke-tokens|passwd` and
`agentos token NAME`. Account changes run the Managers actions (audited and rate-limited,
as with `agentos action`, locally or with --server); USER is a username or a user id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentos.cli._backend import opened
from agentos.cli._options import (
    JsonOption,
    LocalServerOption,
    LocalTokenOption,
    ServerOption,
    TokenOption,
    examples,
)
from agentos.cli._output import console, emit, err_console, handle_errors, print_json, table
from agentos.cli.action import run_named
from agentos.cli.auth import read_stdin_line

if TYPE_CHECKING:
    from agentos.schemas.auth import AccessToken
    from agentos.schemas.common import Page
    from agentos.schemas.users import UserCreated, UserRead

app = typer.Typer(
    help="Manage user accounts (the Managers actions).", no_args_is_help=True, add_completion=False
)
token_app = typer.Typer(add_completion=False)
# The roles of `agentos.schemas.users.ROLES` (not imported: this module loads for help and
# completion; a test keeps the two equal).
ROLES = ("admin", "operator", "supervisor", "user", "readonly")
UserArgument = Annotated[str, typer.Argument(help="Username or user id.", show_default=False)]


def _read_password() -> str:
    return read_stdin_line("password on stdin (--password-stdin reads one line)")


@app.command(
    "create",
    epilog=examples(
        "agentos users create alice --role operator",
        "agentos users create root --role admin --password-stdin < password.txt",
        "agentos users create bob --role readonly --server https://agentos.example.com",
    ),
)
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="Username (letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from stdin (locally only: bootstrap)."
        ),
    ] = False,
    email: Annotated[str | None, typer.Option("--email", help="Contact address.")] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Create a user with a one-time password, shown once and changed at the first login
    (the user.create action). --password-stdin sets the password instead, without the
    action: locally only, to create the first admin."""
    from agentos.schemas.users import UserCreated

    with opened(server, token) as backend:
        if password_stdin:
            password = _read_password()
            created = backend.create_user(username=name, role=role, password=password, email=email)
        else:
            payload = {"username": name, "role": role, "email": email}
            response = run_named(backend, "user.create", payload, key=None, yes=False)
            created = UserCreated.model_validate(response.result)
    emit(created, as_json=as_json, render=_render_created)


@app.command(
    "list",
    epilog=examples(
        "agentos users list",
        "agentos users list --json | jq -r '.data[].username'",
    ),
)
@handle_errors
def list_users(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Users per page.")] = 100,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List users with their role and state (remotely: from the Managers view)."""
    with opened(server, token) as backend:
        result = backend.list_users(page=page, per_page=per_page)
    emit(result, as_json=as_json, render=_render_page)


def _on_user(
    action: str,
    user: str,
    *,
    server: str | None,
    token: str | None,
    extra: dict[str, Any] | None = None,
) -> Any:
    """Run a Managers action on USER (resolved to its id); the action's result."""
    with opened(server, token) as backend:
        target = backend.resolve_user(user)
        payload = {"user_id": str(target.id), **(extra or {})}
        return run_named(backend, action, payload, key=None, yes=False).result


def _user_changed(result: Any, *, as_json: bool, verb: str) -> None:
    from agentos.schemas.users import UserRead

    changed = UserRead.model_validate(result)
    emit(changed, as_json=as_json, render=lambda user: _render_user(user, verb))


@app.command(
    "disable",
    epilog=examples(
        "agentos users disable alice",
    ),
)
@handle_errors
def disable(
    user: UserArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The user can no longer log in; their tokens and API keys stop working at once."""
    result = _on_user("user.disable", user, server=server, token=token)
    _user_changed(result, as_json=as_json, verb="disabled")


@app.command(
    "enable",
    epilog=examples(
        "agentos users enable alice",
    ),
)
@handle_errors
def enable(
    user: UserArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """The user can log in again."""
    result = _on_user("user.enable", user, server=server, token=token)
    _user_changed(result, as_json=as_json, verb="enabled")


@app.command(
    "set-role",
    epilog=examples(
        "agentos users set-role alice admin",
    ),
)
@handle_errors
def set_role(
    user: UserArgument,
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.", show_default=False)],
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Change USER's role; tokens carrying the old role are refused from the next request."""
    result = _on_user("user.set_role", user, server=server, token=token, extra={"role": role})
    _user_changed(result, as_json=as_json, verb=f"now {role}:")


@app.command(
    "unlock",
    epilog=examples(
        "agentos users unlock alice",
    ),
)
@handle_errors
def unlock(
    user: UserArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Lift USER's lockout after failed logins."""
    result = _on_user("user.unlock", user, server=server, token=token)
    _user_changed(result, as_json=as_json, verb="unlocked")


@app.command(
    "revoke-tokens",
    epilog=examples(
        "agentos users revoke-tokens alice",
    ),
)
@handle_errors
def revoke_tokens(
    user: UserArgument,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """End every session of USER and revoke their API keys."""
    from agentos.schemas.actions_managers import TokensRevoked

    result = _on_user("user.tokens.revoke", user, server=server, token=token)
    revoked = TokensRevoked.model_validate(result)
    if as_json:
        print_json(revoked)
        return
    console.print(
        f"{revoked.user.username}: {revoked.refresh_tokens} session(s) ended, "
        f"{revoked.api_keys} API key(s) revoked",
        highlight=False,
    )


@app.command(
    "passwd",
    epilog=examples(
        "agentos users passwd --server https://agentos.example.com",
        'printf \'%s\\n%s\\n\' "$OLD" "$NEW" | agentos users passwd --server URL --password-stdin',
    ),
)
@handle_errors
def passwd(
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the current password, then the new one, one per line from stdin.",
        ),
    ] = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Change your own password on --server (after `agentos login`; a one-time password
    must be changed this way first). Your other sessions end; this one goes on."""
    with opened(server, token) as backend:
        backend.require_user_session()  # locally: REMOTE_ONLY before asking anything
        if password_stdin:
            current = read_stdin_line("current password on stdin (first line)")
            new = read_stdin_line("new password on stdin (second line)")
        else:
            current = typer.prompt("Current password", hide_input=True)
            new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        pair = backend.change_password(current=current, new=new)
        stored = backend.session_state() == "active"
    summary = {"changed": True, "session_saved": stored, "expires_in": pair.expires_in}
    if as_json:
        print_json(summary)
        return
    console.print("[green]password changed[/green]; your other sessions have ended")
    if not stored:
        err_console.print("log in again with the new password: `agentos login --server URL`")


@token_app.command(
    "token",
    epilog=examples(
        "agentos token alice",
        "agentos token ci-bot --ttl 3600",
        'curl -H "Authorization: Bearer $(agentos token alice)" http://127.0.0.1:8000/api/jobs',
    ),
)
@handle_errors
def mint(
    name: Annotated[str, typer.Argument(help="The user the token is for.", metavar="NAME")],
    ttl: Annotated[
        int | None,
        typer.Option(
            "--ttl", min=1, metavar="SECONDS", help="Lifetime in seconds (default: settings)."
        ),
    ] = None,
    as_json: JsonOption = False,
    server: LocalServerOption = None,
    token: LocalTokenOption = None,
) -> None:
    """Print an access token for NAME (local only; recorded as a security event). Remotely,
    `agentos login` or POST /api/auth/login gives one."""
    with opened(server, token) as backend:
        result = backend.mint_token(username=name, ttl_s=ttl)
    emit(result, as_json=as_json, render=_render_token)


def _render_created(created: UserCreated) -> None:
    user = created.user
    console.print(f"Created user [bold]{user.username}[/bold] ({user.role}), id {user.id}")
    if created.one_time_password is not None:
        console.print(
            "One-time password (shown once; it must be changed at the first login with "
            "`agentos login` then `agentos users passwd`):"
        )
        # Plain print: the password must be copyable, without markup or wrapping.
        typer.echo(created.one_time_password)


def _render_user(user: UserRead, verb: str) -> None:
    state = "active" if user.is_active else "disabled"
    console.print(f"{user.username} {verb} ({user.role}, {state}, id {user.id})", highlight=False)


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
