"""Actions and their answers in words (plain; no Textual): the confirmation's question,
a dry run's "would ..." line and the short notification once an action is done.

Nothing here decides anything: what an action may do is the server's (its dry run says
so before the question); this only says it so an operator reads it at a glance.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from agentos.schemas.actions import ActionInfo, ActionResponse

SHORT_ID = 8
NOTE_MAX = 100
LISTED = 12  # items a confirmation lists before "... and N more"
# What an action does, as a question: {subject} is what it acts on ("job 2a9206f7 ...").
QUESTIONS: dict[str, str] = {
    "job.delete": "Delete {subject} with its processing steps, clips and files? "
    "This cannot be undone.",
    "job.cancel": "Cancel {subject}? A running stage stops at its next check.",
    "job.retry": "Queue {subject} again, resuming at the stage that failed?",
    "job.set_priority": "Set the priority of {subject} to {priority}?",
    "queue.clear": "Cancel every queued job{queue_part}? Processing jobs are not touched.",
    "queue.retry_failed": "Queue every failed job again, each at the stage that failed?",
    "queue.pause": "Pause the queue? No new stage starts until it is resumed.",
    "dashboard.alert.ack_all": "Acknowledge every unacknowledged event?",
    "agent.stop": "Stop agent {agent_id}? Its queued work waits until it is started again.",
}
# The same, for many rows at once: {count} and {noun}.
BULK_QUESTIONS: dict[str, str] = {
    "job.delete": "Delete {count} {noun} with their processing steps, clips and files? "
    "This cannot be undone.",
    "job.cancel": "Cancel {count} {noun}? Running stages stop at their next check.",
    "job.retry": "Queue {count} {noun} again, each resuming at the stage that failed?",
}
# What a done action did, in a few words ({field} from its result).
DONE: dict[str, str] = {
    "job.cancel": "job {id} cancelled",
    "job.retry": "job {id} queued again at {current_stage}",
    "job.delete": "job {job_id} deleted ({steps} steps, {clips} clips)",
    "job.set_priority": "job {id} priority {priority}",
    "queue.clear": "{count} queued jobs cancelled",
    "queue.retry_failed": "{count} failed jobs queued again",
    "dashboard.alert.ack_all": "{count} events acknowledged",
}
SKIPPED = frozenset({"dry_run", "confirm", "reason"})


def short_id(value: object) -> str:
    return str(value)[:SHORT_ID]


def _value(name: str, value: Any) -> str:
    if name.endswith("_id") or name == "id":
        return short_id(value)
    return str(value)


def fields_in_words(payload: dict[str, Any]) -> str:
    """`job_id=2a9206f7-...` -> "job 2a9206f7" (ids short, flags left out)."""
    parts = [
        f"{name.removesuffix('_id').replace('_', ' ')} {_value(name, value)}"
        for name, value in payload.items()
        if name not in SKIPPED and value not in (None, "")
    ]
    return ", ".join(parts)


def question(
    info: ActionInfo | None, name: str, payload: dict[str, Any], subject: str | None = None
) -> str:
    """The confirmation's question about running `name` with `payload`."""
    words = fields_in_words(payload)
    template = QUESTIONS.get(name)
    if template is not None:
        values = {key: _value(key, value) for key, value in payload.items()}
        values["subject"] = subject or words or "it"
        queue = payload.get("queue")
        values["queue_part"] = f" waiting at {queue}" if queue else ""
        try:
            return template.format(**values)
        except KeyError:
            pass
    summary = (info.summary if info is not None else name).rstrip(".")
    target = subject or words
    return f"{summary}{f' — {target}' if target else ''}?"


def bulk_question(name: str, info: ActionInfo | None, labels: Sequence[str], noun: str) -> str:
    """The question for `name` over many rows, listing them (the first `LISTED`)."""
    count = len(labels)
    template = BULK_QUESTIONS.get(name)
    if template is not None:
        head = template.format(count=count, noun=noun)
    else:
        summary = (info.summary if info is not None else name).rstrip(".")
        head = f"{summary}: {count} {noun}?"
    listed = [f"  • {label}" for label in labels[:LISTED]]
    if count > LISTED:
        listed.append(f"  … and {count - LISTED} more")
    return "\n".join([head, *listed, "Each one runs through the action pipeline (audited)."])


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return len(value)
    return None


def would(result: dict[str, Any]) -> str:
    """A dry run's answer as "would affect ..." (counts of what it lists)."""
    parts = [
        f"{name.replace('_', ' ')} {number}"
        for name, value in result.items()
        if name not in SKIPPED and not name.endswith("_ids")
        for number in [_count(value)]
        if number is not None
    ]
    ids = next((value for name, value in result.items() if name.endswith("_ids")), None)
    if isinstance(ids, list) and not any(part.startswith("count ") for part in parts):
        parts.insert(0, f"count {len(ids)}")
    return "would affect " + (", ".join(parts) if parts else "what is asked")


def rehearsed(result: dict[str, Any]) -> str:
    """The line a confirmation adds after the action's dry run."""
    return f"dry run: {would(result)}"


def done(response: ActionResponse) -> str:
    """The notification once an action answered: short, dry runs and replays said first."""
    result = response.result
    audit = f" · audit #{response.audit_seq}" if response.audit_seq is not None else ""
    if response.dry_run:
        return f"DRY RUN, nothing changed: {would(result)}{audit}"
    template = DONE.get(response.action)
    text = ""
    if template is not None:
        values = {key: _value(key, value) for key, value in result.items()}
        try:
            text = template.format(**values)
        except (KeyError, IndexError):
            text = ""
    if not text:
        text = _brief(result)
    if response.replayed:
        return f"REPLAYED (an earlier answer; not run again): {text or 'done'}{audit}"
    return f"{text or 'done'}{audit}"


def _brief(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if key in SKIPPED or key in ("one_time_password", "secret"):
            continue
        if isinstance(value, bool | int | float | str | uuid.UUID):
            parts.append(f"{key.replace('_', ' ')} {_value(key, value)}")
        if len(", ".join(parts)) > NOTE_MAX:
            break
    text = ", ".join(parts)
    return text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"
