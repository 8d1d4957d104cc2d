"""Results of the media stages (agentos.media): plain data the runner stores or passes on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field


class IngestResult(BaseModel):
    path: str
    sha256: str
    size_bytes: int
    # moved/copied: the file was put in place now; present: a previous delivery already did it.
    action: Literal["moved", "copied", "present"]


class AudioInfo(BaseModel):
    codec: str
    sample_rate: int
    channels: int


class MediaInfo(BaseModel):
    path: str
    container: str
    size_bytes: int
    duration: float = Field(description="seconds")
    start_time: float = Field(description="seconds; every other timestamp is on this clock")
    fps: float
    frame_count: int
    width: int
    height: int
    video_codec: str
    pixel_format: str | None
    bitrate: int | None = Field(description="bits per second, whole container")
    audio: AudioInfo | None
    keyframes: list[float] = Field(description="presentation time of every keyframe, seconds")


class FrameScores(BaseModel):
    """Per-frame content change, kept so a new threshold needs no second decode.

    scores[i] compares frame i with frame i-1 (scores[0] is 0); the scale is PySceneDetect's
    ContentDetector's, so its default threshold of 27 applies.
    """

    timestamps: list[float]
    scores: list[float]
    fps: float
    start_time: float = Field(default=0.0, description="time of the first frame, seconds")
    duration: float = Field(description="first frame to the end of the last one, seconds")
    analysis_width: int
    analysis_height: int


class Scene(BaseModel):
    index: int
    start: float
    end: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration(self) -> float:
        return self.end - self.start


class ClipPlan(BaseModel):
    ordinal: int
    start: float
    end: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration(self) -> float:
        return self.end - self.start


class ClipResult(BaseModel):
    ordinal: int
    path: str
    start: float
    end: float
    duration: float = Field(description="measured on the written file, seconds")
    width: int
    height: int
    fps: float
    codec: str
    size_bytes: int
    method: Literal["copy", "reencode"]
    has_audio: bool

    @property
    def copied(self) -> bool:
        return self.method == "copy"


class ThumbResult(BaseModel):
    path: str
    width: int
    height: int
    size_bytes: int
    at: float = Field(description="time of the chosen frame inside the clip, seconds")
