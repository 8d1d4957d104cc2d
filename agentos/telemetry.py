"""Prometheus metrics of every process, in prometheus-client's multiprocess mode.

`agentos serve` and `agentos worker` call `use_directory(home)` before anything records,
so every server process and every Celery pool process writes its samples to files in one
directory, and `GET /metrics` on any server of the machine reports them together. Without
it (tests, the CLI) the samples stay in this process's registry.

Recorders are plain functions; prometheus_client is imported on first use, after the
directory is chosen (it reads `PROMETHEUS_MULTIPROC_DIR` once, at import).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Request durations: the seed's targets (50, 200, 500 ms) sit on bucket bounds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def use_directory(home: Path, *, fresh: bool = False) -> Path:
    """Share samples through `home/metrics` (kept if the environment names another);
    `fresh` empties it (the first process of a deployment on this machine)."""
    chosen = Path(os.environ.get(MULTIPROC_ENV) or home / "metrics")
    if fresh and chosen.exists():
        shutil.rmtree(chosen, ignore_errors=True)
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(chosen)
    return chosen


def process_exited(pid: int) -> None:
    """Forget a finished process's live gauges (its counters stay in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


@cache
def _metrics() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "requests": Counter(
            "agentos_http_requests_total",
            "HTTP requests by route template, method and status class",
            ["route", "method", "status"],
        ),
        "latency": Histogram(
            "agentos_http_request_duration_seconds",
            "HTTP request duration by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        ),
        "ssot": Counter(
            "agentos_ssot_reads_total",
            "SSOT document reads by source (hit, miss, direct)",
            ["source"],
        ),
        "ssot_build": Histogram(
            "agentos_ssot_build_duration_seconds",
            "Time to build the SSOT document from the database",
            buckets=LATENCY_BUCKETS,
        ),
        "actions": Counter(
            "agentos_actions_total", "Admin actions by action and outcome", ["action", "outcome"]
        ),
        "action_latency": Histogram(
            "agentos_action_duration_seconds",
            "Admin action duration through the whole pipeline",
            ["action"],
            buckets=LATENCY_BUCKETS,
        ),
        "refusals": Counter(
            "agentos_rate_limit_refusals_total",
            "Requests refused by a rate limit, by tier",
            ["tier"],
        ),
        "stages": Histogram(
            "agentos_stage_duration_seconds",
            "Pipeline stage run time by agent and outcome",
            ["agent", "outcome"],
            buckets=STAGE_BUCKETS,
        ),
        "log_drops": Counter(
            "agentos_log_records_dropped_total", "Log records the store's full queue dropped"
        ),
    }


# The labelled children of the request metrics, by (route, method, status class): on every
# request, so the lookup is one dict get instead of prometheus_client's locked `labels`.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status // 100)
    children = _request_children.get(key)
    if children is None:
        metrics = _metrics()
        children = _request_children[key] = (
            metrics["requests"].labels(route, method, f"{key[2]}xx"),
            metrics["latency"].labels(route, method),
        )
    children[0].inc()
    children[1].observe(seconds)


def ssot_read(source: str) -> None:
    _metrics()["ssot"].labels(source).inc()


def ssot_built(seconds: float) -> None:
    _metrics()["ssot_build"].observe(seconds)


def action(name: str, outcome: str, seconds: float) -> None:
    metrics = _metrics()
    metrics["actions"].labels(name, outcome).inc()
    metrics["action_latency"].labels(name).observe(seconds)


def rate_limit_refused(tier: str) -> None:
    _metrics()["refusals"].labels(tier).inc()


def stage(agent: str, outcome: str, seconds: float) -> None:
    _metrics()["stages"].labels(agent, outcome).observe(seconds)


def log_record_dropped() -> None:
    _metrics()["log_drops"].inc()


class _ThisProcess:
    """This process's default registry, inside the scrape's registry."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterable[Any]:
        return self.source.collect()


def exposition(collectors: Iterable[Any] = ()) -> tuple[bytes, str]:
    """The text format of every process's samples (multiprocess) or this one's, plus the
    `collectors` that read state at scrape time; and its content type."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    _metrics()  # every series is declared, even before its first sample
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
