"""The six stage functions: media work (agentos.media) plus the rows each stage writes.

Each function gets a `StageContext` and returns a `StageResult` whose `apply` writes the
stage's rows in the same transaction that completes the step. Files are written under
temporary names and renamed into place (agentos.media does it), and their names depend
only on the job and the clip's ordinal and bounds, so a re-run after a crash or a
redelivery overwrites rather than duplicates; clip rows are upserted on the unique
(job_id, ordinal).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Clip, Job
from agentos.errors import InvalidError
from agentos.media import clipper, ingest, probe, scenes, thumbs
from agentos.schemas.media import ClipPlan, ClipResult, FrameScores, MediaInfo, Scene
from agentos.services.pipeline.monitor import StopCheck, never
from agentos.services.pipeline.stage import StageContext, StageFunction, StageResult
from agentos.settings import Settings

T = TypeVar("T")
R = TypeVar("R")


def _ignore_progress(_fraction: float) -> None:
    return None


def media_dir(settings: Settings, job_id: uuid.UUID) -> Path:
    """Where a job's source and scene scores live once ingested."""
    return settings.home_dir / "media" / str(job_id)


def clips_dir(settings: Settings, job_id: uuid.UUID) -> Path:
    return settings.clips_dir / str(job_id)


def _source(context: StageContext) -> Path:
    path = context.job.get("source_path")
    if not path:
        raise InvalidError("the job has no source file", code="SOURCE_MISSING")
    return Path(path)


def _media_info(context: StageContext) -> MediaInfo:
    info = context.job.get("media_info")
    if not info:
        raise InvalidError("the job was not probed", code="NOT_PROBED")
    return MediaInfo.model_validate(info)


def run_ingest(context: StageContext) -> StageResult:
    """Verify the source and put it in the job's storage: an upload's file is the job's own
    and is moved; a file the job was only pointed at (the seed's demo video, which many
    jobs share; a path given at creation) is copied and left where it was."""
    source = _source(context)
    result = ingest.ingest(
        source,
        dest_dir=media_dir(context.settings, context.job_id),
        expected_sha256=context.job.get("source_sha256"),
        should_stop=context.should_stop,
        on_progress=context.on_progress,
        dest_name=f"source{source.suffix.lower()}",
        move=context.job.get("upload_id") is not None,
    )

    def apply(_session: Session, job: Job) -> None:
        job.source_path = result.path
        job.source_sha256 = result.sha256
        job.source_size = result.size_bytes

    return StageResult(output=result.model_dump(), apply=apply)


def run_probe(context: StageContext) -> StageResult:
    info = probe.probe(
        _source(context), should_stop=context.should_stop, on_progress=context.on_progress
    )

    def apply(_session: Session, job: Job) -> None:
        job.media_info = info.model_dump(mode="json")

    return StageResult(output=probe_summary(info), apply=apply)


def probe_summary(info: MediaInfo) -> dict[str, Any]:
    """The probe step's output: the media info without its (long) keyframe list."""
    summary = info.model_dump(mode="json", exclude={"keyframes"})
    summary["keyframe_count"] = len(info.keyframes)
    return summary


def run_scenes(context: StageContext) -> StageResult:
    config = context.config
    scores_path = media_dir(context.settings, context.job_id) / "scores.npz"
    width = int(config.get("analysis_width", 256))
    reused = False
    frame_scores = None
    if scores_path.is_file():
        with contextlib.suppress(Exception):  # unreadable or stale: decode again
            frame_scores = scenes.load_scores(scores_path)
            reused = frame_scores.analysis_width == width
    if frame_scores is None or not reused:
        frame_scores = scenes.analyse(
            _source(context),
            analysis_width=width,
            should_stop=context.should_stop,
            on_progress=context.on_progress,
            keyframes=(context.job.get("media_info") or {}).get("keyframes") or (),
            workers=int(config.get("parallel") or 0) or os.cpu_count() or 1,
        )
        scenes.save_scores(frame_scores, scores_path)
    found = scenes.detect(
        frame_scores,
        threshold=float(config["threshold"]),
        min_scene_s=float(config["min_scene_s"]),
    )
    return StageResult(
        output=scenes_summary(found, config, scores_path, frame_scores, reused=reused)
    )


