"""Run the short form of every benchmark and write what they printed to docs/benchmarks.md.

    python scripts/bench_all.py [--only ssot,actions] [--output docs/benchmarks.md]

Each benchmark measures its own baseline in the same run (a bare route, a plain decode, a
bare INSERT...) and prints the ratio, so the figures here compare within one run of one
script, never across machines. The short forms keep the whole run to about 20 minutes on
a 2-core machine; each script's docstring gives its long form.

Environment: AGENTOS_TEST_POSTGRES_URL / AGENTOS_TEST_REDIS_URL as in the test suite.
A benchmark that fails is reported as failed with its last lines; the others still run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY_LINE = re.compile(
    r"ratio|aim|goal|p50|p99|req/s|MB/s|real time|x the|rows/s|per action|per request"
    r"|\d+\.\d+\s+\d+\.\d+",  # a table row of figures (bench_history's cases)
    re.IGNORECASE,
)
MAX_KEY_LINES = 60
TAIL_LINES = 15


@dataclass(frozen=True)
class Bench:
    name: str
    path: str  # what is measured, in words
    args: tuple[str, ...]
    timeout_s: float = 900.0


BENCHES: tuple[Bench, ...] = (
    Bench(
        "ssot",
        "GET /api/admin/ssot cache hit vs a bare FastAPI route returning the same bytes",
        (
            "scripts/bench_ssot.py",
            "--sizes",
            "2000",
            "--duration",
            "5",
            "--rounds",
            "3",
            "--rebuilds",
            "3",
        ),
    ),
    Bench(
        "actions",
        "dashboard.alert.ack through the action pipeline vs a bare INSERT route",
        ("scripts/bench_actions.py", "--requests", "300", "--rounds", "2"),
    ),
    Bench(
        "history",
        "job lists (first page, deep pages by cursor and number, filters) on PostgreSQL, "
        "8 jobs running",
        ("scripts/bench_history.py", "--jobs", "100000", "--requests", "100", "--heartbeats", "8"),
        timeout_s=1500.0,
    ),
    Bench(
        "upload",
        "chunked upload vs a bare streaming route",
        ("scripts/bench_upload.py", "--size-mb", "256", "--rounds", "1"),
    ),
    Bench(
        "pipeline",
        "a 1080p video end to end (keyframes on and off the cuts) vs a plain decode",
        ("scripts/bench_pipeline.py", "--seconds", "20"),
        timeout_s=1500.0,
    ),
    Bench(
        "metrics",
        "a route with and without the request metrics",
        ("scripts/bench_metrics.py", "--requests", "2000", "--rounds", "4"),
    ),
    Bench("health", "GET /health vs a route doing no I/O", ("scripts/bench_health.py",)),
    Bench(
        "logs",
        "request throughput with and without the log store",
        ("scripts/bench_logs.py", "--rounds", "4", "--duration", "3"),
    ),
)


@dataclass
class Outcome:
    bench: Bench
    returncode: int | None
    seconds: float
    output: str

    @property
    def verdict(self) -> str:
        if self.returncode is None:
            return "timed out"
        return "ok" if self.returncode == 0 else f"failed (exit {self.returncode})"

    def key_lines(self) -> list[str]:
        lines = [line.rstrip() for line in self.output.splitlines() if line.strip()]
        if self.returncode != 0:
            return lines[-TAIL_LINES:]
        found = [line for line in lines if KEY_LINE.search(line)]
        return (found or lines[-TAIL_LINES:])[-MAX_KEY_LINES:]


def run(bench: Bench) -> Outcome:
    print(f"== {bench.name}: {' '.join(bench.args)}", flush=True)
    started = time.perf_counter()
    try:
        finished = subprocess.run(
            [sys.executable, *bench.args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout_s,
            check=False,
        )
        returncode: int | None = finished.returncode
        output = finished.stdout + finished.stderr
    except subprocess.TimeoutExpired as expired:
        returncode = None
        output = _text(expired.stdout) + _text(expired.stderr)
    outcome = Outcome(bench, returncode, time.perf_counter() - started, output)
    print(f"   {outcome.verdict} in {outcome.seconds:.0f} s", flush=True)
    for line in outcome.key_lines():
        print(f"   {line}")
    return outcome


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- machine: {platform.node()}, {cpu}, {os.cpu_count()} cores, {memory} memory",
        f"- system: {platform.platform()}; Python {platform.python_version()}",
        f"- load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def report(outcomes: list[Outcome], started: datetime) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python scripts/bench_all.py` (the short form of every benchmark under",
        "`scripts/`); each figure is against a baseline measured in the same run of the same",
        "script. Rerun it rather than compare with another machine's figures.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC",
        *machine(),
        "",
        "| benchmark | what | command | result | time |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        command = "python " + " ".join(outcome.bench.args)
        lines.append(
            f"| {outcome.bench.name} | {outcome.bench.path} | `{command}` | {outcome.verdict} "
            f"| {outcome.seconds:.0f} s |"
        )
    for outcome in outcomes:
        lines += ["", f"## {outcome.bench.name}", "", outcome.bench.path, "", "```"]
        lines += outcome.key_lines()
        lines += ["```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - {bench.name for bench in BENCHES}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    outcomes = [run(bench) for bench in BENCHES if not wanted or bench.name in wanted]
    args.output.write_text(report(outcomes, started))
    print(f"\nwrote {args.output}")
    if any(outcome.returncode != 0 for outcome in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
