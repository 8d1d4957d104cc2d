"""Clips: the cuts a job produced. Users see the clips of their own jobs only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Clip, Job
from agentos.errors import NotFoundError
from agentos.schemas.clips import ClipRead
from agentos.services import jobs
from agentos.services.context import Actor
from agentos.services.runtime import settings_of

MAX_RECENT = 500
ClipPart = Literal["video", "thumbnail"]


def recent(session: Session, *, actor: Actor, limit: int = 20) -> list[ClipRead]:
    stmt = (
        select(Clip).order_by(Clip.created_at.desc(), Clip.id).limit(max(1, min(limit, MAX_RECENT)))
    )
    visible = jobs.visible_to(actor)
    if visible:
        stmt = stmt.join(Job, Job.id == Clip.job_id).where(*visible)
    return [ClipRead.model_validate(clip) for clip in session.scalars(stmt)]


def require(session: Session, *, clip_id: uuid.UUID, actor: Actor) -> ClipRead:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFoundError(f"clip {clip_id} not found", code="CLIP_NOT_FOUND")
    try:
        jobs.load(session, job_id=clip.job_id, actor=actor)
    except NotFoundError:
        raise NotFoundError(f"clip {clip_id} not found", code="CLIP_NOT_FOUND") from None
    return ClipRead.model_validate(clip)


def for_job(session: Session, *, job_id: uuid.UUID, actor: Actor) -> list[ClipRead]:
    job = jobs.load(session, job_id=job_id, actor=actor)
    rows = session.scalars(select(Clip).where(Clip.job_id == job.id).order_by(Clip.ordinal))
    return [ClipRead.model_validate(clip) for clip in rows]


def media_file(session: Session, *, clip_id: uuid.UUID, actor: Actor, part: ClipPart) -> Path:
    """The clip's video or thumbnail file, for whoever may see the clip; only files inside
    the home are served (a path in the row never points a reader elsewhere)."""
    clip = require(session, clip_id=clip_id, actor=actor)
    stored = clip.path if part == "video" else clip.thumbnail_path
    home = settings_of(session).home_dir
    path = Path(stored).resolve() if stored else None
    if path is None or not path.is_relative_to(home) or not path.is_file():
        raise NotFoundError(f"clip {clip_id} has no {part} file", code="CLIP_FILE_NOT_FOUND")
    return path
