"""Clips whose cuts fall between keyframes (a phone's fixed GOP): stream-copied, not
re-encoded, and still frame-exact: the first frame shown is the cut frame, the last the
one before the end, and the sound starts at the cut's sample."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from agentos.media._mp4_edits import EditListError, limit_presentation
from agentos.media.clipper import cut
from agentos.media.probe import probe
from agentos.media.thumbs import thumbnail
from agentos.schemas.media import ClipPlan, ClipResult
from tests.media.conftest import FPS, Video
from tests.support.synth import reencode_video

FRAME = 1 / FPS
AAC_FRAME = 1024  # samples: the most an AAC track may run past the video's end


@dataclass(frozen=True)
class Decoded:
    """A file as a decoder presents it, and the video packets it holds."""

    frames: list[tuple[float, str]]  # (time, digest of the picture), in presentation order
    packets: list[tuple[int, bytes]]  # (pts in seconds x FPS, rounded down; bytes)
    audio: np.ndarray
    duration: float  # the container's

    def digests(self) -> list[str]:
        return [digest for _, digest in self.frames]


def _decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [
            (float(f.time or 0.0), hashlib.sha1(f.to_ndarray().tobytes()).hexdigest())
            for f in container.decode(video)
        ]
        container.seek(0)
        packets = [
            (int(p.pts * p.time_base * FPS // 1), bytes(p))
            for p in container.demux(video)
            if p.size and p.pts is not None
        ]
        container.seek(0)
        audio = [f.to_ndarray()[0] for f in container.decode(audio=0)]
        duration = float(container.duration or 0) / av.time_base
    return Decoded(frames, packets, np.concatenate(audio), duration)


def _clip(video: Video, start: float, end: float, dest: Path, **kwargs: Any) -> ClipResult:
    return cut(
        video.path,
        ClipPlan(ordinal=0, start=start, end=end),
        dest=dest,
        keyframes=video.info.keyframes,
        reencode_height=kwargs.pop("reencode_height", None),
        **kwargs,
    )


def _assert_frame_exact(clip: Decoded, source: Decoded, start: float, end: float) -> None:
    """Every frame shown is the source's at the same time, from the cut frame to the last
    one before `end`: bit for bit, so nothing was re-encoded either."""
    assert clip.frames[0][0] == 0.0
    wanted = source.digests()[round(start * FPS) : round(end * FPS)]
    assert len(clip.frames) == len(wanted)
    assert clip.digests() == wanted
    assert abs(clip.duration - (end - start)) < FRAME / 2


def _audio_lag(clip: Decoded, source: Decoded, start: float) -> int:
    """How many samples the clip's sound is late against the source's from `start`."""
    at, span, reach = round(start * 48_000), 6000, 1200
    errors = {
        lag: float(np.abs(clip.audio[reach : reach + span] - source.audio[s : s + span]).mean())
        for lag in range(-reach, reach + 1)
        for s in [at + reach - lag]
    }
    return min(errors, key=lambda lag: errors[lag])


def _bounds(video: Video, source: Decoded) -> list[float]:
    return [0.0, *video.cuts, len(source.frames) / FPS]


@pytest.fixture(scope="module")
def gop_source(gop_video: Video) -> Decoded:
    return _decode(gop_video.path)


def test_the_source_has_no_keyframe_on_a_cut(gop_video: Video) -> None:
    keyframes = gop_video.info.keyframes
    assert keyframes[:4] == pytest.approx([0.0, 3.0, 6.0, 9.0])
    assert not any(abs(k - c) < FRAME / 2 for k in keyframes for c in gop_video.cuts)


@pytest.mark.parametrize("scene", range(9))
def test_each_scene_is_copied_from_its_cut_frame(
    gop_video: Video, gop_source: Decoded, tmp_path: Path, scene: int
) -> None:
    start, end = _bounds(gop_video, gop_source)[scene : scene + 2]
    result = _clip(gop_video, start, end, tmp_path / "c.mp4")
    assert result.method == "copy"
    assert result.duration == pytest.approx(end - start, abs=1e-6)
    assert (result.fps, result.codec, result.has_audio) == (FPS, "h264", True)
    clip = _decode(Path(result.path))
    _assert_frame_exact(clip, gop_source, start, end)
    # Copied: every packet is one of the source's, byte for byte.
    assert {data for _, data in clip.packets} <= {data for _, data in gop_source.packets}


def test_an_end_inside_a_b_frame_group_is_exact(
    gop_video: Video, gop_source: Decoded, tmp_path: Path
) -> None:
    # Five ends in a row cover every place in a group of B-frames and the frame they refer
    # to (x264's default: three B-frames): some clips must carry that frame, hidden.
    start = gop_video.cuts[2]
    hidden_tails = 0
    for frames in range(20, 25):
        end = start + frames * FRAME
        result = _clip(gop_video, start, end, tmp_path / f"e{frames}.mp4")
        assert result.method == "copy"
        clip = _decode(Path(result.path))
        _assert_frame_exact(clip, gop_source, start, end)
        hidden_tails += any(pts >= frames for pts, _ in clip.packets)
    assert hidden_tails > 0


def test_the_sound_starts_at_the_cut_sample(
    gop_video: Video, gop_source: Decoded, tmp_path: Path
) -> None:
    # Across a scene change the tone changes pitch: one alignment only fits.
    start = round((gop_video.cuts[3] - 0.3) * FPS) / FPS
    end = gop_video.cuts[4] + 0.4
    result = _clip(gop_video, start, end, tmp_path / "a.mp4")
    assert result.method == "copy"
    clip = _decode(Path(result.path))
    assert _audio_lag(clip, gop_source, start) == 0
    # From its very first sample, the sound is the source's (the AAC frame before the cut
    # is carried along, hidden, so the first one shown decodes whole).
    at, span = round(start * 48_000), 6000
    assert np.abs(clip.audio[:span] - gop_source.audio[at : at + span]).max() < 1e-3
    assert 0 <= len(clip.audio) - (end - start) * 48_000 < AAC_FRAME


def test_a_start_far_from_its_keyframe_is_re_encoded(
    gop_video: Video, gop_source: Decoded, tmp_path: Path
) -> None:
    start, end = gop_video.cuts[1], gop_video.cuts[2]  # 2.4 s after the keyframe at 0
    result = _clip(gop_video, start, end, tmp_path / "r.mp4", max_lead_s=1.0)
    assert result.method == "reencode"
    clip = _decode(Path(result.path))
    assert clip.frames[0][0] == 0.0
    assert len(clip.frames) == round((end - start) * FPS)
    assert _audio_lag(clip, gop_source, start) == 0


def test_a_requested_height_still_re_encodes(gop_video: Video, tmp_path: Path) -> None:
    start, end = gop_video.cuts[3], gop_video.cuts[4]
    result = _clip(gop_video, start, end, tmp_path / "h.mp4", reencode_height=90)
    assert result.method == "reencode"
    assert (result.width, result.height) == (160, 90)
    assert abs(result.duration - (end - start)) <= FRAME


@pytest.fixture(scope="module")
def hevc_video(gop_video: Video, tmp_path_factory: pytest.TempPathFactory) -> Video:
    if "libx265" not in av.codecs_available:
        pytest.skip("this FFmpeg has no libx265")
    path = tmp_path_factory.mktemp("hevc") / "hevc.mp4"
    # x265's default open GOP: pictures after a keyframe that refer to the GOP before it.
    params = "keyint=75:min-keyint=75:scenecut=0:bframes=3:open-gop=1:log-level=error"
    options = {"preset": "ultrafast", "x265-params": params}
    reencode_video(gop_video.path, path, codec="libx265", gop=75, options=options)
    return Video(path=path, cuts=gop_video.cuts, info=probe(path))


def test_hevc_with_open_gops_is_copied_frame_exact(hevc_video: Video, tmp_path: Path) -> None:
    source = _decode(hevc_video.path)
    bounds = _bounds(hevc_video, source)
    for scene in (1, 3, 6, 8):  # starts 0.2 s to 1.2 s after a keyframe, ends anywhere
        start, end = bounds[scene : scene + 2]
        result = _clip(hevc_video, start, end, tmp_path / f"h{scene}.mp4")
        assert (result.method, result.codec) == ("copy", "hevc")
        _assert_frame_exact(_decode(Path(result.path)), source, start, end)


def test_other_codecs_are_copied_only_from_a_keyframe(gop_video: Video, tmp_path: Path) -> None:
    path = tmp_path / "mpeg4.mp4"
    # MPEG-4 Part 2 without its own scene-change keyframes, no B-frames: keyframes at 0, 3, 6 s.
    reencode_video(
        gop_video.path, path, codec="mpeg4", gop=75, options={"sc_threshold": "1000000000"}
    )
    video = Video(path=path, cuts=gop_video.cuts, info=probe(path))
    assert video.info.keyframes[:3] == pytest.approx([0.0, 3.0, 6.0])
    mid_gop = _clip(video, video.cuts[1], video.cuts[2], tmp_path / "m.mp4")
    on_key = _clip(video, 3.0, video.cuts[2], tmp_path / "k.mp4")
    assert (mid_gop.method, on_key.method) == ("reencode", "copy")
    for result in (mid_gop, on_key):
        clip = _decode(Path(result.path))
        assert len(clip.frames) == round((result.end - result.start) * FPS)


@pytest.fixture(scope="module")
def ts_video(gop_video: Video, tmp_path_factory: pytest.TempPathFactory) -> Video:
    """The same packets in MPEG-TS: no index, so seeks search by decode time."""
    path = tmp_path_factory.mktemp("ts") / "gop.ts"
    with av.open(str(gop_video.path)) as inp, av.open(str(path), "w", format="mpegts") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.size:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    info = probe(path)
    return Video(path=path, cuts=[info.keyframes[0] + c for c in gop_video.cuts], info=info)


@pytest.mark.parametrize("max_lead_s", [5.0, 0.0], ids=["copy", "re-encode"])
def test_mpeg_ts_is_cut_from_the_keyframe_before_the_start(
    ts_video: Video, gop_source: Decoded, tmp_path: Path, max_lead_s: float
) -> None:
    # A seek to a keyframe's time lands just after it here (its decode time is earlier):
    # a cut that started there would have nothing to decode until the next keyframe.
    t0 = ts_video.info.keyframes[0]
    assert t0 > 0
    for k in (0, 1, 4, 6):
        start, end = ts_video.cuts[k : k + 2]
        result = _clip(ts_video, start, end, tmp_path / f"{k}.mp4", max_lead_s=max_lead_s)
        clip = _decode(Path(result.path))
        if max_lead_s:
            assert result.method == "copy"
            _assert_frame_exact(clip, gop_source, start - t0, end - t0)
        else:
            assert result.method == "reencode"
            assert len(clip.frames) == round((end - start) * FPS)


def test_a_thumbnail_of_a_copied_clip_is_a_frame_it_shows(
    gop_video: Video, gop_source: Decoded, tmp_path: Path
) -> None:
    start, end = gop_video.cuts[4], gop_video.cuts[5]  # 0.4 s after the keyframe at 6
    result = _clip(gop_video, start, end, tmp_path / "t.mp4")
    thumb = thumbnail(Path(result.path), dest=tmp_path / "t.jpg")
    assert (end - start) / 3 - FRAME <= thumb.at < end - start


def test_a_file_without_an_mp4_index_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not.mp4"
    path.write_bytes(b"\x00\x00\x00\x10free" + bytes(8))
    with pytest.raises(EditListError):
        limit_presentation(path, 1.0)
