"""Jobs: one state machine (`state`), reads (`queries`), changes (`commands`, `stages`)."""

from agentos.services.jobs import moves, stages
from agentos.services.jobs.commands import (
    cancel,
    cancel_job,
    create,
    create_from_upload,
    delete,
    enqueue_stage,
    retry,
    retry_job,
    set_priority,
)
from agentos.services.jobs.queries import (
    find,
    get_detail,
    load,
    recent,
    require,
    resume_stage,
    summary_stats,
    today,
    visible_to,
)
from agentos.services.jobs.stages import (
    complete_stage,
    fail_job,
    fail_stage,
    record_progress,
    report_status,
    start_stage,
)
from agentos.services.jobs.state import TRANSITIONS, can_transition, check_transition, transition

__all__ = [
    "TRANSITIONS",
    "can_transition",
    "cancel",
    "cancel_job",
    "check_transition",
    "complete_stage",
    "create",
    "create_from_upload",
    "delete",
    "enqueue_stage",
    "fail_job",
    "fail_stage",
    "find",
    "get_detail",
    "load",
    "moves",
    "recent",
    "record_progress",
    "report_status",
    "require",
    "resume_stage",
    "retry",
    "retry_job",
    "set_priority",
    "stages",
    "start_stage",
    "summary_stats",
    "today",
    "transition",
    "visible_to",
]
