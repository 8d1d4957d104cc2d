"""Synthetic videos with known cut points: the seed's demo media, tests and benchmarks.

Besides plain scenes of distinct colours it makes the cases that trip content detectors:
a fast pan inside one scene, a hue drifting across 0 deg inside one scene (a naive hue
difference sees a 359 deg jump), a real cut between two reds either side of 0 deg, and a
dark scene full of sensor-like noise. None of these but the real cut is a scene change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from av.video.frame import PictureType
from pydantic import BaseModel, Field

from agentos.errors import InvalidError
from agentos.media._common import Scaler, atomic_output

SceneKind = Literal["solid", "gradient", "noise", "pan", "hue_drift", "dark_noise"]


class SceneSpec(BaseModel):
    """One scene of a synthetic video."""

    kind: SceneKind
    duration: float = Field(gt=0)
    hue: float = Field(default=0.0, description="degrees")
    hue_end: float | None = Field(default=None, description="hue_drift: final hue, degrees")
    saturation: float = Field(default=0.8, ge=0, le=1)
    value: float = Field(default=0.8, ge=0, le=1)
    speed: float = Field(default=0.0, description="pan: frame widths per second")


_AUDIO_RATE = 48_000
_AUDIO_FRAME = 1024
_MAX_RENDER_WIDTH = 480

FloatArray = Any  # numpy arrays mixed with scalars; numpy stubs cannot follow broadcasting


def hsv_to_rgb(h: Any, s: Any, v: Any) -> np.ndarray:
    """h in degrees, s and v in 0..1 (arrays broadcast together) -> uint8 RGB (..., 3)."""
    h6 = (np.mod(h, 360.0) / 60.0).astype(np.float32)
    c = v * s
    x = c * (1 - np.abs(np.mod(h6, 2) - 1))
    m = v - c
    zero = np.zeros_like(c)
    sector = np.floor(h6).astype(np.int8) % 6
    r = np.choose(sector, [c, x, zero, zero, x, c])
    g = np.choose(sector, [x, c, c, x, zero, zero])
    b = np.choose(sector, [zero, zero, x, c, c, x])
    rgb = np.stack([r + m, g + m, b + m], axis=-1)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


class _SceneRenderer:
    """Renders frame n of one scene; state (textures) is built once per scene."""

    def __init__(self, spec: SceneSpec, *, width: int, height: int, fps: float, seed: int):
        self.spec, self.width, self.height, self.fps = spec, width, height, fps
        self.rng = np.random.default_rng(seed)
        self.frames = max(1, round(spec.duration * fps))
        self.xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
        self.ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        self.texture: np.ndarray | None = None
        if spec.kind == "noise":
            self.texture = self._block_texture()
        elif spec.kind == "pan":
            self.texture = self._pan_texture()

    def _block_texture(self) -> np.ndarray:
        blocks = self.rng.uniform(-0.25, 0.25, size=(self.height // 8 + 1, self.width // 8 + 1))
        return np.kron(blocks, np.ones((8, 8), dtype=np.float32))[: self.height, : self.width]

    def _pan_texture(self) -> np.ndarray:
        travel = self.spec.speed * self.width * self.spec.duration
        total = int(self.width + travel + 2)
        u = np.arange(total, dtype=np.float32)[None, :] / self.width
        hue = self.spec.hue + 40.0 * np.sin(2 * math.pi * (u * 0.7 + self.ys * 0.5))
        value = self.spec.value - 0.25 * (0.5 + 0.5 * np.sin(2 * math.pi * (u * 1.3 - self.ys)))
        sat = np.full_like(value, self.spec.saturation)
        return hsv_to_rgb(hue, sat, value)

    def frame(self, n: int) -> np.ndarray:
        spec, t = self.spec, n / self.fps
        if spec.kind == "pan":
            assert self.texture is not None
            offset = round(spec.speed * self.width * t)
            return np.ascontiguousarray(self.texture[:, offset : offset + self.width])
        if spec.kind == "dark_noise":
            base = hsv_to_rgb(
                np.full((self.height, self.width), spec.hue, np.float32),
                np.float32(spec.saturation),
                spec.value * (0.8 + 0.4 * self.xs),
            ).astype(np.int16)
            noise = self.rng.normal(0.0, 9.0, size=base.shape)
            return np.clip(base + noise, 0, 255).astype(np.uint8)
        hue: FloatArray = np.full((self.height, self.width), spec.hue, np.float32)
        value: FloatArray = spec.value * (0.85 + 0.15 * self.ys) + 0 * self.xs
        if spec.kind == "gradient":
            hue = hue + 30.0 * self.xs + 10.0 * math.sin(t)
        elif spec.kind == "hue_drift":
            end = spec.hue_end if spec.hue_end is not None else spec.hue
            delta = (end - spec.hue + 180.0) % 360.0 - 180.0  # the short way round
            hue = hue + delta * n / max(1, self.frames - 1)
        elif spec.kind == "noise":
            assert self.texture is not None
            value = np.clip(value + self.texture + self.rng.normal(0, 0.01, value.shape), 0, 1)
        # A slowly moving soft spot, so no scene is a still image.
        cx, cy = 0.3 + 0.4 * (n / self.frames), 0.5
        spot = np.exp(-(((self.xs - cx) * 4) ** 2 + ((self.ys - cy) * 4) ** 2))
        value = np.clip(value + 0.1 * spot, 0, 1)
        return hsv_to_rgb(hue, np.float32(spec.saturation), value)


def _scene_frames(
    scenes: list[SceneSpec], *, width: int, height: int, fps: float
) -> Iterator[tuple[np.ndarray, bool, int]]:
    """Yield (rgb, is first frame of a scene, scene index) for the whole video."""
    # Large videos are drawn small and scaled up by FFmpeg: numpy at 1080p is the slow part.
    factor = max(1, math.ceil(width / _MAX_RENDER_WIDTH))
    width, height = width // factor // 2 * 2, height // factor // 2 * 2
    for index, spec in enumerate(scenes):
        renderer = _SceneRenderer(spec, width=width, height=height, fps=fps, seed=index + 1)
        for n in range(renderer.frames):
            yield renderer.frame(n), n == 0, index


def _tone(index: int, start_sample: int) -> av.AudioFrame:
    freq = 220.0 * (1 + index % 5)
    samples = np.arange(start_sample, start_sample + _AUDIO_FRAME, dtype=np.float64)
    wave = (0.2 * np.sin(2 * math.pi * freq * samples / _AUDIO_RATE)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(wave[None, :], format="fltp", layout="mono")
    frame.sample_rate = _AUDIO_RATE
    frame.pts = start_sample
    return frame


def make_test_video(
    path: Path,
    *,
    scenes: list[SceneSpec],
    fps: int = 25,
    width: int = 320,
    height: int = 180,
    with_audio: bool = False,
    gop: int | None = None,
    keyframes_at_cuts: bool = False,
    preset: str = "veryfast",
    crf: int = 20,
) -> list[float]:
    """Write an H.264 mp4 made of `scenes`; return the true cut times (seconds).

    gop: keyframe interval in frames (default 250, x264's). x264's own scene-cut keyframes
    are off, so keyframes fall on cuts only with keyframes_at_cuts=True.
    """
    if not scenes:
        raise InvalidError("A test video needs at least one scene", code="NO_SCENES")
    if width % 2 or height % 2:
        raise InvalidError("Width and height must be even for yuv420p", code="BAD_SIZE")
    keyint = gop or 250
    cuts: list[float] = []
    with atomic_output(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {
            "preset": preset,
            "crf": str(crf),
            "x264-params": f"keyint={keyint}:min-keyint={min(keyint, 25)}:scenecut=0:forced-idr=1",
        }
        audio = container.add_stream("aac", rate=_AUDIO_RATE) if with_audio else None
        if audio is not None:
            audio.layout = "mono"
        sample = 0
        frames = _scene_frames(scenes, width=width, height=height, fps=fps)
        to_yuv = Scaler(width, height, "yuv420p", "BICUBIC")
        for n, (rgb, first, index) in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if frame.width != width:
                frame = to_yuv(frame)
            frame.pts, frame.time_base = n, Fraction(1, fps)
            if first and n > 0:
                cuts.append(n / fps)
                if keyframes_at_cuts:
                    frame.pict_type = PictureType.I
            container.mux(video.encode(frame))
            while audio is not None and sample < (n + 1) * _AUDIO_RATE / fps:
                container.mux(audio.encode(_tone(index, sample)))
                sample += _AUDIO_FRAME
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))
    return cuts


def standard_scenes(scale: float = 1.0) -> list[SceneSpec]:
    """The reference set: distinct scenes plus every hard case, `scale` x ~10 s long."""

    def spec(kind: str, duration: float, **kw: float) -> SceneSpec:
        return SceneSpec.model_validate({"kind": kind, "duration": duration * scale, **kw})

    return [
        spec("solid", 1.2, hue=210, saturation=0.7, value=0.8),
        spec("gradient", 1.2, hue=100, saturation=0.8, value=0.45),
        spec("pan", 1.6, hue=40, saturation=0.7, value=0.85, speed=1.2 / scale),
        spec("hue_drift", 1.4, hue=340, hue_end=20, saturation=0.85, value=0.5),
        spec("noise", 1.0, hue=280, saturation=0.5, value=0.85),
        spec("solid", 1.0, hue=352, saturation=0.85, value=0.9),
        spec("noise", 1.0, hue=8, saturation=0.85, value=0.35),
        spec("dark_noise", 1.4, hue=230, saturation=0.3, value=0.12),
        spec("gradient", 1.2, hue=60, saturation=0.9, value=0.95),
    ]
