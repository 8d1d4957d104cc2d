from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from agentos.errors import InvalidError
from agentos.media.clipper import cut, plan_clips
from agentos.schemas.media import ClipPlan, Scene
from tests.media.conftest import FPS, Video

FRAME = 1 / FPS


def _scenes(*bounds: float) -> list[Scene]:
    return [Scene(index=i, start=a, end=b) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


def _spans(plans: list[ClipPlan]) -> list[tuple[float, float]]:
    return [(round(p.start, 6), round(p.end, 6)) for p in plans]


def test_plan_keeps_scenes_within_bounds() -> None:
    plans = plan_clips(_scenes(0, 3, 7, 10), duration=10, min_clip_s=2, max_clip_s=5)
    assert _spans(plans) == [(0, 3), (3, 7), (7, 10)]
    assert [p.ordinal for p in plans] == [0, 1, 2]


def test_plan_merges_a_short_scene_into_its_shorter_neighbour() -> None:
    plans = plan_clips(_scenes(0, 4, 5, 7, 12), duration=12, min_clip_s=2, max_clip_s=10)
    assert _spans(plans) == [(0, 4), (4, 7), (7, 12)]


def test_plan_merges_short_scenes_at_the_edges() -> None:
    plans = plan_clips(_scenes(0, 1, 5, 9.5, 10), duration=10, min_clip_s=2, max_clip_s=10)
    assert _spans(plans) == [(0, 5), (5, 10)]


def test_plan_splits_a_long_scene_evenly_on_frames() -> None:
    plans = plan_clips(_scenes(0, 2, 11), duration=11, min_clip_s=1, max_clip_s=4, fps=FPS)
    # 9 s over a 4 s maximum: three parts of 3 s.
    assert _spans(plans) == [(0, 2), (2, 5), (5, 8), (8, 11)]
    # 10.1 s in three: split points land on the nearest frame (84 and 168 at 25 fps).
    plans = plan_clips(_scenes(0, 10.1), duration=10.1, min_clip_s=1, max_clip_s=4, fps=FPS)
    assert _spans(plans) == [(0, 3.36), (3.36, 6.72), (6.72, 10.1)]


def test_plan_with_no_scenes_or_a_short_video_is_one_clip() -> None:
    assert _spans(plan_clips([], duration=6, min_clip_s=2, max_clip_s=10)) == [(0, 6)]
    assert _spans(plan_clips(_scenes(0, 0.5, 1), duration=1, min_clip_s=2, max_clip_s=10)) == [
        (0, 1)
    ]


def test_plan_follows_a_stream_that_does_not_start_at_zero() -> None:
    # MPEG-TS files often start at 1.4 s: scenes and clips live on that clock.
    plans = plan_clips(
        _scenes(1.4, 4.4, 8.4), duration=7.0, min_clip_s=1, max_clip_s=10, start_time=1.4
    )
    assert _spans(plans) == [(1.4, 4.4), (4.4, 8.4)]


def test_plan_refuses_inconsistent_bounds() -> None:
    with pytest.raises(InvalidError) as caught:
        plan_clips([], duration=6, min_clip_s=5, max_clip_s=2)
    assert caught.value.code == "BAD_PARAMETER"


def _frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def _source_frame(path: Path, at: float) -> np.ndarray:
    for frame in _frames(path):
        if frame.time is not None and abs(frame.time - at) < FRAME / 2:
            return frame.to_ndarray(format="rgb24").astype(np.int16)
    raise AssertionError(f"no frame at {at}")


def test_clips_starting_on_keyframes_are_stream_copied(keyed_video: Video, tmp_path: Path) -> None:
    cuts = keyed_video.cuts
    plan = ClipPlan(ordinal=3, start=cuts[2], end=cuts[3])
    result = cut(
        keyed_video.path,
        plan,
        dest=tmp_path / "c.mp4",
        keyframes=keyed_video.info.keyframes,
        reencode_height=None,
    )
    assert result.method == "copy"
    assert result.copied
    assert abs(result.duration - plan.duration) <= FRAME
    frames = _frames(Path(result.path))
    assert len(frames) == round(plan.duration * FPS)
    assert frames[0].time == 0.0
    assert (result.width, result.height, result.codec) == (320, 180, "h264")
    assert result.has_audio
    assert result.size_bytes == Path(result.path).stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["c.mp4"]  # no temp file left behind


def test_a_start_far_after_its_keyframe_is_re_encoded_from_exactly_that_frame(
    plain_video: Video, tmp_path: Path
) -> None:
    start, end = plain_video.cuts[4], plain_video.cuts[5]  # keyframes only at 0 and 10 s
    plan = ClipPlan(ordinal=0, start=start, end=end)
    result = cut(
        plain_video.path,
        plan,
        dest=tmp_path / "r.mp4",
        keyframes=plain_video.info.keyframes,
        reencode_height=None,
        max_lead_s=2.0,  # a copy would carry 5.4 s of hidden video before the cut
    )
    assert result.method == "reencode"
    assert abs(result.duration - plan.duration) <= FRAME
    frames = _frames(Path(result.path))
    assert len(frames) == round(plan.duration * FPS)
    assert frames[0].time == 0.0
    # The first frame is the source frame at `start` (the new scene), not the one before.
    first = frames[0].to_ndarray(format="rgb24").astype(np.int16)
    at_start = _source_frame(plain_video.path, start)
    before = _source_frame(plain_video.path, start - FRAME)
    assert np.abs(first - at_start).mean() < 6
    assert np.abs(first - before).mean() > 30


def test_requested_height_forces_a_scaled_re_encode(keyed_video: Video, tmp_path: Path) -> None:
    plan = ClipPlan(ordinal=0, start=0.0, end=keyed_video.cuts[0])
    result = cut(
        keyed_video.path,
        plan,
        dest=tmp_path / "s.mp4",
        keyframes=keyed_video.info.keyframes,
        reencode_height=90,
    )
    assert result.method == "reencode"
    assert (result.width, result.height) == (160, 90)
    assert result.fps == pytest.approx(FPS)
    assert abs(result.duration - plan.duration) <= FRAME
    with av.open(result.path) as container:
        assert container.streams.audio[0].codec_context.name == "aac"


def test_a_copy_ending_mid_gop_ends_exactly(keyed_video: Video, tmp_path: Path) -> None:
    # Starts on a keyframe, ends between keyframes: B-frames before the end may need a
    # frame after it, which the copy carries and its edit list hides.
    start = keyed_video.cuts[1]
    plan = ClipPlan(ordinal=0, start=start, end=start + 0.6)
    result = cut(
        keyed_video.path,
        plan,
        dest=tmp_path / "f.mp4",
        keyframes=keyed_video.info.keyframes,
        reencode_height=None,
    )
    assert result.method == "copy"
    assert abs(result.duration - plan.duration) <= FRAME
    assert len(_frames(Path(result.path))) == round(plan.duration * FPS)


def test_a_redelivered_cut_replaces_the_clip_whole(keyed_video: Video, tmp_path: Path) -> None:
    dest = tmp_path / "again.mp4"
    dest.write_bytes(b"half-written garbage from a killed worker")
    plan = ClipPlan(ordinal=0, start=0.0, end=keyed_video.cuts[0])
    kwargs = {"dest": dest, "keyframes": keyed_video.info.keyframes, "reencode_height": None}
    first = cut(keyed_video.path, plan, **kwargs)  # type: ignore[arg-type]
    second = cut(keyed_video.path, plan, **kwargs)  # type: ignore[arg-type]
    assert first.size_bytes == second.size_bytes == dest.stat().st_size
    assert len(_frames(dest)) == round(plan.duration * FPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.mp4"]
