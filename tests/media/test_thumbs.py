from __future__ import annotations

from pathlib import Path

import av
import pytest

from agentos.errors import InvalidError
from agentos.media.clipper import cut
from agentos.media.thumbs import thumbnail
from agentos.schemas.media import ClipPlan
from tests.media.conftest import FPS, Video


@pytest.fixture(scope="module")
def clip(keyed_video: Video, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("thumbs") / "clip.mp4"
    plan = ClipPlan(ordinal=0, start=keyed_video.cuts[3], end=keyed_video.cuts[4])
    cut(
        keyed_video.path,
        plan,
        dest=dest,
        keyframes=keyed_video.info.keyframes,
        reencode_height=None,
    )
    return dest


def test_thumbnail_is_a_jpeg_of_the_requested_width(clip: Path, tmp_path: Path) -> None:
    result = thumbnail(clip, dest=tmp_path / "t.jpg", width=160)
    data = Path(result.path).read_bytes()
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    assert result.size_bytes == len(data)
    with av.open(result.path) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (160, 90) == (result.width, result.height)
    # The first reference frame at or after a third of the 1 s clip: x264 puts at most 3
    # B-frames between two references.
    assert 1 / 3 <= result.at <= 1 / 3 + 4 / FPS
    assert [p.name for p in tmp_path.iterdir()] == ["t.jpg"]


def test_quality_changes_the_encoding(clip: Path, tmp_path: Path) -> None:
    best = thumbnail(clip, dest=tmp_path / "hi.jpg", width=320, quality=95)
    worst = thumbnail(clip, dest=tmp_path / "lo.jpg", width=320, quality=5)
    assert best.size_bytes > worst.size_bytes


def test_bad_thumbnail_parameters_are_refused(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidError):
        thumbnail(clip, dest=tmp_path / "x.jpg", width=0)
    with pytest.raises(InvalidError):
        thumbnail(clip, dest=tmp_path / "x.jpg", quality=101)
