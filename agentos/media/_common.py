"""What every media stage shares: cancellation, progress, opening input, atomic output."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import av.container
from av.video.reformatter import VideoReformatter

from agentos.errors import ConflictError, InvalidError

StopCheck = Callable[[], bool]
ProgressCallback = Callable[[float], None]

# Container signatures: a file that starts like one of these but cannot be read is damaged,
# not merely of a kind we do not handle.
_MEDIA_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"RIFF"),
    (0, b"FLV"),
    (0, b"OggS"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
)


class MediaCancelled(ConflictError):  # noqa: N818 - the name the runner and issue use
    """The job was cancelled while a stage ran; the stage stopped at a check point."""

    default_code = "CANCELLED"


def never_stop() -> bool:
    return False


class Checkpoint:
    """Calls should_stop/on_progress at most every `interval` seconds of work.

    The stage calls `tick()` as often as it likes (per frame, per packet): the callbacks may
    hit a database, so they are rate limited here rather than by every caller.
    """

    def __init__(
        self,
        should_stop: StopCheck,
        on_progress: ProgressCallback | None = None,
        *,
        interval: float = 0.25,
    ) -> None:
        self._should_stop = should_stop
        self._on_progress = on_progress
        self._interval = interval
        self._next = 0.0
        self.check()

    def check(self) -> None:
        if self._should_stop():
            raise MediaCancelled("Stopped: the job was cancelled")

    def tick(self, fraction: float | None = None) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        self.check()
        if fraction is not None and self._on_progress is not None:
            self._on_progress(min(1.0, max(0.0, fraction)))

    def done(self) -> None:
        if self._on_progress is not None:
            self._on_progress(1.0)


class Scaler:
    """Scale and convert every frame of one pass with a single swscale context.

    `VideoFrame.reformat` builds a fresh context (and its scaling threads) on every call,
    which costs more than the scaling itself: at 1080p it made up a quarter of scene
    detection and half of the 720p re-encode's scaling. One thread per context, because
    the decoder's threads already keep the cores busy.
    """

    def __init__(self, width: int, height: int, pix_fmt: str, interpolation: str) -> None:
        self._reformatter = VideoReformatter()
        self._options: dict[str, Any] = {
            "width": width,
            "height": height,
            "format": pix_fmt,
            "interpolation": interpolation,
            "threads": 1,
        }

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        return self._reformatter.reformat(frame, **self._options)


def _looks_like_media(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(189)
    except OSError:
        return False
    if head[:1] == b"\x47":
        return head[188:189] == b"\x47"
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _MEDIA_MAGIC)


def media_error(path: Path, exc: Exception) -> InvalidError:
    """Translate an FFmpeg failure on input into the error the user sees."""
    if isinstance(exc, FileNotFoundError | IsADirectoryError):
        return InvalidError(f"No such file: {path}", code="SOURCE_MISSING")
    if _looks_like_media(path):
        return InvalidError(
            f"{path.name} is damaged or truncated: {exc}",
            code="CORRUPT_MEDIA",
            details={"path": str(path)},
        )
    return InvalidError(
        f"{path.name} is not a video file we can read",
        code="UNSUPPORTED_MEDIA",
        details={"path": str(path)},
    )


@contextlib.contextmanager
def open_input(path: Path) -> Iterator[av.container.InputContainer]:
    if not path.is_file():
        raise InvalidError(f"No such file: {path}", code="SOURCE_MISSING")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise media_error(path, exc) from exc
    try:
        yield container
    finally:
        container.close()


def temp_sibling(dest: Path, suffix: str | None = None) -> Path:
    """A unique hidden name next to `dest`, so os.replace into place is atomic."""
    tail = suffix if suffix is not None else dest.suffix
    return dest.with_name(f".{dest.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part{tail}")


@contextlib.contextmanager
def atomic_output(dest: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path; on success it replaces `dest`, on any failure it is removed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(dest, suffix)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fraction_of(value: float, total: float) -> float:
    return value / total if total > 0 else 0.0


def seconds(value: Any, time_base: Any) -> float:
    return float(value * time_base)
