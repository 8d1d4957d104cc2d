"""`agentos login --server URL` and `agentos logout`: the stored, self-renewing session
that remote commands and the remote TUI use when no --token is given."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from agentos.cli._options import JsonOption, examples
from agentos.cli._output import console, emit, err_console, fail, handle_errors, print_json

login_app = typer.Typer(add_completion=False)
logout_app = typer.Typer(add_completion=False)
LoginServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="AGENTOS_SERVER",
        metavar="URL",
        help="Server URL to log in to.",
        show_default=False,
    ),
]


def read_stdin_line(what: str) -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail(f"no {what} on stdin")
    return line


def _default_username() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return None


@login_app.command(
    "login",
    epilog=examples(
        "agentos login --server https://agentos.example.com",
        "agentos login --server https://agentos.example.com -u alice",
        "pass show agentos/alice | agentos login --server URL -u alice --password-stdin",
    ),
)
@handle_errors
def login(
    server: LoginServerOption,
    username: Annotated[
        str | None,
        typer.Option("--username", "-u", help="Account name (asked when omitted)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Log in once; later commands with --server (or AGENTOS_SERVER) and no --token use
    this session, renewing it on their own. The password is never echoed or stored."""
    from agentos import client

    name = username or typer.prompt("Username", default=_default_username())
    if password_stdin:
        password = read_stdin_line("password (--password-stdin reads one line)")
    else:
        password = typer.prompt("Password", hide_input=True)
    pair = client.login(server=server, username=name, password=password)
    now = datetime.now(UTC)
    summary = {
        "server": server.rstrip("/"),
        "username": name.strip().lower(),
        "session_file": str(client.session_file()),
        "access_expires_at": now + timedelta(seconds=pair.expires_in),
        "refresh_expires_at": now + timedelta(seconds=pair.refresh_expires_in),
        "must_change_password": pair.must_change_password,
    }
    emit(summary, as_json=as_json, render=_render_login)
    if pair.must_change_password:
        err_console.print(
            "[yellow]this account has a one-time password: change it now with "
            f"`agentos users passwd --server {summary['server']}`[/yellow]; until then every "
            "other command answers PASSWORD_CHANGE_REQUIRED",
            highlight=False,
            soft_wrap=True,
        )


def _render_login(summary: dict[str, object]) -> None:
    until = summary["refresh_expires_at"]
    assert isinstance(until, datetime)
    console.print(
        f"[green]logged in[/green] to {summary['server']} as {summary['username']}; "
        f"session saved in {summary['session_file']} (renewed automatically until "
        f"{until:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
        soft_wrap=True,
    )


@logout_app.command(
    "logout",
    epilog=examples("agentos logout", "agentos logout --server https://agentos.example.com"),
)
@handle_errors
def logout(
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="AGENTOS_SERVER",
            metavar="URL",
            help="Forget only this server's session.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Forget the stored session (of --server, else every one) on this machine. The login
    stays valid on the server until it expires; `agentos users revoke-tokens` ends it."""
    from agentos import client

    gone = client.logout(server=server)
    if as_json:
        print_json({"forgotten": gone})
        return
    if not gone:
        console.print(
            f"no stored session{f' for {server}' if server else ''}; nothing to forget",
            highlight=False,
        )
        return
    for item in gone:
        console.print(f"forgot the session for {item}", highlight=False)
