"""The synthetic video generator, for tests and benchmarks: it lives in `agentos.media.synth`
(the seed makes its demo media with it); this module re-exports it, and adds what only
tests need."""

from __future__ import annotations

from pathlib import Path

import av
from av.video.frame import PictureType

from agentos.media.synth import SceneKind, SceneSpec, hsv_to_rgb, make_test_video, standard_scenes

__all__ = [
    "SceneKind",
    "SceneSpec",
    "hsv_to_rgb",
    "make_test_video",
    "reencode_video",
    "standard_scenes",
]


def reencode_video(
    source: Path, dest: Path, *, codec: str, gop: int, options: dict[str, str] | None = None
) -> None:
    """`source` with its video re-encoded by `codec` (a keyframe every `gop` frames, as
    `options` make the encoder keep it) and its audio copied: the same scenes and the same
    frame times in another codec."""
    with av.open(str(source)) as inp, av.open(str(dest), mode="w", format="mp4") as out:
        vin = inp.streams.video[0]
        video = out.add_stream(codec, rate=vin.average_rate)
        video.width, video.height, video.pix_fmt = vin.width, vin.height, "yuv420p"
        video.codec_context.gop_size = gop
        video.options = options or {}
        audio = out.add_stream_from_template(inp.streams.audio[0]) if inp.streams.audio else None
        for packet in inp.demux():
            if packet.stream.type == "audio" and audio is not None and packet.size:
                packet.stream = audio
                out.mux(packet)
            elif packet.stream.type == "video":
                for frame in packet.decode():
                    frame.pict_type = PictureType.NONE  # the encoder chooses, as a camera's does
                    out.mux(video.encode(frame))
        out.mux(video.encode(None))
