"""The six pipeline stages and their default settings: the one definition of each agent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentos.db.models import Agent

# name -> (stage order, description, default concurrency, default config)
DEFAULT_AGENTS: dict[str, tuple[int, str, int, dict[str, Any]]] = {
    "ingest": (1, "Verify the upload checksum and move it into storage", 2, {}),
    "probe": (2, "Read duration, fps, resolution, codecs, bitrate, keyframes", 2, {}),
    "scenes": (
        3,
        "Content-based scene detection (HSV difference)",
        1,
        {"threshold": 27.0, "min_scene_s": 0.6, "analysis_width": 256, "parallel": 0},
    ),
    "clipper": (
        4,
        "Cut clips at scene boundaries within the clip length bounds",
        1,
        {"min_clip_s": 2.0, "max_clip_s": 60.0, "reencode_height": None, "parallel": 0},
    ),
    "thumbs": (5, "A JPEG thumbnail per clip", 2, {"width": 320, "quality": 85, "parallel": 0}),
    "publish": (6, "Mark clips ready and finish the job", 2, {}),
}
PIPELINE: tuple[str, ...] = tuple(sorted(DEFAULT_AGENTS, key=lambda name: DEFAULT_AGENTS[name][0]))


def default_config(name: str) -> dict[str, Any]:
    return dict(DEFAULT_AGENTS[name][3])


def next_stage(name: str) -> str | None:
    index = PIPELINE.index(name)
    return PIPELINE[index + 1] if index + 1 < len(PIPELINE) else None


def ensure_default_agents(session: Session) -> int:
    """Create any missing pipeline agent with its defaults; returns how many were created."""
    existing = set(session.scalars(select(Agent.name)))
    created = 0
    for name, (order, description, concurrency, config) in DEFAULT_AGENTS.items():
        if name in existing:
            continue
        session.add(
            Agent(
                name=name,
                stage_order=order,
                description=description,
                concurrency=concurrency,
                config=dict(config),
            )
        )
        created += 1
    session.flush()
    return created
