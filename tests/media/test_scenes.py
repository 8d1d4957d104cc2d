from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from agentos.errors import InvalidError
from agentos.media._common import MediaCancelled
from agentos.media.scenes import (
    _span_bounds,
    analyse,
    detect,
    detect_cuts,
    frame_score,
    hsv_planes,
    load_scores,
    save_scores,
)
from agentos.schemas.media import FrameScores
from tests.media.conftest import FPS, Video
from tests.support.synth import hsv_to_rgb

FRAME = 1 / FPS


def _planes(hue: float, sat: float = 0.85, val: float = 0.9) -> tuple[np.ndarray, ...]:
    rgb = hsv_to_rgb(np.full((8, 8), hue, np.float32), np.float32(sat), np.float32(val))
    return hsv_planes(rgb[..., 0], rgb[..., 1], rgb[..., 2])


def test_every_cut_found_within_a_frame_and_no_false_cut(
    plain_video: Video, plain_scores: FrameScores
) -> None:
    # The set includes a fast pan, a hue drifting across 0 deg and a dark noisy scene:
    # none may cut; the red-to-red cut across 0 deg must.
    starts = [s.start for s in detect(plain_scores)]
    assert starts[0] == 0.0
    found = starts[1:]
    assert len(found) == len(plain_video.cuts)
    for got, want in zip(found, plain_video.cuts, strict=True):
        assert abs(got - want) <= FRAME + 1e-6


def test_scenes_cover_the_video(plain_video: Video, plain_scores: FrameScores) -> None:
    scenes = detect(plain_scores)
    assert [s.index for s in scenes] == list(range(len(scenes)))
    assert all(a.end == b.start for a, b in itertools.pairwise(scenes))
    assert scenes[-1].end == pytest.approx(plain_video.info.duration, abs=FRAME)
    assert len(plain_scores.scores) == plain_video.info.frame_count
    assert (plain_scores.analysis_width, plain_scores.analysis_height) == (256, 144)


