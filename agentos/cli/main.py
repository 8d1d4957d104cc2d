"""`agentos`: the root command. Each command's module is imported only when that command
runs (see `_app.LazyGroup`), so `agentos --help` and shell completion stay fast."""

from __future__ import annotations

from typing import Annotated

import typer

from agentos import __version__
from agentos.cli._app import Lazy, LazyGroup
from agentos.cli._output import EXIT_CODES

WORK = "Jobs and actions"
OPERATE = "Operations"
ACCOUNTS = "Accounts and access"
PROCESSES = "Processes and the database"

COMMANDS: dict[str, Lazy] = {
    "jobs": Lazy("agentos.cli.jobs:app", "Submit, list, inspect and follow jobs.", WORK),
    "action": Lazy(
        "agentos.cli.action:command",
        "Run an admin action through the audited, rate-limited, idempotent pipeline.",
        WORK,
    ),
    "tui": Lazy(
        "agentos.cli.run:tui_app",
        "The live operator dashboard (keys 1-6 switch views, ? shows every key, q quits).",
        WORK,
    ),
    "logs": Lazy(
        "agentos.cli.logs:app",
        "Structured logs of every process: search, follow live, export.",
        OPERATE,
    ),
    "audit": Lazy(
        "agentos.cli.audit:app",
        "The audit trail: search it, export it, verify its hash chain (online or a file).",
        OPERATE,
    ),
    "config": Lazy(
        "agentos.cli.config:app",
        "Runtime configuration, applied live (the config.* actions).",
        OPERATE,
    ),
    "governance": Lazy(
        "agentos.cli.governance:app",
        "The seed's API governance rules, API change tracking, the error catalog.",
        OPERATE,
    ),
    "backup": Lazy(
        "agentos.cli.system:backup_app",
        "Verified database backups (the system.backup* actions).",
        OPERATE,
    ),
    "maintenance": Lazy(
        "agentos.cli.system:maintenance_app",
        "Maintenance mode: user writes answer 503 with a message.",
        OPERATE,
    ),
    "users": Lazy(
        "agentos.cli.users:app", "Manage user accounts (the Managers actions).", ACCOUNTS
    ),
    "apikeys": Lazy(
        "agentos.cli.apikeys:app",
        "API keys for scripts and agents (the apikey.* actions).",
        ACCOUNTS,
    ),
    "login": Lazy(
        "agentos.cli.auth:login_app",
        "Log in to a server once; later --server commands reuse and renew the session.",
        ACCOUNTS,
    ),
    "logout": Lazy(
        "agentos.cli.auth:logout_app",
        "Forget the stored session (of --server, else every one) on this machine.",
        ACCOUNTS,
    ),
    "token": Lazy(
        "agentos.cli.users:token_app",
        "Print an access token for NAME (local only; recorded as a security event).",
        ACCOUNTS,
    ),
    "serve": Lazy(
        "agentos.cli.run:serve_app",
        "Run the API server (and, when embedded, the in-process workers and scheduler).",
        PROCESSES,
    ),
    "worker": Lazy(
        "agentos.cli.run:worker_app",
        "Run a Celery worker for the pipeline agents (needs AGENTOS_REDIS_URL).",
        PROCESSES,
    ),
    "beat": Lazy(
        "agentos.cli.run:beat_app",
        "Run Celery beat: SSOT cache warming, stale-step reclaim, stale-upload cleanup.",
        PROCESSES,
    ),
    "db": Lazy(
        "agentos.cli.db:app",
        "Database schema and data maintenance: migrate, check, reset-and-seed (local only).",
        PROCESSES,
    ),
}


class RootGroup(LazyGroup):
    lazy = COMMANDS


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES)
    return (
        "Examples:\n"
        "  agentos jobs submit clip.mp4 --wait\n"
        "  agentos jobs list --status failed\n"
        "  agentos action --list\n"
        "  agentos action job.cancel be1ce8cf\n"
        "  agentos login --server https://agentos.example.com\n"
        "  agentos tui --server https://agentos.example.com\n\n"
        "Each command's --help shows its own examples. Locally the commands work on "
        "AGENTOS_HOME (or AGENTOS_DATABASE_URL); with --server URL (or AGENTOS_SERVER) they go "
        "through the HTTP API. --json prints JSON, errors included.\n\n"
        f"Exit codes:\n{codes}\n\n"
        "Shell completion: agentos --install-completion (then open a new shell)."
    )


app = typer.Typer(
    name="agentos",
    cls=RootGroup,
    help="AgentOS: operate the media-processing job platform.",
    epilog=_epilog(),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentos {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """AgentOS: operate the media-processing job platform. Works locally on AGENTOS_HOME
    or remotely with --server."""


def run() -> None:
    app()
