"""The seed's demo media: one short real video that every unfinished seeded job points at.

Seeded jobs that a worker will pick up (pending, queued, processing) must run: their
source is one small synthesized video (a few scenes, so scene detection finds cuts and the
clipper cuts clips), written once per `db reset-and-seed` under `uploads/seed-demo/` and
shared by all of them (ingest copies a source the job was only pointed at, so it stays for
the others). Whatever the stages before a job's current one would have left behind is made
here once, by the same media functions the stages run, with the agents' default settings:
the real checksum and size, the media info, the scenes, the clips and their thumbnails.
A seeded job resuming at any stage therefore finds exactly what that stage reads.
Finished seeded jobs (completed, failed, cancelled) keep made-up media: they never run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentos.media import probe, scenes
from agentos.media.ingest import sha256_file
from agentos.media.synth import SceneSpec, make_test_video
from agentos.schemas.media import IngestResult, MediaInfo, Scene
from agentos.services.jobs.catalog import PIPELINE, default_config
from agentos.services.pipeline.stage_functions import (
    clips_summary,
    cut_clips,
    make_thumbnails,
    probe_summary,
    scenes_summary,
)
from agentos.settings import Settings

DEMO_DIR = "seed-demo"
DEMO_NAME = "demo.mp4"
# Three scenes of 2.2 s, each one clip within the clipper's default bounds (2-60 s); small
# and at 20 fps, since drawing the frames is most of what the seed spends here.
_SCENES = (
    SceneSpec(kind="solid", duration=2.2, hue=210, saturation=0.7, value=0.85),
    SceneSpec(kind="gradient", duration=2.2, hue=100, saturation=0.8, value=0.45),
    SceneSpec(kind="solid", duration=2.2, hue=350, saturation=0.9, value=0.9),
)
_SIZE, _FPS = (192, 108), 20
CLIP_COLUMNS: tuple[str, ...] = (
    "ordinal", "start", "end", "duration", "width", "height", "fps", "codec", "size_bytes",
    "path", "thumbnail_path",
)  # fmt: skip


@dataclass(frozen=True)
class DemoMedia:
    """The demo video and what each stage made of it (see the module docstring)."""

    path: str
    sha256: str
    size: int
    media_info: dict[str, Any]
    # The completed step's output per pipeline position (publish has none: it is last).
    outputs: tuple[dict[str, Any], ...]
    # One row per clip, in CLIP_COLUMNS order.
    clips: tuple[tuple[Any, ...], ...] = field(default_factory=tuple)

    def output(self, agent: str) -> dict[str, Any]:
        return self.outputs[PIPELINE.index(agent)]

    def clips_json(self) -> list[dict[str, Any]]:
        return [dict(zip(CLIP_COLUMNS, row, strict=True)) for row in self.clips]


def demo_dir(settings: Settings) -> Path:
    return settings.uploads_dir / DEMO_DIR


def prepare(settings: Settings) -> DemoMedia:
    """Write the demo video and its stage results under uploads/seed-demo/ (replacing any)."""
    directory = demo_dir(settings)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    video = directory / DEMO_NAME
    width, height = _SIZE
    make_test_video(
        video, scenes=list(_SCENES), fps=_FPS, width=width, height=height, keyframes_at_cuts=True
    )
    sha256, size = sha256_file(video), video.stat().st_size
    ingested = IngestResult(path=str(video), sha256=sha256, size_bytes=size, action="copied")
    info = probe.probe(video)
    found, scenes_output = _scenes(video, info, directory)
    results = cut_clips(video, info, found, default_config("clipper"), directory / "clips")
    made = make_thumbnails([result.path for result in results], default_config("thumbs"))
    rows = tuple(
        (
            result.ordinal, result.start, result.end, result.duration, result.width,
            result.height, result.fps, result.codec, result.size_bytes, result.path, thumbnail,
        )
        for result, thumbnail in zip(results, made, strict=True)
    )  # fmt: skip
    return DemoMedia(
        path=str(video),
        sha256=sha256,
        size=size,
        media_info=info.model_dump(mode="json"),
        outputs=(
            ingested.model_dump(mode="json"),
            probe_summary(info),
            scenes_output,
            clips_summary(results),
            {"thumbnails": len(rows)},
            {"clips": len(rows)},
        ),
        clips=rows,
    )


def _scenes(video: Path, info: MediaInfo, directory: Path) -> tuple[list[Scene], dict[str, Any]]:
    """The scenes stage's work on the demo video: its scenes, and the step's output."""
    config = default_config("scenes")
    frame_scores = scenes.analyse(
        video, analysis_width=int(config["analysis_width"]), keyframes=info.keyframes
    )
    scores_path = scenes.save_scores(frame_scores, directory / "scores.npz")
    found = scenes.detect(
        frame_scores,
        threshold=float(config["threshold"]),
        min_scene_s=float(config["min_scene_s"]),
    )
    return found, scenes_summary(found, config, scores_path, frame_scores, reused=False)
