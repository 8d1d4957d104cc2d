"""A clip's span, the frame-exact x264 re-encode (for what a stream copy, _copying, cannot
do) and the measure of a written clip."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.container
import numpy as np

from agentos.media._common import Checkpoint, Scaler, fraction_of, open_input

_MP4_OPTIONS = {"movflags": "+faststart"}


@dataclass(frozen=True)
class CutSpec:
    start: float
    end: float
    frame_s: float
    size: tuple[int, int]
    keyframe: float | None = None  # the last one at or before start, when known

    @property
    def tolerance(self) -> float:
        # Frame times are floats on a rational clock: half a frame decides which frame is in.
        return self.frame_s / 2

    def seek(self, container: av.container.InputContainer, stream: Any) -> None:
        """Go to the keyframe before the start (or a little before it)."""
        if self.keyframe is None:
            container.seek(round(self.start / stream.time_base), stream=stream, backward=True)
            return
        target = round(self.keyframe / stream.time_base)
        container.seek(target, stream=stream, backward=True)
        first = next(iter(container.demux(stream)), None)
        landed = (
            first is not None
            and first.is_keyframe
            and first.pts is not None
            and abs(float(first.pts * stream.time_base) - self.keyframe) <= self.tolerance
        )
        # A file with no index (MPEG-TS) is searched by decode time, and B-frames decode a
        # keyframe before they present it: the search lands just after it. A second back
        # is before it; what comes first the copy skips and the re-encode drops.
        back = 0 if landed else round(1 / stream.time_base)
        container.seek(target - back, stream=stream, backward=True)


def _open_output(path: Path) -> av.container.OutputContainer:
    return av.open(str(path), mode="w", format="mp4", options=_MP4_OPTIONS)


def _trim_audio(frame: av.AudioFrame, start: float, end: float) -> av.AudioFrame | None:
    """The part of `frame` inside [start, end), with pts relative to start (1/rate)."""
    rate = frame.sample_rate
    t0 = float(frame.time) if frame.time is not None else start
    lo = max(0, round((start - t0) * rate))
    hi = min(frame.samples, round((end - t0) * rate))
    if hi <= lo:
        return None
    if lo > 0 or hi < frame.samples:
        data = frame.to_ndarray()
        part = (
            data[:, lo:hi]
            if frame.format.is_planar
            else data[:, lo * len(frame.layout.channels) : hi * len(frame.layout.channels)]
        )
        trimmed = av.AudioFrame.from_ndarray(
            cast(Any, np.ascontiguousarray(part)),
            format=frame.format.name,
            layout=frame.layout.name,
        )
        trimmed.sample_rate = rate
        frame = trimmed
    frame.pts = round((t0 + lo / rate - start) * rate)
    frame.time_base = Fraction(1, rate)
    return frame


def transcode(
    source: Path, tmp: Path, spec: CutSpec, checkpoint: Checkpoint, *, preset: str, crf: int
) -> None:
    """Decode from the keyframe before start, drop what precedes start, encode with x264."""
    with open_input(source) as inp, _open_output(tmp) as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height = spec.size
        vout.pix_fmt = "yuv420p"
        vout.options = {"preset": preset, "crf": str(crf)}
        aout = out.add_stream("aac", rate=ain.codec_context.sample_rate) if ain else None
        if aout is not None and ain is not None:
            aout.layout = ain.codec_context.layout.name
        assert vin.time_base is not None
        spec.seek(inp, vin)
        state = _EncodeState(
            rate=Fraction(rate),
            audio_done=ain is None,
            scaler=Scaler(*spec.size, "yuv420p", "BICUBIC"),
        )
        for packet in inp.demux(*(s for s in (vin, ain) if s is not None)):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    _encode_video(frame, spec, vout, out, state)
                elif aout is not None and isinstance(frame, av.AudioFrame):
                    _encode_audio(frame, spec, aout, out, state)
            checkpoint.tick(fraction_of(state.last_t - spec.start, spec.end - spec.start))
            if state.video_done and state.audio_done:
                break
        out.mux(vout.encode(None))
        if aout is not None:
            out.mux(aout.encode(None))


@dataclass
class _EncodeState:
    rate: Fraction
    audio_done: bool
    scaler: Scaler
    video_done: bool = False
    last_pts: int = -1
    last_t: float = 0.0


def _encode_video(
    frame: av.VideoFrame,
    spec: CutSpec,
    vout: Any,
    out: av.container.OutputContainer,
    state: _EncodeState,
) -> None:
    if state.video_done or frame.time is None:
        return
    t = float(frame.time)
    state.last_t = t
    if t < spec.start - spec.tolerance:
        return
    if t >= spec.end - spec.tolerance:
        state.video_done = True
        return
    scaled = state.scaler(frame)
    # Output pts count frames from the clip start, so the first frame is at exactly 0.
    pts = max(round((t - spec.start) * state.rate), state.last_pts + 1)
    scaled.pts, scaled.time_base = pts, 1 / state.rate
    state.last_pts = pts
    out.mux(vout.encode(scaled))


def _encode_audio(
    frame: av.AudioFrame,
    spec: CutSpec,
    aout: Any,
    out: av.container.OutputContainer,
    state: _EncodeState,
) -> None:
    if state.audio_done or frame.time is None:
        return
    if float(frame.time) >= spec.end:
        state.audio_done = True
        return
    part = _trim_audio(frame, spec.start, spec.end)
    if part is not None:
        out.mux(aout.encode(part))


def measure(path: Path) -> dict[str, Any]:
    """What the written clip really is (duration from its own video stream)."""
    with open_input(path) as container:
        video = container.streams.video[0]
        tb = video.time_base
        if video.duration is not None and tb is not None:
            duration = float(video.duration * tb)
        else:
            duration = float(container.duration or 0) / av.time_base
        rate = video.average_rate or video.guessed_rate
        return {
            "duration": duration,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "fps": float(rate) if rate else 0.0,
            "codec": video.codec_context.name,
            "has_audio": bool(container.streams.audio),
        }
