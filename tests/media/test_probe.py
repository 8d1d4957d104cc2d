from __future__ import annotations

from pathlib import Path

import av
import pytest

from agentos.errors import InvalidError
from agentos.media.clipper import cut
from agentos.media.probe import probe
from agentos.schemas.media import ClipPlan
from tests.media.conftest import FPS, Video


def test_probe_reports_the_generated_figures(plain_video: Video) -> None:
    info = plain_video.info
    frames = 275  # standard_scenes(): 11 s at 25 fps
    assert (info.width, info.height) == (320, 180)
    assert info.fps == pytest.approx(FPS)
    assert info.frame_count == frames
    assert info.duration == pytest.approx(frames / FPS, abs=0.05)
    assert info.video_codec == "h264"
    assert info.pixel_format == "yuv420p"
    assert info.bitrate is not None
    assert info.bitrate > 0
    assert info.audio is not None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 1)
    # x264 with scene-cut keyframes off and keyint 250: frame 0 and frame 250 only.
    assert info.keyframes == pytest.approx([0.0, 250 / FPS])


def test_keyframe_index_has_every_forced_keyframe(keyed_video: Video) -> None:
    assert keyed_video.info.keyframes == pytest.approx([0.0, *keyed_video.cuts])


def test_a_text_file_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(InvalidError) as caught:
        probe(path)
    assert caught.value.code == "UNSUPPORTED_MEDIA"


def test_audio_only_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.sample_rate = 48000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for n in range(10):
            frame.pts = n * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidError) as caught:
        probe(path)
    assert caught.value.code == "UNSUPPORTED_MEDIA"


def test_truncated_mp4_with_index_at_the_end_is_corrupt(plain_video: Video, tmp_path: Path) -> None:
    data = plain_video.path.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidError) as caught:
        probe(path)
    assert caught.value.code == "CORRUPT_MEDIA"


def test_truncated_faststart_mp4_is_corrupt(keyed_video: Video, tmp_path: Path) -> None:
    # cut() writes the index first (faststart): such a file opens, and runs out of packets.
    whole = cut(
        keyed_video.path,
        ClipPlan(ordinal=0, start=0.0, end=keyed_video.info.duration),
        dest=tmp_path / "whole.mp4",
        keyframes=keyed_video.info.keyframes,
        reencode_height=None,
    )
    data = Path(whole.path).read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidError) as caught:
        probe(path)
    assert caught.value.code == "CORRUPT_MEDIA"
    assert "truncated" in caught.value.message


def test_a_missing_file_is_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(InvalidError) as caught:
        probe(tmp_path / "nope.mp4")
    assert caught.value.code == "SOURCE_MISSING"
