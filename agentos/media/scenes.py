"""Content-based scene detection: one threaded decode pass, then cheap re-detection.

`analyse` decodes once and keeps a score per frame: the mean absolute difference of hue,
saturation and value between consecutive frames, on PySceneDetect's ContentDetector scale
(OpenCV's 8-bit HSV: H 0..179, S and V 0..255), so its default threshold of 27 carries over.
Two departures, both for correctness: hue is circular (350 deg and 10 deg are 20 deg
apart, not 340), and hue only counts where a pixel has colour at all: the hue of a grey
or near-black pixel is noise, and counting it is what makes dark noisy footage cut.

`detect` turns scores into scenes with ContentDetector's merge filter (its flash filter in
MERGE mode): a run of cuts closer together than the minimum scene length collapses into
one, so a flash or a burst of fast edits yields one boundary, not several.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from agentos.errors import InvalidError
from agentos.media._common import (
    Checkpoint,
    ProgressCallback,
    Scaler,
    StopCheck,
    fraction_of,
    media_error,
    never_stop,
    open_input,
)
from agentos.schemas.media import FrameScores, Scene

# Below this chroma (max-min of R,G,B, 0..255) a pixel's hue is ramped out of the score.
_CHROMA_FULL = 32.0


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def analysis_scaler(width: int, height: int) -> Scaler:
    """FFmpeg scaling to planar G, B, R (AREA averages away pixel noise)."""
    return Scaler(width, height, "gbrp", "AREA")


def frame_planes(frame: av.VideoFrame, scaler: Scaler) -> tuple[np.ndarray, ...]:
    """`frame` scaled by `scaler` (from `analysis_scaler`) as uint8 R, G, B planes."""
    small = scaler(frame)
    return _plane(small, 2), _plane(small, 0), _plane(small, 1)


def hsv_planes(
    r8: np.ndarray, g8: np.ndarray, b8: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 R, G, B planes -> float32 H (0..180), S, V (0..255) and chroma weight (0..1)."""
    v8 = np.maximum(np.maximum(r8, g8), b8)
    chroma = (v8 - np.minimum(np.minimum(r8, g8), b8)).astype(np.float32)
    r, g, b = r8.astype(np.float32), g8.astype(np.float32), b8.astype(np.float32)
    v = v8.astype(np.float32)
    inv = 30.0 / np.maximum(chroma, 1.0)
    hue = np.where(
        v8 == r8, (g - b) * inv, np.where(v8 == g8, 60.0 + (b - r) * inv, 120.0 + (r - g) * inv)
    )
    hue = np.where(hue < 0, hue + 180.0, hue)
    sat = chroma * 255.0 / np.maximum(v, 1.0)
    weight = np.minimum(chroma * (1.0 / _CHROMA_FULL), 1.0)
    return hue, sat, v, weight


def frame_score(prev: tuple[np.ndarray, ...] | None, cur: tuple[np.ndarray, ...]) -> float:
    if prev is None:
        return 0.0
    dh = np.abs(cur[0] - prev[0])
    dh = np.minimum(dh, 180.0 - dh) * np.minimum(cur[3], prev[3])
    ds = np.abs(cur[1] - prev[1])
    dv = np.abs(cur[2] - prev[2])
    return float((dh.mean() + ds.mean() + dv.mean()) / 3.0)


def _analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    if width <= analysis_width:
        return width, height
    h = max(2, round(height * analysis_width / width / 2) * 2)
    return analysis_width, h


# Spans shorter than this are not worth a decoder of their own.
MIN_SPAN_S = 2.0


@dataclass
class _Source:
    path: Path
    rate: float
    total: float
    size: tuple[int, int]


@dataclass
class _Span:
    times: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    first: tuple[np.ndarray, ...] | None = None
    last: tuple[np.ndarray, ...] | None = None


class _NoTimestampsError(Exception):
    """A frame without a time cannot be placed in its span: decode in one pass."""


