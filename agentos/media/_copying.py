"""Cut a clip without decoding it: remux its packets, and let MP4 edit lists make it exact.

A clip need not start on a keyframe. It is copied from the keyframe before its start, with
timestamps that put the cut frame at 0 and the frames before it below 0; FFmpeg's muxer
then writes an edit list that starts presenting at the cut frame. Those earlier frames are
decoded (the cut frame refers to them) but never shown: FFmpeg (so PyAV), Chromium and
Safari honour the edit list. The end is exact the same way: frames after the end that a
frame before it refers to (B-frames) are kept, and the edit list is cut to the clip's
length (_mp4_edits). Audio gets one packet of pre-roll (an AAC frame only decodes whole
with the one before it) and is trimmed by its own edit list, to the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import av.container

from agentos.media._common import Checkpoint, fraction_of, open_input
from agentos.media._cutting import CutSpec
from agentos.media._mp4_edits import EditListError, limit_presentation


@dataclass(frozen=True)
class CopyRules:
    """What a copy may hide behind the edit list; nothing at all means the old strict copy:
    a keyframe exactly at the start and no frame before the end referring past it."""

    max_lead_s: float  # how far before the start the copy may begin (at a keyframe)
    hide_tail: bool  # keep frames after the end that frames before it refer to


class _CannotCopyError(Exception):
    """The packets around the cut do not allow a copy under the rules."""


@dataclass
class _VideoCut:
    spec: CutSpec
    rules: CopyRules
    first_pts: int | None = None
    held: list[av.Packet] = field(default_factory=list)
    done: bool = False

    def take(self, packet: av.Packet) -> list[av.Packet]:
        """The packets to write now, in decode order (often just `packet`, maybe none)."""
        assert packet.pts is not None
        assert packet.dts is not None
        start, end, tol = self.spec.start, self.spec.end, self.spec.tolerance
        if float(packet.dts * packet.time_base) >= end - tol:
            self.done = True  # decode order has passed the end: nothing after is needed
            return []
        if self.first_pts is None:
            wanted = start if self.spec.keyframe is None else self.spec.keyframe
            if not packet.is_keyframe or float(packet.pts * packet.time_base) < wanted - tol:
                return []  # a seek without an index lands a little before the keyframe
            lead = start - float(packet.pts * packet.time_base)
            if not -tol <= lead <= self.rules.max_lead_s + tol:
                raise _CannotCopyError
            self.first_pts = packet.pts
        if packet.pts < self.first_pts:
            return []  # a leading picture of an open GOP: it refers to the GOP before
        if float(packet.pts * packet.time_base) >= end - tol:
            self.held.append(packet)  # past the end: written only if a later frame needs it
            return []
        if self.held and not self.rules.hide_tail:
            raise _CannotCopyError
        taken, self.held = [*self.held, packet], []
        return taken


@dataclass
class _AudioCut:
    spec: CutSpec
    done: bool
    previous: av.Packet | None = None
    started: bool = False

    def take(self, packet: av.Packet) -> list[av.Packet]:
        assert packet.pts is not None
        t = float(packet.pts * packet.time_base)
        if t >= self.spec.end:
            self.done = True
            return []
        if self.started:
            return [packet]
        if t + float((packet.duration or 0) * packet.time_base) <= self.spec.start:
            self.previous = packet  # wholly before the start: the pre-roll candidate
            return []
        self.started = True
        return [packet] if self.previous is None else [self.previous, packet]


def _open_output(path: Path, video_time_base: Any) -> av.container.OutputContainer:
    options = {"movflags": "+faststart", "use_editlist": "1"}
    if video_time_base is not None and video_time_base.numerator == 1:
        # Edit lists count in the movie's timescale (1/1000 s by default): the video's own
        # keeps the clip's length exact to the tick.
        options["movie_timescale"] = str(video_time_base.denominator)
    return av.open(str(path), mode="w", format="mp4", options=options)


def _rebase(packet: av.Packet, start: float, stream: Any) -> None:
    assert packet.pts is not None
    assert packet.dts is not None
    offset = round(start / packet.time_base)
    packet.pts, packet.dts = packet.pts - offset, packet.dts - offset
    packet.stream = stream


def stream_copy(
    source: Path, tmp: Path, spec: CutSpec, checkpoint: Checkpoint, rules: CopyRules
) -> bool:
    """Remux [start, end) of `source` into `tmp`; False when `rules` forbid it here."""
    with open_input(source) as inp:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        assert vin.time_base is not None
        with _open_output(tmp, vin.time_base) as out:
            vout = out.add_stream_from_template(vin)
            aout = out.add_stream_from_template(ain) if ain is not None else None
            spec.seek(inp, vin)
            video, audio = _VideoCut(spec, rules), _AudioCut(spec, done=ain is None)
            try:
                for packet in inp.demux(*(s for s in (vin, ain) if s is not None)):
                    if packet.size == 0 or packet.pts is None or packet.dts is None:
                        continue
                    t = float(packet.pts * packet.time_base)
                    checkpoint.tick(fraction_of(t - spec.start, spec.end - spec.start))
                    cut, target = (video, vout) if packet.stream is vin else (audio, aout)
                    for taken in [] if cut.done else cut.take(packet):
                        _rebase(taken, spec.start, target)
                        out.mux(taken)
                    if video.done and audio.done:
                        break
            except _CannotCopyError:
                return False
    if video.first_pts is None:
        return False  # no keyframe before the end: nothing a copy could start from
    try:
        limit_presentation(tmp, spec.end - spec.start)
    except EditListError:
        return False
    return True
