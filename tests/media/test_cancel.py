"""should_stop is honoured mid-stage: the stage raises MediaCancelled long before the end."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agentos.media import MediaCancelled
from agentos.media._common import Checkpoint
from agentos.media.clipper import cut
from agentos.media.ingest import ingest
from agentos.media.probe import probe
from agentos.media.scenes import analyse
from agentos.schemas.media import ClipPlan
from tests.support.synth import SceneSpec, make_test_video


class StopAfter:
    """Says stop once the stage has reported `fraction` progress."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self.progress: list[float] = []

    def should_stop(self) -> bool:
        return bool(self.progress) and self.progress[-1] >= self.fraction

    def on_progress(self, value: float) -> None:
        self.progress.append(value)


@pytest.fixture(autouse=True)
def _check_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small test files take milliseconds: check on every tick, not every quarter second.
    original: Callable[..., None] = Checkpoint.__init__

    def eager(self: Checkpoint, *args: object, **kwargs: object) -> None:
        kwargs["interval"] = 0.0
        original(self, *args, **kwargs)

    monkeypatch.setattr(Checkpoint, "__init__", eager)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cancel") / "long.mp4"
    make_test_video(
        path,
        scenes=[SceneSpec(kind="gradient", duration=4.0, hue=30.0)],
        width=160,
        height=90,
        preset="ultrafast",
    )
    return path


def test_analyse_stops_mid_decode(long_video: Path) -> None:
    stop = StopAfter(0.2)
    with pytest.raises(MediaCancelled) as caught:
        analyse(long_video, should_stop=stop.should_stop, on_progress=stop.on_progress)
    assert caught.value.code == "CANCELLED"
    assert max(stop.progress) < 0.5


def test_probe_stops_mid_demux(long_video: Path) -> None:
    stop = StopAfter(0.2)
    with pytest.raises(MediaCancelled):
        probe(long_video, should_stop=stop.should_stop, on_progress=stop.on_progress)
    assert max(stop.progress) < 0.5


@pytest.mark.parametrize("max_lead_s", [0.0, 5.0], ids=["re-encode", "copy"])
def test_cut_stops_midway_and_leaves_no_file(
    long_video: Path, tmp_path: Path, max_lead_s: float
) -> None:
    stop = StopAfter(0.2)
    with pytest.raises(MediaCancelled):
        cut(
            long_video,
            ClipPlan(ordinal=0, start=0.52, end=3.8),
            dest=tmp_path / "clip.mp4",
            keyframes=[0.0],
            reencode_height=None,
            should_stop=stop.should_stop,
            on_progress=stop.on_progress,
            max_lead_s=max_lead_s,
        )
    assert max(stop.progress) < 0.5
    assert list(tmp_path.iterdir()) == []


def test_ingest_stops_mid_hash(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(8 << 20))
    stop = StopAfter(0.2)
    with pytest.raises(MediaCancelled):
        ingest(
            source,
            dest_dir=tmp_path / "store",
            expected_sha256=None,
            move=False,
            should_stop=stop.should_stop,
            on_progress=stop.on_progress,
        )
    assert max(stop.progress) < 0.5
    assert list((tmp_path / "store").iterdir()) == []
    assert source.exists()


def test_a_stop_before_starting_raises_at_once(long_video: Path) -> None:
    with pytest.raises(MediaCancelled):
        analyse(long_video, should_stop=lambda: True)