def test_rethreshold_needs_no_decode(
    plain_scores: FrameScores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("detect() must not open the video")

    stored = save_scores(plain_scores, tmp_path / "scores.npz")
    monkeypatch.setattr(av, "open", no_decoding)
    loaded = load_scores(stored)
    default = detect(loaded)
    strict = detect(loaded, threshold=45.0)
    loose = detect(loaded, threshold=8.0, min_scene_s=0.0)
    assert len(strict) < len(default) < len(loose)
    assert {s.start for s in strict} <= {s.start for s in default}
    assert len(loose) == 1 + sum(score >= 8.0 for score in plain_scores.scores)
    assert loaded.timestamps == plain_scores.timestamps
    assert loaded.scores == pytest.approx(plain_scores.scores, rel=1e-6, abs=1e-4)


def _scores(above: set[int], frames: int = 60) -> FrameScores:
    return FrameScores(
        timestamps=[i * FRAME for i in range(frames)],
        scores=[50.0 if i in above else 0.0 for i in range(frames)],
        fps=FPS,
        duration=frames * FRAME,
        analysis_width=16,
        analysis_height=9,
    )


def test_cuts_closer_than_min_scene_merge_like_pyscenedetect() -> None:
    fs = _scores({5, 10, 12, 14, 40})
    # 5 frames = 0.2 s. 5 and 10 are far enough apart: cuts. 12 and 14 come too soon after
    # 10: merge mode swallows them, and the merge only ends with an emitted cut once a later
    # frame above threshold (40) is itself followed by 0.2 s of calm.
    assert detect_cuts(fs, threshold=27.0, min_scene_s=0.2) == pytest.approx(
        [5 * FRAME, 10 * FRAME, 40 * FRAME]
    )
    assert detect_cuts(fs, threshold=27.0, min_scene_s=0.0) == pytest.approx(
        [i * FRAME for i in (5, 10, 12, 14, 40)]
    )


def test_merge_filter_matches_pyscenedetect_flash_filter() -> None:
    detector = pytest.importorskip("scenedetect.detector")
    common = pytest.importorskip("scenedetect.common")
    rng = np.random.default_rng(7)
    for _ in range(40):
        above = {int(i) for i in np.flatnonzero(rng.random(120) < 0.12)}
        length = int(rng.integers(2, 12))
        theirs = detector.FlashFilter(mode=detector.FlashFilter.Mode.MERGE, length=length)
        expected = [
            tc.frame_num * FRAME
            for i in range(120)
            for tc in theirs.filter(common.FrameTimecode(i, fps=float(FPS)), i in above)
        ]
        ours = detect_cuts(_scores(above, 120), threshold=27.0, min_scene_s=length * FRAME)
        assert ours == pytest.approx(expected), (sorted(above), length)


def test_hue_distance_wraps_around_zero() -> None:
    red_350, red_10, green = _planes(350.0), _planes(10.0), _planes(120.0)
    # 20 deg apart = 10 units on OpenCV's 0..180 scale, not 170.
    assert frame_score(red_350, red_10) == pytest.approx(10 / 3, abs=0.5)
    # 350 deg to 120 deg is 130 deg the short way: 65 units; S and V are unchanged.
    assert frame_score(red_350, green) == pytest.approx(65 / 3, abs=0.5)


def test_hue_of_colourless_pixels_does_not_count() -> None:
    grey_bluish, grey_reddish = _planes(220.0, sat=0.05, val=0.15), _planes(20.0, 0.05, 0.15)
    assert frame_score(grey_bluish, grey_reddish) < 5.0


def test_bad_parameters_are_refused(plain_scores: FrameScores, tmp_path: Path) -> None:
    with pytest.raises(InvalidError):
        detect(plain_scores, threshold=0)
    garbage = tmp_path / "bad.npz"
    garbage.write_bytes(b"nope")
    with pytest.raises(InvalidError) as caught:
        load_scores(garbage)
    assert caught.value.code == "BAD_SCORES"


def test_spans_decoded_side_by_side_score_exactly_like_one_pass(
    keyed_video: Video, plain_scores: FrameScores
) -> None:
    keyframes = keyed_video.info.keyframes
    assert len(keyframes) > 4  # a keyframe on every cut: several spans are possible
    one_pass = analyse(keyed_video.path)
    progress: list[float] = []
    spans = analyse(keyed_video.path, keyframes=keyframes, workers=3, on_progress=progress.append)
    assert _span_bounds(keyframes, keyed_video.info.duration, 3)[1:]  # really split
    assert spans.timestamps == one_pass.timestamps
    assert spans.scores == pytest.approx(one_pass.scores, abs=1e-9)
    assert [s.start for s in detect(spans)] == [s.start for s in detect(one_pass)]
    assert progress[-1] == 1.0
    assert progress == sorted(progress)


def test_span_bounds_fall_on_keyframes_and_are_never_short() -> None:
    keyframes = [0.0, 1.0, 2.5, 4.9, 5.2, 7.5, 9.0]
    assert _span_bounds(keyframes, 10.0, 1) == [0.0]
    assert _span_bounds(keyframes, 10.0, 2) == [0.0, 4.9]
    assert _span_bounds(keyframes, 10.0, 4) == [0.0, 2.5, 4.9, 7.5]
    assert _span_bounds([], 10.0, 4) == [0.0]  # no index: one pass
    assert _span_bounds(keyframes, 3.0, 4) == [0.0]  # too short to split
    assert _span_bounds([0.0, 9.5], 10.0, 2) == [0.0]  # a 0.5 s last span is not worth it


def test_a_stop_reaches_every_span(keyed_video: Video) -> None:
    calls = 0

    def stop_soon() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1  # the first call is the one before decoding starts

    with pytest.raises(MediaCancelled):
        analyse(
            keyed_video.path,
            keyframes=keyed_video.info.keyframes,
            workers=3,
            should_stop=stop_soon,
        )
