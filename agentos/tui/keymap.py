"""The one key map: screen bindings, the footer and the help screen are all built from it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

VIEWS: tuple[tuple[str, str, str], ...] = (
    ("1", "dashboard", "Dashboard"),
    ("2", "jobs", "Jobs & Queue"),
    ("3", "agents", "Agents & Workers"),
    ("4", "logs", "System Logs"),
    ("5", "analytics", "Analytics"),
    ("6", "config", "Configuration"),
    ("7", "system", "System"),
    ("8", "managers", "Managers"),
    ("9", "failures", "Failures"),
)


@dataclass(frozen=True)
class Key:
    key: str
    action: str
    description: str
    write: bool = False  # an admin action: hidden and refused in --read-only
    show: bool = True  # in the footer (the help screen lists every key)
    display: str | None = None


# Help and Quit come first in every footer, so a narrow terminal never cuts them off.
FRONT: tuple[Key, ...] = (
    Key("question_mark", "app.help", "Help", display="?"),
    Key("q", "app.quit", "Quit"),
)
GLOBAL: tuple[Key, ...] = (
    *(Key(number, f"app.view('{name}')", title, show=False) for number, name, title in VIEWS),
    Key("colon", "app.command_line", "Command", display=":"),
    Key("slash", "filter", "Filter", display="/"),
    # One of the two is offered at a time (the footer says what p will do now).
    Key("p", "app.pause_live", "Pause live"),
    Key("p", "app.resume_live", "Resume live"),
    Key("r", "app.set_interval", "Interval", show=False),
)

VIEW_KEYS: dict[str, tuple[Key, ...]] = {
    "dashboard": (
        Key("enter", "open_job", "Open alert's job", display="⏎", show=False),
        Key("y", "copy_id", "Copy alert's job id", show=False),
        Key("a", "ack", "Ack alert", write=True),
        Key("A", "ack_all", "Ack all", write=True),
        Key("P", "pause_queue", "Pause queue", write=True),
        Key("U", "resume_queue", "Resume queue", write=True),
        Key("F", "retry_failed", "Retry failed", write=True),
        Key("X", "clear_queue", "Clear queue", write=True),
    ),
    # Marks stay until their action's answer: rows it was done for are unmarked, the rest
    # stay marked (a refusal, a 429) with a per-row report. s orders the list on the server
    # by the next column (a click on a header orders by that one), S reverses the order.
    # Escape clears the marks first, the filter on a second press.
    "jobs": (
        Key("enter", "open", "Details", display="⏎"),
        Key("space", "mark", "Mark", display="␣"),
        Key("c", "cancel", "Cancel", write=True),
        Key("t", "retry", "Retry", write=True),
        Key("x", "delete", "Delete", write=True),
        Key("o", "priority", "Priority", write=True),
        Key("y", "copy_id", "Copy id"),
        Key("s", "sort", "Sort"),
        Key("S", "reverse", "Reverse", show=False),
        Key("right_square_bracket", "page(1)", "Next page", display="]"),
        Key("left_square_bracket", "page(-1)", "Prev page", display="["),
        Key("P", "pause_queue", "Pause queue", write=True, show=False),
        Key("U", "resume_queue", "Resume queue", write=True, show=False),
        Key("escape", "clear", "Clear marks, then filter", show=False),
    ),
    # The job's own events and log lines are actions (`events.list`, `logs.search`): read on
    # open, on a change to the job (at most every few seconds), on ^r, else every 10 s.
    "job": (
        Key("escape", "app.pop_screen", "Back"),
        Key("c", "cancel", "Cancel", write=True),
        Key("t", "retry", "Retry", write=True),
        Key("x", "delete", "Delete", write=True),
        Key("e", "error", "Full error"),
        Key("y", "copy_id", "Copy id"),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
    # S, T and C act on the agents table's row; the worker keys on the workers table's (tab
    # moves between them). i and s are reads (worker.ping, worker.stats); X asks first (No
    # is the default), R picks one of the worker's active tasks, asks whether to terminate
    # it, then asks to confirm.
    "agents": (
        Key("S", "agent('agent.start')", "Start agent", write=True),
        Key("T", "agent('agent.stop')", "Stop agent", write=True),
        Key("C", "concurrency", "Concurrency", write=True),
        Key("i", "ping", "Ping workers"),
        Key("s", "stats", "Worker stats"),
        Key("plus", "pool(1)", "Grow pool", write=True, display="+"),
        Key("minus", "pool(-1)", "Shrink pool", write=True, display="-"),
        Key("A", "autoscale", "Autoscale", write=True),
        Key("X", "shutdown", "Shutdown worker", write=True),
        Key("R", "revoke", "Revoke task", write=True),
        Key("ctrl+r", "reload", "Reload", display="^r", show=False),
    ),
    # `/` searches on the server: `level:warning source:worker trace:<id> job:<id>` and free
    # text. f follows the newest records (re-read every few seconds) or stops to read; ]
    # pages back (and stops following); l steps the level filter; Enter opens a line's job.
    "logs": (
        Key("enter", "open", "Open job", display="⏎"),
        Key("y", "copy_id", "Copy job id", show=False),
        Key("f", "follow", "Follow"),
        Key("l", "level", "Level"),
        Key("right_square_bracket", "older", "Older", display="]"),
        Key("a", "ack", "Ack event", write=True),
        Key("V", "verify", "Verify audit chain", write=True),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
    "analytics": (Key("ctrl+r", "reload", "Reload", display="^r"),),
    # Failed jobs grouped by error code, exact counts (Enter lists a group's newest jobs,
    # Enter again opens one); t retries the listed jobs of the group (asks first, per-row
    # report); the Retries table lists stage attempts waiting to run again and when.
    "failures": (
        Key("enter", "open", "Open", display="⏎"),
        Key("t", "retry_group", "Retry all of these", write=True),
        Key("y", "copy_id", "Copy id"),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
    # e edits the selected setting (settable ones only: marked ✎), X puts it back to the
    # environment's or default value (asks first), h shows its history.
    "config": (
        Key("e", "edit", "Edit", write=True),
        Key("X", "reset", "Reset", write=True),
        Key("h", "history", "History"),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
    # Backup keys act on the backups table's row, breaker keys on the breakers table's (tab
    # moves between them). R, D, T and L are dangerous and ask first (L after a dry run
    # listing what would go); M and C undo m and T. The lists are `critical`-rate actions:
    # read on open, after a change, on ^r, and at most every 30 s otherwise.
    "system": (
        Key("b", "backup", "Backup", write=True),
        Key("v", "verify", "Verify", write=True),
        Key("R", "restore", "Restore", write=True),
        Key("D", "delete_backup", "Del backup", write=True),
        Key("m", "maintenance_on", "Maint on", write=True),
        Key("M", "maintenance_off", "Maint off", write=True),
        Key("T", "trip", "Trip breaker", write=True),
        Key("C", "reset_breaker", "Reset breaker", write=True),
        Key("L", "cleanup", "Clean up", write=True),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
    # User keys act on the users table's row, K on the API keys', I on the allow-list's, L
    # on the lockouts' (tab moves between them). D, T, K and I ask first; e, u and I (the
    # undo of D, of a lockout, of i) are left out of the footer for room (? lists them).
    # The lists are read on open, after a change, on ^r, and at most every 30 s otherwise.
    "managers": (
        Key("n", "new_user", "New user", write=True),
        Key("e", "enable", "Enable", write=True, show=False),
        Key("D", "disable", "Disable", write=True),
        Key("o", "set_role", "Role", write=True),
        Key("u", "unlock", "Unlock", write=True, show=False),
        Key("T", "revoke_tokens", "Revoke tokens", write=True),
        Key("k", "new_key", "New key", write=True),
        Key("K", "revoke_key", "Revoke key", write=True),
        Key("i", "allow", "Allow CIDR", write=True),
        Key("I", "disallow", "Remove CIDR", write=True, show=False),
        Key("L", "clear_lockout", "Clear lockout", write=True),
        Key("ctrl+r", "reload", "Reload", display="^r"),
    ),
}


# What `?` adds for a view, under its keys.
NOTES: dict[str, tuple[str, ...]] = {
    "jobs": (
        "/ filter: statuses (failed queued), a short id (id:be1c or 8+ hex digits) and "
        "title words. Sorted on the server: s, S (reverse) or a click on a column header.",
    ),
    "logs": ("/ search: level:warning source:worker trace:<id> job:<id or short id> and words",),
    "failures": (
        "t retries the listed jobs of the selected error code (its newest 200 at most; asks "
        "first, per-row report)",
    ),
}


def keys_for(view: str, *, read_only: bool) -> list[Key]:
    own = [key for key in VIEW_KEYS.get(view, ()) if not (read_only and key.write)]
    taken = {key.key for key in own}
    return (
        [key for key in FRONT if key.key not in taken]
        + own
        + [key for key in GLOBAL if key.key not in taken]
    )


def bindings_for(view: str) -> list[Binding]:
    """Every key of the view; write keys are hidden and refused at run time in read-only."""
    return [
        Binding(key.key, key.action, key.description, show=key.show, key_display=key.display)
        for key in keys_for(view, read_only=False)
    ]


def write_actions(view: str) -> frozenset[str]:
    """Action names (without arguments) that run admin actions in `view`."""
    return frozenset(key.action.split("(")[0] for key in VIEW_KEYS.get(view, ()) if key.write)


def help_rows(view: str, *, read_only: bool) -> list[tuple[str, str]]:
    """One row per key (a key with two meanings, like p, lists both)."""
    rows: dict[str, list[str]] = {}
    for key in keys_for(view, read_only=read_only):
        rows.setdefault(key.display or key.key, []).append(key.description)
    return [(key, " / ".join(descriptions)) for key, descriptions in rows.items()]
