"""Benchmark the media pipeline on a generated 1080p video with known cuts.

Prints, from one run on one machine (so every ratio is against a baseline measured here):
  1. our scene detection vs PySceneDetect's ContentDetector: wall time, speed ratio, and
     precision / recall / F1 of both against the true cuts (a cut within 2 frames counts);
  2. end to end: one job through the real embedded runner (SQLite, in-process agents), from
     its creation to `completed` (ingest, probe, scenes, clipper, thumbs, publish), seconds
     of video per wall second, on two inputs with the same scenes: keyframes on the cuts
     (clips stream-copied, and every clip re-encoded to 720p) and a fixed 3 s GOP whose
     keyframes are not on the cuts (as phone uploads are);
  3. a plain PyAV decode-only pass over each file, the baseline for (2) on that file;
  4. the dispatch overhead of an empty job (scripts/bench_dispatch.py, run from here).

Usage: python scripts/bench_pipeline.py [--seconds 60] [--preset veryfast] [--keep DIR]
       [--dispatch-jobs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import av

from agentos.media.probe import probe
from agentos.media.scenes import analyse, detect
from agentos.settings import Settings

# Run as `python scripts/bench_pipeline.py`, sys.path[0] is scripts/: add the project root
# so the synthetic test-video generator (tests/support/synth.py) can be imported.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.synth import SceneSpec, make_test_video, standard_scenes

FPS = 25
T = TypeVar("T")
MATCH_FRAMES = 2
PHONE_GOP_S = 3  # a fixed GOP, keyframes wherever they fall: what phones record


@dataclass
class Accuracy:
    precision: float
    recall: float
    f1: float
    found: int


def score_cuts(found: list[float], truth: list[float], tolerance: float) -> Accuracy:
    """Greedy one-to-one matching of detected cuts to true cuts within `tolerance` seconds."""
    unmatched = sorted(truth)
    hits = 0
    for t in sorted(found):
        best = min(unmatched, key=lambda u: abs(u - t), default=None)
        if best is not None and abs(best - t) <= tolerance:
            unmatched.remove(best)
            hits += 1
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Accuracy(precision, recall, f1, len(found))


def bench_scenes_list(seconds: float) -> list[SceneSpec]:
    """The reference scenes (every hard case) repeated to last about `seconds`."""
    base = standard_scenes()
    base_len = sum(s.duration for s in base)
    repeats = max(1, round(seconds / (2 * base_len)))
    scale = seconds / (repeats * base_len)
    return standard_scenes(scale) * repeats


@dataclass
class Cost:
    wall: float
    cpu: float  # every thread of this process: a fairer yardstick on a shared machine

    def rate(self, video_s: float) -> str:
        return f"{video_s / self.wall:5.1f}x real time (wall), {video_s / self.cpu:5.1f}x per CPU-second"


def timed(fn: Callable[[], T]) -> tuple[T, Cost]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, Cost(time.perf_counter() - wall, time.process_time() - cpu)


def ours(path: Path) -> list[float]:
    """As the scenes agent does it: keyframe-aligned spans, one decoder per CPU."""
    keyframes = probe(path).keyframes
    scores = analyse(path, keyframes=keyframes, workers=os.cpu_count() or 1)
    return [s.start for s in detect(scores)[1:]]


def pyscenedetect(path: Path, backend: str) -> list[float]:
    from scenedetect import ContentDetector
    from scenedetect import detect as psd_detect

    scenes = psd_detect(str(path), ContentDetector(), backend=backend)
    return [start.seconds for start, _ in scenes[1:]]


def decode_only(path: Path) -> int:
    """A plain threaded PyAV decoding loop: the baseline."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def end_to_end(path: Path, home: Path, reencode_height: int | None) -> dict[str, Any]:
    """One job through the real embedded runner (its agents, database and files): the file
    uploaded as `agentos jobs submit` does it, then timed by the job's own clock, from its
    creation to `completed` (ingest, probe, scenes, clipper, thumbs, publish)."""
    from agentos.client.local import LocalBackend
    from agentos.client.uploading import follow, submit
    from agentos.db.migrate import upgrade_to_head
    from agentos.schemas.jobs import JobOptions
    from agentos.services import agents
    from agentos.services.context import SYSTEM_ACTOR
    from agentos.services.jobs.catalog import ensure_default_agents
    from agentos.services.pipeline.embedded_runner import EmbeddedRunner
    from agentos.services.runtime import Runtime

    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(home=home)
    settings.ensure_home()
    runtime = Runtime(settings)
    upgrade_to_head(runtime.engine)
    with runtime.session() as session:
        ensure_default_agents(session)
        agents.update_config(
            session,
            agent="clipper",
            config={"reencode_height": reencode_height},
            actor=SYSTEM_ACTOR,
        )
    runner = EmbeddedRunner(runtime)
    runner.start()
    # `agentos jobs submit` locally: a LocalBackend, here on the runner's runtime.
    backend = LocalBackend(runtime, owns_runtime=False)
    try:
        upload_start = time.perf_counter()
        job_id = submit(backend, path, options=JobOptions(min_clip_s=2.0, max_clip_s=60.0)).job_id
        upload_s = time.perf_counter() - upload_start
        detail = follow(backend, job_id, on_change=lambda _d: None, poll_s=0.05)
    finally:
        runner.stop()
        runtime.close()
    if detail.status.value != "completed":
        raise SystemExit(f"the job ended {detail.status.value}: {detail.error}")
    assert detail.finished_at is not None
    clipper = next(step for step in detail.steps if step.agent == "clipper")
    stages = {step.agent: (step.duration_ms or 0) / 1000 for step in detail.steps}
    # The job's own clock: from its creation (upload finalised) to its completion.
    wall = (detail.finished_at - detail.created_at).total_seconds()
    return {**(clipper.output or {}), "wall": wall, "upload": upload_s, "stages": stages}


