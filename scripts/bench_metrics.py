"""The request metrics' cost: the same route with and without the metrics middleware.

    python scripts/bench_metrics.py [--requests 4000] [--rounds 6] [--path /]

Two apps on one embedded runtime, identical but for the edge's metrics recorder (which feeds the
Prometheus histogram of `GET /metrics` and the shared counters of
`/api/analytics/metrics`). Requests go through the ASGI interface in process (no socket,
so the ratio is not diluted by network cost), alternating A-B-B-A rounds; the metrics
app also runs its once-a-second counter flush. Prints requests/s of each and the ratio
(aim >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from agentos.db.migrate import upgrade_to_head
from agentos.server.app import create_app
from agentos.server.edge import Edge
from agentos.services.runtime import Runtime
from agentos.settings import Settings


def _apps(home: Path) -> tuple[FastAPI, FastAPI, Runtime]:
    settings = Settings(
        home=home,
        embedded_workers=False,
        ratelimit_public_per_min=10_000_000,
        ratelimit_burst_factor=0,
    )
    runtime = Runtime(settings)
    upgrade_to_head(runtime.engine)
    with_metrics = create_app(runtime)
    without = create_app(runtime)
    for middleware in without.user_middleware:
        if middleware.cls is Edge:  # the same edge, recording nothing
            middleware.kwargs["recorder"] = None
    return with_metrics, without, runtime


async def _round(app: FastAPI, path: str, requests: int, concurrency: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.get(path)
                assert response.status_code == 200, response.status_code

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def _main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="agentos-bench-metrics-") as home:
        with_metrics, without, runtime = _apps(Path(home))
        for app in (with_metrics, without):  # warm-up: middleware stacks built, caches filled
            await _round(app, args.path, 500, args.concurrency)
        rates: dict[str, list[float]] = {"metrics": [], "none": []}
        order = ["metrics", "none", "none", "metrics"]
        for index in range(args.rounds):
            for kind in order if index % 2 == 0 else reversed(order):
                app = with_metrics if kind == "metrics" else without
                rate = await _round(app, args.path, args.requests, args.concurrency)
                rates[kind].append(rate)
                print(f"round {index + 1} {kind:7} {rate:8.0f} req/s")
        runtime.close()
    measured, baseline = statistics.median(rates["metrics"]), statistics.median(rates["none"])
    ratio = measured / baseline
    verdict = "met" if ratio >= args.aim else "MISSED"
    print(f"\nGET {args.path}: with metrics {measured:.0f} req/s, without {baseline:.0f} req/s")
    print(f"ratio {ratio:.3f} (aim >= {args.aim}: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=6, help="ABBA round pairs")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--path", default="/", help="a route that needs no token")
    parser.add_argument("--aim", type=float, default=0.95)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
