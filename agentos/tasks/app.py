"""The Celery app, built from the settings: `celery -A agentos.tasks.app worker|beat|inspect`.

One queue per agent (routing by the step's agent), plus `agentos.maintenance` for the
periodic tasks. Reliability settings: a message is acknowledged only after its task ran
(`task_acks_late`), a worker holds one message per free slot (`worker_prefetch_multiplier
=1`), and a task whose worker process died is rejected back to the queue
(`task_reject_on_worker_lost`). On the Redis broker an unacknowledged message comes back
after `settings.celery_visibility_timeout_s`. Every broker key carries
`settings.redis_key_prefix` (kombu's `global_keyprefix`), so deployments (and tests)
sharing one Redis never see each other's queues.

The module-level `app` reads the settings lazily (on first use of its configuration), so
importing this module reads no environment.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery, Task
from kombu import Exchange, Queue

from agentos.services.jobs.catalog import PIPELINE
from agentos.services.pipeline.runner import periodic_jobs
from agentos.services.runtime import Runtime
from agentos.settings import Settings, get_settings

MAINTENANCE_QUEUE = "agentos.maintenance"
RUN_STEP = "agentos.tasks.stages.run_step"
RUN_PERIODIC = "agentos.tasks.maintenance.run_periodic"
TASK_MODULES = ["agentos.tasks.stages", "agentos.tasks.maintenance", "agentos.tasks.worker"]


def celery_config(settings: Settings) -> dict[str, Any]:
    visibility = settings.celery_visibility_timeout_s
    transport: dict[str, Any] = {
        "visibility_timeout": visibility,
        # How often a worker looks for unacknowledged messages older than the timeout
        # (those of a worker that died): kombu's default, or sooner for short timeouts.
        "unacked_restore_interval": max(1.0, min(10.0, visibility / 2)),
    }
    if settings.redis_key_prefix:
        transport["global_keyprefix"] = settings.redis_key_prefix
    exchange = Exchange("agentos", type="direct")
    queues = [Queue(agent, exchange, routing_key=agent) for agent in PIPELINE]
    queues.append(Queue(MAINTENANCE_QUEUE, exchange, routing_key=MAINTENANCE_QUEUE))
    return {
        "broker_url": settings.redis_url_for("broker"),
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_queues": queues,
        "task_default_queue": MAINTENANCE_QUEUE,
        "task_default_exchange": "agentos",
        "task_default_routing_key": MAINTENANCE_QUEUE,
        "task_routes": (route_task,),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": beat_schedule(settings),
    }


def route_task(name: str, args: Any, kwargs: Any, options: Any, **_: Any) -> dict[str, str] | None:
    """run_step goes to its agent's queue (the sender passes `agent`)."""
    if name == RUN_STEP:
        agent = (kwargs or {}).get("agent")
        if agent in PIPELINE:
            return {"queue": agent, "routing_key": agent}
    return None


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        job.name: {
            "task": RUN_PERIODIC,
            "schedule": job.interval_s,
            "args": (job.name,),
            # A periodic run that waited longer than its own interval is already stale.
            "options": {"queue": MAINTENANCE_QUEUE, "expires": job.interval_s},
        }
        for job in periodic_jobs(settings)
    }


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def process_runtime() -> Runtime:
    """This worker process's runtime, built on first use from its settings (the worker's
    init builds it; a prefork child inherits it and drops the parent's connections)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime(get_settings())
        return _runtime


class AgentOSTask(Task):
    """Base task: the worker's runtime (each task opens its own unit of work)."""

    @property
    def runtime(self) -> Runtime:
        return process_runtime()


def create_app(settings: Settings | None = None) -> Celery:
    celery = Celery("agentos", task_cls=AgentOSTask, include=TASK_MODULES)
    if settings is None:
        celery.add_defaults(lambda: celery_config(get_settings()))
    else:
        celery.config_from_object(celery_config(settings))
    return celery


SENDER_APP = "celery.sender_app"


def app_for(runtime: Runtime) -> Celery:
    """The Celery app of a process that only sends and controls (the server, the CLI),
    configured for the runtime's settings and closed with it."""
    return runtime.component(SENDER_APP, lambda: create_app(runtime.settings))


app = create_app()
