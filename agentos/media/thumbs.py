"""Thumbnails: one JPEG per clip, encoded with FFmpeg's mjpeg encoder (no Pillow needed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from agentos.errors import InvalidError
from agentos.media._common import (
    Checkpoint,
    StopCheck,
    atomic_output,
    media_error,
    never_stop,
    open_input,
)
from agentos.schemas.media import ThumbResult

# Where in the clip the representative frame is taken: past any fade-in, well before the end.
_POSITION = 1 / 3


def jpeg_qscale(quality: int) -> int:
    """Map a 1..100 JPEG quality (higher is better) onto FFmpeg's qscale 2..31 (lower is)."""
    return round(2 + (100 - quality) * 29 / 99)


def _pick_frame(path: Path, checkpoint: Checkpoint) -> av.VideoFrame:
    """The first reference frame at or after 1/3 of the clip (decoded from the keyframe
    before it); the last one decoded if the clip ends first."""
    with open_input(path) as container:
        if not container.streams.video:
            raise InvalidError(f"{path.name} has no video stream", code="UNSUPPORTED_MEDIA")
        stream = container.streams.video[0]
        # Slice threads, not frame threads: a thumbnail decodes a dozen frames, fewer than
        # frame threading needs to pay for starting up (and clips are done in parallel).
        stream.thread_type = "SLICE"
        # Only reference frames, unpolished: the frames we skip are never shown, and at
        # thumbnail size deblocking is invisible. Halves the decoding up to the chosen frame.
        stream.codec_context.skip_frame = "NONREF"
        stream.codec_context.options = {"skip_loop_filter": "all"}
        tb = stream.time_base
        duration = float(container.duration or 0) / av.time_base
        target = duration * _POSITION
        if tb is not None and target > 0:
            container.seek(round(target / tb), stream=stream, backward=True)
        chosen: av.VideoFrame | None = None
        try:
            for frame in container.decode(stream):
                checkpoint.tick()
                chosen = frame
                if frame.time is None or frame.time >= target:
                    break
        except av.FFmpegError as exc:
            raise media_error(path, exc) from exc
    if chosen is None:
        raise InvalidError(f"{path.name} has no decodable frame", code="CORRUPT_MEDIA")
    return chosen


def thumbnail(
    clip_path: Path,
    *,
    dest: Path,
    width: int = 320,
    quality: int = 85,
    should_stop: StopCheck = never_stop,
) -> ThumbResult:
    """Write a JPEG of a representative frame of `clip_path` to `dest` (atomically)."""
    if not 16 <= width <= 4096 or not 1 <= quality <= 100:
        raise InvalidError(
            "Thumbnail width must be 16..4096 and quality 1..100", code="BAD_PARAMETER"
        )
    checkpoint = Checkpoint(should_stop)
    frame = _pick_frame(clip_path, checkpoint)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    # Full-range YUV: what JPEG viewers expect, and what FFmpeg's mjpeg wants by default.
    small = frame.reformat(width=width, height=height, format="yuvj420p", interpolation="AREA")
    small.pts = 0
    codec = av.CodecContext.create("mjpeg", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    q = jpeg_qscale(quality)
    codec.options = {"qmin": str(q), "qmax": str(q)}
    data = b"".join(bytes(p) for p in [*codec.encode(small), *codec.encode(None)])
    with atomic_output(dest, ".jpg") as tmp:
        tmp.write_bytes(data)
    return ThumbResult(
        path=str(dest),
        width=width,
        height=height,
        size_bytes=len(data),
        at=float(frame.time or 0.0),
    )
