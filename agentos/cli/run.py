"""`agentos serve|worker|beat|tui`: the long-running processes and the live dashboard.

Each is its own one-command app, loaded only when used (`agentos.cli.main`); the process
code itself (`processes`: uvicorn, Celery) is imported when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentos.cli._options import ServerOption, TokenOption, examples
from agentos.cli._output import handle_errors

serve_app = typer.Typer(add_completion=False)
worker_app = typer.Typer(add_completion=False)
beat_app = typer.Typer(add_completion=False)
tui_app = typer.Typer(add_completion=False)


@serve_app.command(
    "serve",
    epilog=examples(
        "agentos serve",
        "agentos serve --host 0.0.0.0 --port 8080",
        "AGENTOS_HOME=/srv/agentos agentos serve --access-log",
    ),
)
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log one line per request (off by default).")
    ] = False,
) -> None:
    """Run the API server (and, when embedded, the in-process workers and scheduler).
    Migrates the database first."""
    from agentos.cli import processes

    processes.serve(host=host, port=port, reload=reload, access_log=access_log)


@worker_app.command(
    "worker",
    epilog=examples(
        "agentos worker",
        "agentos worker --agents ingest,probe --concurrency 4",
        "agentos worker --pool threads --autoscale 8,2 --name gpu1@media-03",
    ),
)
@handle_errors
def worker(
    agents: Annotated[
        str | None,
        typer.Option(help="Comma-separated agents to run (default: all six).", metavar="A,B"),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Pool size (default: one per CPU).", min=1)
    ] = None,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "prefork",
    name: Annotated[
        str | None, typer.Option(help="Worker node name (name@host).", metavar="NAME")
    ] = None,
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
    from agentos.cli import processes

    chosen = agents.split(",") if agents else None
    processes.worker(
        agents=chosen, concurrency=concurrency, pool=pool, name=name, autoscale=autoscale
    )


@beat_app.command("beat", epilog=examples("agentos beat"))
@handle_errors
def beat() -> None:
    """Run Celery beat: SSOT cache warming, stale-step reclaim, stale-upload cleanup."""
    from agentos.cli import processes

    processes.beat()


@tui_app.command(
    "tui",
    epilog=examples(
        "agentos tui",
        "agentos tui --read-only",
        "agentos tui --server https://agentos.example.com   # after `agentos login`",
    ),
)
@handle_errors
def tui(
    server: ServerOption = None,
    token: TokenOption = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Hide and refuse every admin action.")
    ] = False,
) -> None:
    """The live operator dashboard (keys 1-6 switch views, ? shows every key, q quits)."""
    from agentos import tui as tui_package

    tui_package.run(server=server, token=token, read_only=read_only)
