"""The triggers and functions the migrations create, per dialect, for `db check`.

The models describe tables, columns, indexes and constraints; these objects live only in
the migrations, so they are listed here (tests/db checks a freshly migrated database has
exactly these). Dropping one (say, the audit log's append-only triggers) is a difference.
"""

from __future__ import annotations

_ROLLUPS: dict[str, str] = {
    "clip": "clips",
    "job": "jobs",
    "step": "processing_steps",
}
_ROLLUP_TRIGGERS: dict[str, str] = {
    f"{name}_rollup_{verb}": table
    for name, table in _ROLLUPS.items()
    for verb in ("insert", "update", "delete")
}
# A job changed in a column a list is ordered by: a delta of 0 (migration 0017), or a
# progress mark for the columns the pipeline moves at every step (0019).
_ROLLUP_TRIGGERS["job_order_moved"] = "jobs"
_ROLLUP_TRIGGERS["job_progress_marked"] = "jobs"
# Jobs created and deleted are marked too, on PostgreSQL (0021).
_MARKED_WRITES: dict[str, str] = {"job_marked_created": "jobs", "job_marked_deleted": "jobs"}

# trigger name -> table
TRIGGERS: dict[str, dict[str, str]] = {
    "postgresql": {
        "audit_log_no_update_delete": "audit_log",
        "audit_log_no_truncate": "audit_log",
        "audit_chain_head_guard": "audit_chain_head",
        "audit_chain_head_no_truncate": "audit_chain_head",
        **_ROLLUP_TRIGGERS,
        **_MARKED_WRITES,
    },
    "sqlite": {
        "audit_log_no_update": "audit_log",
        "audit_log_no_delete": "audit_log",
        "audit_chain_head_guard": "audit_chain_head",
        "audit_chain_head_no_delete": "audit_chain_head",
        **_ROLLUP_TRIGGERS,
    },
}
FUNCTIONS: dict[str, frozenset[str]] = {
    "postgresql": frozenset(
        {
            "audit_log_append_only",
            "audit_chain_head_advance_only",
            *(
                f"{name}_rollup_{verb}"
                for name in _ROLLUPS
                for verb in ("inserted", "updated", "deleted")
            ),
            "job_order_moved",
            "job_progress_marked",
            "job_marked_created",
            # The audit append, one call (0020).
            "agentos_audit_append",
        }
    ),
    "sqlite": frozenset(),
}
