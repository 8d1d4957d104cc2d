"""Shorten what an MP4 presents by rewriting its edit lists in place.

A stream-copied clip may have to carry frames it must not show: B-frames just before the
clip's end refer to a frame after it, and AAC's last packet runs past it. FFmpeg's muxer
sizes each edit list to the packets it was given, so the clip would present those extra
frames; here every track's edit is cut to the clip's length instead. Only fixed-size
fields change (no box grows or moves), so chunk offsets stay valid and the file stays
fast-start.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


class EditListError(Exception):
    """The file has no edit list to shorten (or one we do not understand)."""


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int  # offset of the box header within the buffer
    body: int  # offset of the body (after the header)
    end: int


def _boxes(data: bytes | bytearray, start: int, end: int) -> list[_Box]:
    found: list[_Box] = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise EditListError(f"malformed {kind!r} box")
        found.append(_Box(kind, pos, pos + header, pos + size))
        pos += size
    return found


def _child(data: bytearray, parent: _Box, kind: bytes) -> _Box | None:
    return next((b for b in _boxes(data, parent.body, parent.end) if b.kind == kind), None)


def _find_moov(handle: BinaryIO, size: int) -> tuple[int, bytearray]:
    """The moov box's offset and bytes, reading only top-level headers (mdat may be huge)."""
    pos = 0
    while pos + 8 <= size:
        handle.seek(pos)
        head = handle.read(16)
        box_size, kind = struct.unpack_from(">I4s", head)
        if box_size == 1:
            (box_size,) = struct.unpack_from(">Q", head, 8)
        elif box_size == 0:
            box_size = size - pos
        if box_size < 8:
            break
        if kind == b"moov":
            handle.seek(pos)
            return pos, bytearray(handle.read(box_size))
        pos += box_size
    raise EditListError("no moov box")


def _duration_field(data: bytearray, box: _Box, v0: int, v1: int) -> tuple[int, str]:
    """Offset and struct format of a full box's duration field (version 0 or 1 layout)."""
    version = data[box.body]
    return (box.body + v1, ">Q") if version == 1 else (box.body + v0, ">I")


def _read(data: bytearray, field: tuple[int, str]) -> int:
    return int(struct.unpack_from(field[1], data, field[0])[0])


def _write(data: bytearray, field: tuple[int, str], value: int) -> None:
    struct.pack_into(field[1], data, field[0], value)


def _shorten_track(data: bytearray, trak: _Box, limit: int) -> int:
    """Cut the track's edit list to present at most `limit` (movie timescale); its new length."""
    edts = _child(data, trak, b"edts")
    elst = _child(data, edts, b"elst") if edts is not None else None
    tkhd = _child(data, trak, b"tkhd")
    if elst is None or tkhd is None:
        raise EditListError("a track without an edit list")
    version = data[elst.body]
    count = _read(data, (elst.body + 4, ">I"))
    entry, fmt = (20, ">Qq") if version == 1 else (12, ">Ii")
    total = 0
    for index in range(count):
        offset = elst.body + 8 + index * entry
        length, media_time = struct.unpack_from(fmt, data, offset)
        if media_time != -1 and total + length > limit:
            # An empty edit (media_time -1) delays the track; only a media edit is cut short.
            length = max(0, limit - total)
            struct.pack_into(fmt, data, offset, length, media_time)
        total += length
    tkhd_duration = _duration_field(data, tkhd, 20, 28)
    _write(data, tkhd_duration, min(_read(data, tkhd_duration), total))
    return min(_read(data, tkhd_duration), total)


def limit_presentation(path: Path, seconds: float) -> None:
    """Make every track of `path` present at most `seconds` from the movie's start."""
    with path.open("r+b") as handle:
        offset, moov = _find_moov(handle, path.stat().st_size)
        root = _boxes(moov, 0, len(moov))[0]
        mvhd = _child(moov, root, b"mvhd")
        if mvhd is None:
            raise EditListError("no mvhd box")
        timescale = _read(moov, (mvhd.body + (20 if moov[mvhd.body] == 1 else 12), ">I"))
        # Round down (but not a float's hair below a whole tick): an edit that ended even a
        # tick past the last frame's end would let the next frame in.
        limit = math.floor(seconds * timescale + 1e-6)
        tracks = [b for b in _boxes(moov, root.body, root.end) if b.kind == b"trak"]
        lengths = [_shorten_track(moov, trak, limit) for trak in tracks]
        movie = _duration_field(moov, mvhd, 16, 24)
        _write(moov, movie, max(lengths, default=0))
        handle.seek(offset)
        handle.write(moov)
