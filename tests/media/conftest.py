"""Small synthetic videos, generated once per test session (a few seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from agentos.media.probe import probe
from agentos.media.scenes import analyse
from agentos.schemas.media import FrameScores, MediaInfo
from tests.support.synth import make_test_video, standard_scenes

FPS = 25


@dataclass(frozen=True)
class Video:
    path: Path
    cuts: list[float]
    info: MediaInfo


def _make(directory: Path, name: str, **kwargs: object) -> Video:
    path = directory / name
    cuts = make_test_video(path, scenes=standard_scenes(), fps=FPS, **kwargs)  # type: ignore[arg-type]
    return Video(path=path, cuts=cuts, info=probe(path))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def plain_video(media_dir: Path) -> Video:
    """Keyframes only every 250 frames: cuts fall mid-GOP."""
    return _make(media_dir, "plain.mp4", with_audio=True)


@pytest.fixture(scope="session")
def keyed_video(media_dir: Path) -> Video:
    """A keyframe on every cut, so clips can be stream-copied."""
    return _make(media_dir, "keyed.mp4", with_audio=True, keyframes_at_cuts=True)


@pytest.fixture(scope="session")
def gop_video(media_dir: Path) -> Video:
    """A fixed 3 s GOP (keyframes at 0, 3, 6, 9 s), none on a cut: a phone's upload."""
    return _make(media_dir, "gop.mp4", with_audio=True, gop=3 * FPS)


@pytest.fixture(scope="session")
def plain_scores(plain_video: Video) -> FrameScores:
    return analyse(plain_video.path)
