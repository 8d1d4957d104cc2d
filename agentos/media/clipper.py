"""Clipper: plan clips from scenes, then cut each one (stream copy or frame-exact x264)."""

from __future__ import annotations

import math
from pathlib import Path

import av

from agentos.errors import InvalidError
from agentos.media._common import (
    Checkpoint,
    ProgressCallback,
    StopCheck,
    atomic_output,
    never_stop,
    open_input,
)
from agentos.media._copying import CopyRules, stream_copy
from agentos.media._cutting import CutSpec, measure, transcode
from agentos.schemas.media import ClipPlan, ClipResult, Scene

_EPS = 1e-6
# Codecs whose copies may start before the cut and end after it, hidden by edit lists:
# what phones record, tested frame by frame (HEVC with x265's open GOPs). Others are copied
# only from a keyframe on the cut to a clean end, and re-encoded otherwise.
_EDIT_LIST_CODECS = frozenset({"h264", "hevc"})
# A copy from the keyframe before the cut carries up to a GOP the viewer downloads but never
# sees. Phones record 1-3 s GOPs; past 5 s (screen recorders' 10 s GOPs) a clip could be
# mostly hidden video, and a re-encode is the better deal.
MAX_LEAD_S = 5.0


def _merge_short(segments: list[list[float]], min_clip_s: float) -> list[list[float]]:
    """Fold every segment shorter than the minimum into its shorter neighbour."""
    segs = [list(s) for s in segments]
    while len(segs) > 1:
        short = [i for i, (s, e) in enumerate(segs) if e - s < min_clip_s - _EPS]
        if not short:
            break
        i = min(short, key=lambda j: segs[j][1] - segs[j][0])
        if i == 0:
            j = 1
        elif i == len(segs) - 1:
            j = i - 1
        else:
            before, after = segs[i - 1], segs[i + 1]
            j = i - 1 if before[1] - before[0] <= after[1] - after[0] else i + 1
        lo, hi = min(i, j), max(i, j)
        segs[lo : hi + 1] = [[segs[lo][0], segs[hi][1]]]
    return segs


def _split_long(
    start: float, end: float, max_clip_s: float, fps: float | None
) -> list[tuple[float, float]]:
    """Split evenly into the fewest parts under the maximum: the longest parts possible,
    so none falls under the minimum unless max_clip_s < 2 * min_clip_s."""
    length = end - start
    if length <= max_clip_s + _EPS:
        return [(start, end)]
    parts = math.ceil(length / max_clip_s - _EPS)
    points = [start + length * k / parts for k in range(parts + 1)]
    if fps:
        points[1:-1] = [round(p * fps) / fps for p in points[1:-1]]
    return [(points[k], points[k + 1]) for k in range(parts) if points[k + 1] > points[k]]


def plan_clips(
    scenes: list[Scene],
    *,
    duration: float,
    min_clip_s: float,
    max_clip_s: float,
    fps: float | None = None,
    start_time: float = 0.0,
) -> list[ClipPlan]:
    """Clips covering the scenes: short scenes merged with a neighbour, long ones split.

    The video spans [start_time, start_time + duration] (MediaInfo.start_time, .duration).
    With `fps`, split points fall on frame boundaries.
    """
    if duration <= 0:
        raise InvalidError("duration must be positive", code="BAD_PARAMETER")
    if min_clip_s < 0 or max_clip_s <= 0 or max_clip_s < min_clip_s:
        raise InvalidError(
            "clip bounds need 0 <= min_clip_s <= max_clip_s and max_clip_s > 0",
            code="BAD_PARAMETER",
            details={"min_clip_s": min_clip_s, "max_clip_s": max_clip_s},
        )
    first, last = start_time, start_time + duration
    segments = [
        [max(first, s.start), min(last, s.end)]
        for s in sorted(scenes, key=lambda s: s.start)
        if min(last, s.end) > max(first, s.start)
    ] or [[first, last]]
    merged = _merge_short(segments, min_clip_s)
    pieces = [p for s, e in merged for p in _split_long(s, e, max_clip_s, fps)]
    return [ClipPlan(ordinal=i, start=s, end=e) for i, (s, e) in enumerate(pieces)]


def _output_size(width: int, height: int, target: int | None) -> tuple[int, int]:
    """Keep the aspect ratio, never upscale, keep both sides even for yuv420p."""
    h = height if target is None else min(target, height)
    h = max(2, h // 2 * 2)
    w = max(2, round(width * h / height / 2) * 2)
    return w, h


def _keyframe_before(start: float, keyframes: list[float], tolerance: float) -> float | None:
    """The last keyframe at (within `tolerance`) or before `start`, if any."""
    return max((k for k in keyframes if k <= start + tolerance), default=None)


def _copy_rules(codec: str, max_lead_s: float) -> CopyRules:
    if codec in _EDIT_LIST_CODECS:
        return CopyRules(max_lead_s=max_lead_s, hide_tail=True)
    return CopyRules(max_lead_s=0.0, hide_tail=False)


def cut(
    source: Path,
    plan: ClipPlan,
    *,
    dest: Path,
    keyframes: list[float],
    reencode_height: int | None,
    should_stop: StopCheck = never_stop,
    on_progress: ProgressCallback | None = None,
    preset: str = "veryfast",
    crf: int = 21,
    max_lead_s: float = MAX_LEAD_S,
) -> ClipResult:
    """Write `plan` of `source` to `dest` (mp4), replacing it atomically.

    Without a requested height, a stream copy, frame-exact by its edit lists (_copying):
    an H.264 or HEVC clip may start up to `max_lead_s` after a keyframe and end anywhere;
    other codecs must start on a keyframe and end cleanly. Otherwise (or with a height) a
    frame-exact libx264 re-encode starting exactly at `plan.start`.
    """
    if plan.end <= plan.start:
        raise InvalidError("A clip must end after it starts", code="BAD_PARAMETER")
    checkpoint = Checkpoint(should_stop, on_progress)
    with open_input(source) as probe_container:
        if not probe_container.streams.video:
            raise InvalidError(f"{source.name} has no video stream", code="UNSUPPORTED_MEDIA")
        vin = probe_container.streams.video[0]
        rate = float(vin.average_rate or vin.guessed_rate or 25)
        size = _output_size(vin.width, vin.height, reencode_height)
        rules = _copy_rules(vin.codec_context.name, max_lead_s)
    keyframe = _keyframe_before(plan.start, keyframes, 0.5 / rate)
    spec = CutSpec(plan.start, plan.end, frame_s=1.0 / rate, size=size, keyframe=keyframe)
    method = "reencode"
    with atomic_output(dest, ".mp4") as tmp:
        lead = math.inf if keyframe is None else plan.start - keyframe
        copyable = reencode_height is None and lead <= rules.max_lead_s + spec.tolerance
        if copyable and _try_copy(source, tmp, spec, checkpoint, rules):
            method = "copy"
        else:
            transcode(source, tmp, spec, checkpoint, preset=preset, crf=crf)
        measured = measure(tmp)
        size_bytes = tmp.stat().st_size
    checkpoint.done()
    return ClipResult(
        ordinal=plan.ordinal,
        path=str(dest),
        start=plan.start,
        end=plan.end,
        size_bytes=size_bytes,
        method=method,
        **measured,
    )


def _try_copy(
    source: Path, tmp: Path, spec: CutSpec, checkpoint: Checkpoint, rules: CopyRules
) -> bool:
    """Stream copy; False when the stream cannot be copied cleanly (then we re-encode)."""
    try:
        return stream_copy(source, tmp, spec, checkpoint, rules)
    except av.FFmpegError:
        return False