def scenes_summary(
    found: list[Scene],
    config: dict[str, Any],
    scores_path: Path,
    frame_scores: FrameScores,
    *,
    reused: bool,
) -> dict[str, Any]:
    """The scenes step's output; its `scenes` list is what the clipper cuts by."""
    return {
        "scenes": [scene.model_dump(mode="json") for scene in found],
        "threshold": float(config["threshold"]),
        "min_scene_s": float(config["min_scene_s"]),
        "scores_path": str(scores_path),
        "scores_reused": reused,
        "frames": len(frame_scores.scores),
    }


def clip_path(directory: Path, plan: ClipPlan) -> Path:
    """A clip's file: named by its ordinal and bounds, so a re-run overwrites it."""
    return directory / (
        f"clip_{plan.ordinal:03d}_{round(plan.start * 1000)}-{round(plan.end * 1000)}.mp4"
    )


def each_clip(
    items: list[T],
    work: Callable[[T], R],
    *,
    parallel: int,
    on_progress: Callable[[float], None],
) -> list[R]:
    """`work` on every item, `parallel` at a time (0: one per CPU), results in item order.

    PyAV lets go of the GIL while it decodes, encodes and scales, so threads do use every
    core. The first failure (a cancellation included) stops the items not yet started;
    the ones under way stop at their next check.
    """
    count = max(1, min(parallel or os.cpu_count() or 1, len(items)))
    results: list[R] = []
    if count == 1:
        for item in items:
            results.append(work(item))
            on_progress(len(results) / len(items))
        return results
    with ThreadPoolExecutor(count, thread_name_prefix="clip") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in futures:
                results.append(future.result())
                on_progress(len(results) / len(items))
        finally:
            for future in futures:
                future.cancel()
    return results


def run_clipper(context: StageContext) -> StageResult:
    config, info = context.config, _media_info(context)
    found = [Scene.model_validate(s) for s in context.outputs.get("scenes", {}).get("scenes", [])]
    if not found:
        raise InvalidError("no scenes were detected for this job", code="NO_SCENES")
    directory = clips_dir(context.settings, context.job_id)
    results = cut_clips(
        _source(context),
        info,
        found,
        config,
        directory,
        should_stop=context.should_stop,
        on_progress=context.on_progress,
    )
    keep = {Path(result.path).name for result in results}

    def apply(session: Session, job: Job) -> None:
        _store_clips(session, job, results)
        for stray in directory.glob("clip_*.mp4"):
            if stray.name not in keep:
                stray.unlink(missing_ok=True)
                stray.with_suffix(".jpg").unlink(missing_ok=True)

    return StageResult(output=clips_summary(results), apply=apply)


def cut_clips(
    source: Path,
    info: MediaInfo,
    found: list[Scene],
    config: dict[str, Any],
    directory: Path,
    *,
    should_stop: StopCheck = never,
    on_progress: Callable[[float], None] = _ignore_progress,
) -> list[ClipResult]:
    """The clipper's media work: clips planned at `found` within the configured bounds,
    each cut from `source` into `directory`."""
    plan = clipper.plan_clips(
        found,
        duration=info.duration,
        min_clip_s=float(config["min_clip_s"]),
        max_clip_s=float(config["max_clip_s"]),
        fps=info.fps,
    )

    def cut(item: ClipPlan) -> ClipResult:
        return clipper.cut(
            source,
            item,
            dest=clip_path(directory, item),
            keyframes=info.keyframes,
            reencode_height=config.get("reencode_height"),
            should_stop=should_stop,
        )

    return each_clip(plan, cut, parallel=int(config.get("parallel") or 0), on_progress=on_progress)


