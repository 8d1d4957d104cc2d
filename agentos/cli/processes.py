"""Long-running processes the CLI starts: the API server, Celery worker and beat.

This is the composition root: the one place that builds a process's runtime and picks
its runner (the embedded pools, or the Celery sender when distributed), so the server and
the core never name Celery.
"""

from __future__ import annotations

import socket
import uuid
from typing import TYPE_CHECKING, Any

import uvicorn

from agentos.errors import InvalidError
from agentos.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from agentos.services.pipeline.runner import Runner
    from agentos.services.runtime import Runtime


def choose_runner(runtime: Runtime) -> Runner | None:
    """The runner `agentos serve` starts: in-process pools, or the Celery sender."""
    if runtime.settings.is_embedded:
        from agentos.server.app import default_runner

        return default_runner(runtime)
    from agentos.tasks.control import CeleryRunner

    return CeleryRunner(runtime)


def server_app() -> FastAPI:
    """uvicorn's app factory for `agentos serve`."""
    from agentos import telemetry
    from agentos.server.app import create_app

    settings = get_settings()
    # Every server and worker process of this machine shares its samples (GET /metrics).
    telemetry.use_directory(settings.home_dir)
    return create_app(settings, runner=choose_runner, log_process="server")


def serve(
    *, host: str, port: int, reload: bool, log_level: str = "info", access_log: bool = False
) -> None:
    """The API server. The C HTTP parser and event loop, and no per-request access log
    line unless asked (request figures are in the metrics; the log line cost a
    formatted write per request on the hot path)."""
    from agentos.server.logs import uvicorn_log_config

    _prepare_database()
    uvicorn.run(
        "agentos.cli.processes:server_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level=log_level,
        log_config=uvicorn_log_config(),
        proxy_headers=False,
        server_header=False,
        http="httptools",
        loop="uvloop",
        access_log=access_log,
        timeout_keep_alive=get_settings().http_keep_alive_s,
    )


def _prepare_database() -> None:
    """Reach and migrate the database before the server starts, so an outage is one line
    (exit 7) instead of a traceback from inside uvicorn."""
    from agentos.db.migrate import ensure_schema
    from agentos.services import outages
    from agentos.services.runtime import Runtime

    runtime = Runtime(get_settings())
    try:
        runtime.settings.ensure_home()
        ensure_schema(runtime.engine)
    except Exception as exc:
        outage = outages.as_unavailable(exc)
        if outage is None or outage is exc:
            raise
        raise outage from exc
    finally:
        runtime.close()


def _celery_app() -> Any:
    settings = get_settings()
    if settings.is_embedded:
        raise InvalidError(
            "Celery workers need a broker: set AGENTOS_REDIS_URL (embedded deployments run "
            "their workers inside `agentos serve`)",
            code="NO_BROKER",
        )
    settings.ensure_home()
    from agentos.tasks.app import app

    return app


def worker_queues(agents: list[str] | None) -> list[str]:
    """The queues a worker consumes: the named agents (default all) and maintenance."""
    from agentos.services.jobs.catalog import PIPELINE
    from agentos.tasks.app import MAINTENANCE_QUEUE

    chosen = [a.strip().lower() for a in agents or PIPELINE if a.strip()]
    unknown = sorted(set(chosen) - set(PIPELINE))
    if unknown or not chosen:
        raise InvalidError(
            f"unknown agent(s): {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(PIPELINE)}",
            code="UNKNOWN_AGENT",
        )
    return [*dict.fromkeys(chosen), MAINTENANCE_QUEUE]


def worker(
    *,
    agents: list[str] | None = None,
    concurrency: int | None = None,
    pool: str = "prefork",
    name: str | None = None,
    log_level: str = "INFO",
    autoscale: str | None = None,
) -> None:
    """Run a Celery worker (blocks): an ordinary one, visible to `celery inspect` and Flower."""
    from agentos import telemetry

    bounds = autoscale_bounds(autoscale) if autoscale else None
    telemetry.use_directory(get_settings().home_dir)
    app = _celery_app()
    queues = worker_queues(agents)
    nodename = name or f"agentos-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    argv = [
        "worker",
        f"--loglevel={log_level}",
        f"--queues={','.join(queues)}",
        f"--hostname={nodename}",
        f"--pool={pool}",
        "--without-mingle",
    ]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if bounds is not None:
        argv.append(f"--autoscale={bounds[0]},{bounds[1]}")
    app.worker_main(argv)


def autoscale_bounds(text: str) -> tuple[int, int]:
    """`MAX,MIN` as Celery takes it, checked here so a typo is one clear line."""
    parts = text.split(",")
    try:
        high, low = (int(part) for part in parts) if len(parts) == 2 else (int(parts[0]), 0)
    except ValueError:
        high, low = 0, -1
    if low < 0 or high < 1 or low > high:
        raise InvalidError(
            f"--autoscale takes MAX,MIN with 0 <= MIN <= MAX and MAX >= 1, not {text!r}",
            code="INVALID_AUTOSCALE",
        )
    return high, low


def beat(*, log_level: str = "INFO") -> None:
    """Run Celery beat (blocks): the periodic maintenance tasks."""
    from agentos.services.logs import setup as logs_setup

    logs_setup.configure(None, process="beat", settings=get_settings())
    app = _celery_app()
    schedule = get_settings().home_dir / "celerybeat-schedule"
    app.start(["beat", f"--loglevel={log_level}", f"--schedule={schedule}"])