def bench_dispatch_overhead(jobs: int) -> None:
    """The runner's own cost (issue 4, third aim): scripts/bench_dispatch.py, in this run."""
    script = Path(__file__).with_name("bench_dispatch.py")
    found = subprocess.run(
        [sys.executable, str(script), "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = found.stdout.splitlines()
    first = next((n for n, line in enumerate(output) if line.startswith("command:")), len(output))
    lines = output[first:]
    if found.returncode != 0:
        print(f"  not measured: {script.name} exited {found.returncode}")
        print("  " + "\n  ".join(found.stderr.strip().splitlines()[-3:]))
        return
    for line in lines:
        print(f"  {line}")


def make_input(
    directory: Path, seconds: float, preset: str, gop_s: int | None
) -> tuple[Path, list[float], float]:
    """The benchmark file (made once, or reused from --keep DIR), its true cuts and the
    seconds it took to generate. gop_s None: a keyframe forced on every cut."""
    tail = f"-gop{gop_s}" if gop_s else ""
    source = directory / f"bench-1080p-{seconds:.0f}s-{preset}{tail}.mp4"
    truth_file = source.with_suffix(".cuts.json")
    if source.exists() and truth_file.exists():
        return source, json.loads(truth_file.read_text()), 0.0
    kind = f"fixed {gop_s} s GOP" if gop_s else "keyframes at cuts"
    print(f"generating {seconds:.0f} s of 1080p{FPS} ({preset}, {kind}) ...")
    truth, gen = timed(
        lambda: make_test_video(
            source,
            scenes=bench_scenes_list(seconds),
            fps=FPS,
            width=1920,
            height=1080,
            keyframes_at_cuts=gop_s is None,
            gop=gop_s * FPS if gop_s else None,
            preset=preset,
        )
    )
    truth_file.write_text(json.dumps(truth))
    return source, truth, gen.wall


def bench_scenes(source: Path, video_s: float, truth: list[float], backends: list[str]) -> None:
    print("\n1. scene detection (same file, F1 with a 2-frame tolerance)")
    tolerance = MATCH_FRAMES / FPS
    found, our = timed(lambda: ours(source))
    acc = score_cuts(found, truth, tolerance)
    print(
        f"  agentos               {our.wall:6.2f} s wall {our.cpu:6.2f} s CPU  {our.rate(video_s)}"
    )
    print(f"      P {acc.precision:.3f} R {acc.recall:.3f} F1 {acc.f1:.3f} ({acc.found} cuts)")
    for backend in backends:
        theirs, psd = timed(lambda b=backend: pyscenedetect(source, b))
        pacc = score_cuts(theirs, truth, tolerance)
        print(
            f"  PySceneDetect {backend:<8}{psd.wall:6.2f} s wall {psd.cpu:6.2f} s CPU  {psd.rate(video_s)}"
        )
        print(
            f"      P {pacc.precision:.3f} R {pacc.recall:.3f} F1 {pacc.f1:.3f} ({pacc.found} cuts)"
            f"  -> agentos {psd.wall / our.wall:.2f}x faster (wall), {psd.cpu / our.cpu:.2f}x (CPU)"
        )


def bench_end_to_end(
    title: str, source: Path, home: Path, heights: list[tuple[str, int | None]]
) -> None:
    """The runner on one file against a plain decode of that same file, in this run."""
    info = probe(source)
    source.read_bytes()  # page cache warm for every contender alike
    video_s = info.duration
    print(f"  {title}")
    _, base = timed(lambda: decode_only(source))
    print(f"    PyAV decode only    {base.rate(video_s)}  (baseline)")
    for label, height in heights:
        made = end_to_end(source, home, height)
        print(
            f"    {label:<18}{video_s / made['wall']:5.1f}x real time (wall)"
            f"  = {base.wall / made['wall']:.2f} of decode-only (wall);"
            f" {made['copied']} copied, {made['reencoded']} re-encoded"
            f" (upload before it: {made['upload']:.2f} s)"
        )
        print("        " + ", ".join(f"{k} {v:.2f} s" for k, v in made["stages"].items()))


def on_keyframe(cuts: list[float], keyframes: list[float]) -> int:
    return sum(1 for c in cuts if any(abs(k - c) < 0.5 / FPS for k in keyframes))


def run(
    seconds: float, preset: str, directory: Path, backends: list[str], dispatch_jobs: int
) -> None:
    source, truth, gen_s = make_input(directory, seconds, preset, None)
    phone, phone_truth, phone_gen_s = make_input(directory, seconds, preset, PHONE_GOP_S)
    info, phone_info = probe(source), probe(phone)
    print(
        f"  {info.duration:.1f} s, {len(truth)} true cuts, {info.size_bytes / 1e6:.1f} MB"
        f" (fixed GOP: {phone_info.size_bytes / 1e6:.1f} MB,"
        f" {on_keyframe(phone_truth, phone_info.keyframes)} cuts on a keyframe),"
        f" generated in {gen_s + phone_gen_s:.1f} s; load average {os.getloadavg()[0]:.2f}"
    )
    source.read_bytes()
    bench_scenes(source, info.duration, truth, backends)

    print("\n2./3. end to end: one job through the embedded runner vs plain decode, same file")
    home = directory / "home"
    bench_end_to_end(
        "keyframes on cuts",
        source,
        home,
        [("stream copy", None), ("re-encode 720p", 720)],
    )
    bench_end_to_end(
        f"keyframes off cuts (fixed {PHONE_GOP_S} s GOP)", phone, home, [("frame-exact cut", None)]
    )
    print(f"  load average after: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if dispatch_jobs:
        print("\n4. dispatch overhead of an empty job (scripts/bench_dispatch.py)")
        bench_dispatch_overhead(dispatch_jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--preset", default="veryfast", help="x264 preset for the test file")
    parser.add_argument(
        "--psd-backend",
        action="append",
        dest="backends",
        help="PySceneDetect backend(s) to compare (default: opencv, its default)",
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--dispatch-jobs",
        type=int,
        default=20,
        help="empty jobs for the dispatch figure (needs PostgreSQL and Redis; 0 skips it)",
    )
    args = parser.parse_args()
    backends = args.backends or ["opencv"]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.seconds, args.preset, args.keep, backends, args.dispatch_jobs)
        return
    with tempfile.TemporaryDirectory(prefix="agentos-bench-") as tmp:
        run(args.seconds, args.preset, Path(tmp), backends, args.dispatch_jobs)


if __name__ == "__main__":
    main()