def clips_summary(results: list[ClipResult]) -> dict[str, Any]:
    """The clipper step's output."""
    return {
        "clips": len(results),
        "copied": sum(1 for r in results if r.method == "copy"),
        "reencoded": sum(1 for r in results if r.method == "reencode"),
    }


def _store_clips(session: Session, job: Job, results: list[ClipResult]) -> None:
    """Upsert on (job_id, ordinal); clips of an earlier, longer plan are removed."""
    existing = {
        clip.ordinal: clip for clip in session.scalars(select(Clip).where(Clip.job_id == job.id))
    }
    wanted = {result.ordinal for result in results}
    for ordinal, clip in existing.items():
        if ordinal not in wanted:
            session.delete(clip)
    for result in results:
        found = existing.get(result.ordinal)
        clip = found if found is not None else Clip(job_id=job.id, ordinal=result.ordinal)
        if found is None:
            session.add(clip)
        values: dict[str, Any] = {
            "start": result.start,
            "end": result.end,
            "duration": result.duration,
            "width": result.width,
            "height": result.height,
            "fps": result.fps,
            "codec": result.codec,
            "size_bytes": result.size_bytes,
            "path": result.path,
            "status": "pending",
        }
        if clip.path != result.path:
            clip.thumbnail_path = None
        for key, value in values.items():
            setattr(clip, key, value)
    session.flush()


def run_thumbs(context: StageContext) -> StageResult:
    with_paths = _clip_paths(context)
    made = make_thumbnails(
        [path for _id, path in with_paths],
        context.config,
        should_stop=context.should_stop,
        on_progress=context.on_progress,
    )
    done = {clip_id: path for (clip_id, _clip), path in zip(with_paths, made, strict=True)}

    def apply(session: Session, job: Job) -> None:
        for clip in session.scalars(select(Clip).where(Clip.job_id == job.id)):
            if clip.id in done:
                clip.thumbnail_path = done[clip.id]

    return StageResult(output={"thumbnails": len(done)}, apply=apply)


def make_thumbnails(
    paths: list[str],
    config: dict[str, Any],
    *,
    should_stop: StopCheck = never,
    on_progress: Callable[[float], None] = _ignore_progress,
) -> list[str]:
    """The thumbs stage's media work: a JPEG next to each clip; their paths, in order."""
    width, quality = int(config["width"]), int(config["quality"])

    def thumbnail(path: str) -> str:
        dest = Path(path).with_suffix(".jpg")
        return thumbs.thumbnail(
            Path(path), dest=dest, width=width, quality=quality, should_stop=should_stop
        ).path

    return each_clip(
        paths, thumbnail, parallel=int(config.get("parallel") or 0), on_progress=on_progress
    )


def _clip_paths(context: StageContext) -> list[tuple[uuid.UUID, str]]:

    with context.runtime.session() as session:
        rows = session.execute(
            select(Clip.id, Clip.path).where(Clip.job_id == context.job_id).order_by(Clip.ordinal)
        ).all()
    missing = [path for _id, path in rows if not path or not Path(path).is_file()]
    if missing:
        raise InvalidError(f"{len(missing)} clip file(s) are missing", code="CLIP_MISSING")
    return [(clip_id, str(path)) for clip_id, path in rows]


def run_publish(context: StageContext) -> StageResult:
    clips = _clip_paths(context)

    def apply(session: Session, job: Job) -> None:
        for clip in session.scalars(select(Clip).where(Clip.job_id == job.id)):
            clip.status = "ready"

    return StageResult(output={"clips": len(clips)}, apply=apply)


STAGES: dict[str, StageFunction] = {
    "ingest": run_ingest,
    "probe": run_probe,
    "scenes": run_scenes,
    "clipper": run_clipper,
    "thumbs": run_thumbs,
    "publish": run_publish,
}
