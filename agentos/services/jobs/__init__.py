"""Jobs: one state machine (`state`), reads (`queries`, lists in `listing`), changes
(`commands`), the stage catalogue (`catalog`) and the counts by status and hour (`rollups`,
`counts`).

How a queued job runs (claims, stage results, handover) is `agentos.services.pipeline`.
"""

from agentos.services.jobs.commands import (
    cancel,
    cancel_job,
    create,
    delete,
    enqueue_stage,
    requeue_step,
    retry,
    retry_job,
    set_priority,
)
from agentos.services.jobs.listing import find
from agentos.services.jobs.queries import (
    get_detail,
    load,
    recent,
    require,
    resolve_id,
    resume_stage,
    summary_stats,
    today,
    visible_to,
)
from agentos.services.jobs.state import TRANSITIONS, can_transition, check_transition, transition

__all__ = [
    "TRANSITIONS",
    "can_transition",
    "cancel",
    "cancel_job",
    "check_transition",
    "create",
    "delete",
    "enqueue_stage",
    "find",
    "get_detail",
    "load",
    "recent",
    "requeue_step",
    "require",
    "resolve_id",
    "resume_stage",
    "retry",
    "retry_job",
    "set_priority",
    "summary_stats",
    "today",
    "transition",
    "visible_to",
]