def analyse(
    path: Path,
    *,
    analysis_width: int = 256,
    should_stop: StopCheck = never_stop,
    on_progress: ProgressCallback | None = None,
    keyframes: Sequence[float] = (),
    workers: int = 1,
) -> FrameScores:
    """Decode `path` once and score every frame; see the module docstring.

    With the probe's `keyframes` and `workers` > 1, the video is cut at keyframes into that
    many spans, each decoded by its own thread (PyAV lets go of the GIL while it decodes
    and scales): one decoder per core costs less than one decoder's frame threads, and the
    scoring runs in parallel too. The scores are the same as one pass's: a span decodes
    from its keyframe and stops at the next span's, and the score of a span's first frame
    is taken against the last frame of the span before it.
    """
    if analysis_width < 16:
        raise InvalidError("analysis_width must be at least 16 pixels", code="BAD_PARAMETER")
    checkpoint = Checkpoint(should_stop, on_progress)
    source = _source(path, analysis_width)
    bounds = _span_bounds(keyframes, source.total, workers)
    try:
        spans = _score_spans(source, bounds, checkpoint) if len(bounds) > 1 else None
    except _NoTimestampsError:
        spans = None
    if spans is None:
        spans = [_score_span(source, None, None, checkpoint, "AUTO", lambda _t: None)]
    for before, span in itertools.pairwise(spans):
        if span.scores and span.first is not None:
            span.scores[0] = frame_score(before.last, span.first)
    times = [t for span in spans for t in span.times]
    if not times:
        raise InvalidError(f"{path.name} has no decodable frames", code="CORRUPT_MEDIA")
    checkpoint.done()
    return FrameScores(
        timestamps=times,
        scores=[score for span in spans for score in span.scores],
        fps=source.rate,
        start_time=times[0],
        duration=times[-1] + 1.0 / source.rate - times[0],
        analysis_width=source.size[0],
        analysis_height=source.size[1],
    )


def _source(path: Path, analysis_width: int) -> _Source:
    with open_input(path) as container:
        if not container.streams.video:
            raise InvalidError(f"{path.name} has no video stream", code="UNSUPPORTED_MEDIA")
        stream = container.streams.video[0]
        return _Source(
            path=path,
            rate=float(stream.average_rate or stream.guessed_rate or 25),
            total=float(container.duration or 0) / av.time_base,
            size=_analysis_size(stream.width, stream.height, analysis_width),
        )


