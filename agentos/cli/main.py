"""`agentos`: the root command and its groups."""

from __future__ import annotations

from typing import Annotated

import typer

from agentos import __version__
from agentos.cli import action as action_cli
from agentos.cli import apikeys as apikeys_cli
from agentos.cli import audit as audit_cli
from agentos.cli import auth as auth_cli
from agentos.cli import config as config_cli
from agentos.cli import db as db_cli
from agentos.cli import jobs as jobs_cli
from agentos.cli import logs as logs_cli
from agentos.cli import processes
from agentos.cli import system as system_cli
from agentos.cli import users as users_cli
from agentos.cli._options import ServerOption, TokenOption

app = typer.Typer(
    name="agentos",
    help="AgentOS: operate the media-processing job platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(users_cli.app, name="users")
app.add_typer(apikeys_cli.app, name="apikeys")
app.add_typer(config_cli.app, name="config")
app.add_typer(db_cli.app, name="db")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(logs_cli.app, name="logs")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(system_cli.backup_app, name="backup")
app.add_typer(system_cli.maintenance_app, name="maintenance")
app.command("token")(users_cli.mint)
app.command("action")(action_cli.action)
app.command("login")(auth_cli.login)
app.command("logout")(auth_cli.logout)


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
    """AgentOS command line. Works locally on AGENTOS_HOME or remotely with --server."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log one line per request (off by default).")
    ] = False,
) -> None:
    """Run the API server (and, when embedded, the in-process workers and scheduler)."""
    from agentos.cli._output import handle_errors

    handle_errors(processes.serve)(host=host, port=port, reload=reload, access_log=access_log)


@app.command()
def worker(
    agents: Annotated[
        str | None, typer.Option(help="Comma-separated agents to run (default: all six).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Pool size (default: one per CPU).", min=1)
    ] = None,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "prefork",
    name: Annotated[str | None, typer.Option(help="Worker node name (name@host).")] = None,
    autoscale: Annotated[
        str | None,
        typer.Option(
            help="MAX,MIN: the pool follows the backlog between them (worker.autoscale "
            "changes the bounds live).",
            metavar="MAX,MIN",
        ),
    ] = None,
) -> None:
    """Run a Celery worker for the pipeline agents (needs AGENTOS_REDIS_URL)."""
    from agentos.cli._output import handle_errors

    chosen = agents.split(",") if agents else None
    handle_errors(processes.worker)(
        agents=chosen, concurrency=concurrency, pool=pool, name=name, autoscale=autoscale
    )


@app.command()
def beat() -> None:
    """Run Celery beat: SSOT cache warming, stale-step reclaim, stale-upload cleanup."""
    from agentos.cli._output import handle_errors

    handle_errors(processes.beat)()


@app.command()
def tui(
    server: ServerOption = None,
    token: TokenOption = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Hide and refuse every admin action.")
    ] = False,
) -> None:
    """The live operator dashboard (keys 1-6 switch views, ? shows every key, q quits)."""
    from agentos import tui as tui_app
    from agentos.cli._output import handle_errors

    handle_errors(tui_app.run)(server=server, token=token, read_only=read_only)


def run() -> None:
    app()
