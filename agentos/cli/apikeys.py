"""`agentos apikeys create|list|revoke`: API keys for scripts and external agents (the
apikey.* Managers actions; the list comes from the Managers view and holds no secret)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from agentos.cli._backend import opened
from agentos.cli._options import JsonOption, ServerOption, TokenOption, examples
from agentos.cli._output import console, emit, err_console, handle_errors, print_json, table
from agentos.cli.action import run_named
from agentos.cli.system import age
from agentos.errors import NotFoundError

if TYPE_CHECKING:
    from agentos.schemas.actions_managers import ManagersView
    from agentos.schemas.auth import ApiKeyRead

app = typer.Typer(
    help="API keys for scripts and agents (the apikey.* actions).",
    no_args_is_help=True,
    add_completion=False,
)


@app.command(
    "create",
    epilog=examples(
        "agentos apikeys create ci-bot --name ci-uploader",
        "agentos apikeys create alice --name nightly --expires-days 30 --json",
    ),
)
@handle_errors
def create(
    user: Annotated[str, typer.Argument(help="Owner: username or user id.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. ci-uploader.")],
    scopes: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A capability beyond the owner's role (repeatable)."),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after D days.")
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Issue an API key for USER. The secret is printed once; only its hash is kept."""
    from agentos.schemas.actions_managers import ApiKeyCreated

    with opened(server, token) as backend:
        owner = backend.resolve_user(user)
        payload = {
            "user_id": str(owner.id),
            "name": name,
            "scopes": list(scopes or []),
            "expires_in_days": expires_days,
        }
        created = ApiKeyCreated.model_validate(
            run_named(backend, "apikey.create", payload, key=None, yes=False).result
        )
    if as_json:
        print_json(created)
        return
    key = created.key
    expires = f", expires {key.expires_at:%Y-%m-%d}" if key.expires_at else ""
    console.print(
        f"API key [bold]{key.name}[/bold] for {owner.username} (id {key.id}{expires})",
        highlight=False,
    )
    err_console.print(
        "[yellow]the secret below is shown this once and cannot be shown again: store it "
        "now[/yellow]"
    )
    typer.echo(created.secret)  # plain: copyable, without markup or wrapping


@app.command(
    "list",
    epilog=examples(
        "agentos apikeys list",
        "agentos apikeys list --user ci-bot --json",
    ),
)
@handle_errors
def list_keys(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this owner's keys (username or id).")
    ] = None,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """API keys, newest first: owner, prefix, scopes, use and expiry (never a secret)."""
    with opened(server, token) as backend:
        view = backend.managers()
        owner = backend.resolve_user(user) if user else None
    keys = [key for key in view.api_keys if owner is None or key.user_id == owner.id]
    emit(keys, as_json=as_json, render=lambda items: _render_keys(items, view))


def _state(key: ApiKeyRead) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


def _render_keys(keys: list[ApiKeyRead], view: ManagersView) -> None:
    if not keys:
        console.print("no API keys; `agentos apikeys create USER --name N` issues one")
        return
    names = {user.id: user.username for user in view.users}
    rows = [
        (
            key.prefix,
            key.name,
            names.get(key.user_id, str(key.user_id)),
            ",".join(key.scopes),
            _state(key),
            f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "never",
            age(key.last_used_at) if key.last_used_at else "never",
        )
        for key in keys
    ]
    columns = ("key", "name", "owner", "scopes", "state", "expires", "used")
    rendered = table(f"API keys ({len(keys)}; revoke by key or id)", columns, rows)
    for column in rendered.columns[:3]:
        column.no_wrap = True  # what people copy into the next command
    console.print(rendered)


@app.command(
    "revoke",
    epilog=examples(
        "agentos apikeys revoke ak_3f2a9c1e",
    ),
)
@handle_errors
def revoke(
    key: Annotated[str, typer.Argument(help="Key id or prefix (see `agentos apikeys list`).")],
    as_json: JsonOption = False,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Revoke an API key: refused from the next request on."""
    from agentos.schemas.auth import ApiKeyRead

    with opened(server, token) as backend:
        key_id = _key_id(key, backend.managers().api_keys)
        response = run_named(backend, "apikey.revoke", {"key_id": key_id}, key=None, yes=False)
    revoked = ApiKeyRead.model_validate(response.result)
    emit(
        revoked,
        as_json=as_json,
        render=lambda item: console.print(
            f"API key {item.name} ({item.prefix}, id {item.id}) revoked", highlight=False
        ),
    )


def _key_id(ref: str, keys: list[ApiKeyRead]) -> str:
    wanted = ref.strip().removeprefix("ak_")
    try:
        return str(uuid.UUID(wanted))
    except ValueError:
        pass
    for key in keys:
        if key.prefix == wanted:
            return str(key.id)
    raise NotFoundError(
        f"no API key {ref!r} (an id or a prefix from `agentos apikeys list`)",
        code="API_KEY_NOT_FOUND",
    )
