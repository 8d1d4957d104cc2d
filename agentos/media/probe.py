"""Probe: what a video is, and where its keyframes are, without decoding a frame.

Every packet is demuxed (not decoded): that yields the keyframe index the clipper needs to
stream-copy, and it proves the file is whole, since a truncated file runs out of packets
well before the duration its header claims.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.container

from agentos.errors import InvalidError
from agentos.media._common import (
    Checkpoint,
    ProgressCallback,
    StopCheck,
    fraction_of,
    media_error,
    never_stop,
    open_input,
)
from agentos.schemas.media import AudioInfo, MediaInfo

# Packets must reach this share of the announced duration, or the file is truncated.
_MIN_COVERAGE = 0.9


def _audio_info(container: av.container.InputContainer) -> AudioInfo | None:
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    return AudioInfo(
        codec=ctx.name,
        sample_rate=int(ctx.sample_rate or 0),
        channels=int(ctx.channels or 0),
    )


def _scan_packets(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    checkpoint: Checkpoint,
    announced: float,
    path: Path,
) -> tuple[list[float], int, float]:
    """Keyframe times, packet count and the end of the last packet (seconds)."""
    tb = stream.time_base
    if tb is None:
        raise InvalidError(f"{path.name}: video stream has no time base", code="CORRUPT_MEDIA")
    keyframes: list[float] = []
    count, end = 0, 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue  # the flush packet at the end, or a packet with no timing
            t = float(packet.pts * tb)
            count += 1
            end = max(end, t + float((packet.duration or 0) * tb))
            if packet.is_keyframe:
                keyframes.append(t)
            checkpoint.tick(fraction_of(t, announced))
    except av.FFmpegError as exc:
        raise media_error(path, exc) from exc
    keyframes.sort()
    return keyframes, count, end


def probe(
    path: Path,
    *,
    should_stop: StopCheck = never_stop,
    on_progress: ProgressCallback | None = None,
) -> MediaInfo:
    """Describe `path`; refuse what the pipeline cannot cut (InvalidError)."""
    checkpoint = Checkpoint(should_stop, on_progress)
    with open_input(path) as container:
        if not container.streams.video:
            raise InvalidError(f"{path.name} has no video stream", code="UNSUPPORTED_MEDIA")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        announced = float(container.duration or 0) / av.time_base
        if announced <= 0 and stream.duration and stream.time_base:
            announced = float(stream.duration * stream.time_base)
        start = float(container.start_time or 0) / av.time_base
        keyframes, count, end = _scan_packets(container, stream, checkpoint, announced, path)
        if count == 0 or (end - start) <= 0:
            raise InvalidError(f"{path.name} has no video frames", code="UNSUPPORTED_MEDIA")
        if announced > 0 and (end - start) < _MIN_COVERAGE * announced:
            raise InvalidError(
                f"{path.name} is truncated: video stops at {end:.2f}s of {announced:.2f}s",
                code="CORRUPT_MEDIA",
                details={"path": str(path), "ends_at": end, "duration": announced},
            )
        if not keyframes:
            raise InvalidError(f"{path.name} has no keyframe", code="CORRUPT_MEDIA")
        rate = stream.average_rate or stream.guessed_rate
        info = MediaInfo(
            path=str(path),
            container=container.format.name,
            size_bytes=path.stat().st_size,
            duration=announced if announced > 0 else end - start,
            start_time=start,
            fps=float(rate) if rate else count / (end - start),
            frame_count=count,
            width=ctx.width,
            height=ctx.height,
            video_codec=ctx.name,
            pixel_format=ctx.format.name if ctx.format is not None else None,
            bitrate=int(container.bit_rate) if container.bit_rate else None,
            audio=_audio_info(container),
            keyframes=keyframes,
        )
    if info.width <= 0 or info.height <= 0:
        raise InvalidError(f"{path.name}: video has no picture size", code="CORRUPT_MEDIA")
    checkpoint.done()
    return info