def _span_bounds(keyframes: Sequence[float], total: float, workers: int) -> list[float]:
    """Span starts: 0, then the keyframes nearest to equal shares of the video."""
    count = min(workers, int(total // MIN_SPAN_S))
    starts = [0.0]
    for k in range(1, max(count, 1)):
        target = total * k / count
        nearest = min(keyframes, key=lambda t: abs(t - target), default=None)
        if nearest is not None and nearest - starts[-1] >= MIN_SPAN_S:
            starts.append(nearest)
    if len(starts) > 1 and total - starts[-1] < MIN_SPAN_S:
        starts.pop()
    return starts


def _score_spans(source: _Source, starts: list[float], checkpoint: Checkpoint) -> list[_Span]:
    done = [0.0] * len(starts)
    halt = threading.Event()

    def report(index: int, lo: float) -> Callable[[float], None]:
        def at(t: float) -> None:
            done[index] = max(0.0, t - lo)
            checkpoint.tick(fraction_of(sum(done), source.total))

        return at

    def run(index: int) -> _Span:
        lo = starts[index]
        hi = starts[index + 1] if index + 1 < len(starts) else None
        try:
            return _score_span(source, lo, hi, checkpoint, "NONE", report(index, lo), halt)
        except BaseException:
            halt.set()  # the other spans stop at their next frame
            raise

    with ThreadPoolExecutor(len(starts), thread_name_prefix="scenes-span") as pool:
        futures = [pool.submit(run, index) for index in range(len(starts))]
        return [future.result() for future in futures]


def _score_span(
    source: _Source,
    lo: float | None,
    hi: float | None,
    checkpoint: Checkpoint,
    thread_type: str,
    report: Callable[[float], None],
    halt: threading.Event | None = None,
) -> _Span:
    """Score the frames shown in [lo, hi) (None: from the start / to the end)."""
    span = _Span()
    tolerance = 0.5 / source.rate
    with open_input(source.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = thread_type
        # Deblocking only polishes edges; skipping it speeds decoding and barely moves scores.
        stream.codec_context.options = {"skip_loop_filter": "all"}
        if lo and stream.time_base is not None:
            container.seek(round(lo / stream.time_base), stream=stream, backward=True)
        scaler = analysis_scaler(*source.size)
        try:
            for frame in container.decode(stream):
                if frame.time is None and lo is not None:
                    raise _NoTimestampsError
                t = frame.time if frame.time is not None else len(span.times) / source.rate
                if lo is not None and t < lo - tolerance:
                    continue  # before the span (a leading picture of an open GOP)
                if hi is not None and t >= hi - tolerance:
                    break  # the next span's first frame: every frame before it is out
                if halt is not None and halt.is_set():
                    break
                cur = hsv_planes(*frame_planes(frame, scaler))
                span.times.append(t)
                span.scores.append(frame_score(span.last, cur))
                span.first = span.first if span.first is not None else cur
                span.last = cur
                report(t)
                if lo is None:
                    checkpoint.tick(fraction_of(t, source.total))
        except av.FFmpegError as exc:
            raise media_error(source.path, exc) from exc
    return span


def detect_cuts(scores: FrameScores, *, threshold: float, min_scene_s: float) -> list[float]:
    """Cut times, with ContentDetector's MERGE flash filter (seconds, not frames)."""
    times, values = scores.timestamps, scores.scores
    if not times:
        return []
    if min_scene_s <= 0:
        return [t for t, s in zip(times, values, strict=True) if s >= threshold]
    cuts: list[float] = []
    last_above = times[0]
    merge_enabled = merging = False
    merge_start = times[0]
    eps = 1e-6  # frame times are floats; a gap of exactly min_scene_s must count as met
    for t, score in zip(times, values, strict=True):
        above = score >= threshold
        length_met = t - last_above >= min_scene_s - eps
        if above:
            last_above = t
        if merging:
            if length_met and not above and last_above - merge_start >= min_scene_s - eps:
                merging = False
                cuts.append(last_above)
            continue
        if not above:
            continue
        if length_met:
            merge_enabled = True
            cuts.append(t)
        elif merge_enabled:
            merging, merge_start = True, t
    return cuts


def detect(
    scores: FrameScores, *, threshold: float = 27.0, min_scene_s: float = 0.6
) -> list[Scene]:
    """Scenes covering the whole video, from stored scores: no decoding."""
    if threshold <= 0:
        raise InvalidError("threshold must be positive", code="BAD_PARAMETER")
    bounds = [
        scores.start_time,
        *detect_cuts(scores, threshold=threshold, min_scene_s=min_scene_s),
    ]
    ends = [*bounds[1:], scores.start_time + scores.duration]
    return [
        Scene(index=i, start=s, end=e) for i, (s, e) in enumerate(zip(bounds, ends, strict=True))
    ]


def save_scores(scores: FrameScores, path: Path) -> Path:
    """Store scores compactly (.npz: float64 times, float32 scores); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = np.array(
        [
            scores.fps,
            scores.duration,
            scores.analysis_width,
            scores.analysis_height,
            scores.start_time,
        ],
        np.float64,
    )
    with path.open("wb") as handle:
        np.savez(
            handle,
            timestamps=np.asarray(scores.timestamps, np.float64),
            scores=np.asarray(scores.scores, np.float32),
            meta=meta,
        )
    return path


def load_scores(path: Path) -> FrameScores:
    try:
        with np.load(path, allow_pickle=False) as data:
            times, values, meta = data["timestamps"], data["scores"], data["meta"]
        if meta.shape != (5,):
            raise ValueError(f"unexpected metadata shape {meta.shape}")
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidError(f"Cannot read frame scores {path}: {exc}", code="BAD_SCORES") from exc
    return FrameScores(
        timestamps=times.tolist(),
        scores=values.astype(np.float64).tolist(),
        fps=float(meta[0]),
        duration=float(meta[1]),
        analysis_width=int(meta[2]),
        analysis_height=int(meta[3]),
        start_time=float(meta[4]),
    )
