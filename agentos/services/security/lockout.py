"""Login protection: failed attempts counted per account and per client IP.

`settings.lockout_attempts` failures within `settings.lockout_seconds` lock both the
account name and the IP for `settings.lockout_seconds`. Counters live in the `lockouts`
table, so every server process and worker sees the same state. Unknown usernames are
counted like real ones, so a lockout reveals nothing about which accounts exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentos.db.base import utcnow
from agentos.db.models import Lockout, User
from agentos.services import events
from agentos.services.runtime import settings_of

Scope = Literal["user", "ip"]
SUBJECT_MAX = 128


def is_locked(session: Session, *, username: str, ip: str | None) -> bool:
    now = utcnow()
    subjects = [("user", _subject(username))]
    if ip:
        subjects.append(("ip", _subject(ip)))
    for scope, subject in subjects:
        entry = _row(session, scope, subject, for_update=False)
        if entry is not None and entry.locked_until is not None and entry.locked_until > now:
            return True
    return False


def record_failure(session: Session, *, username: str, ip: str | None) -> bool:
    """Count one failed login; returns True when this failure locked the account or IP."""
    now = utcnow()
    locked: list[str] = []
    counts: dict[str, int] = {}
    scopes: list[tuple[Scope, str]] = [("user", _subject(username))]
    if ip:
        scopes.append(("ip", _subject(ip)))
    for scope, subject in scopes:
        entry, newly_locked = _count(session, scope, subject, now)
        counts[scope] = entry.failures
        if newly_locked:
            locked.append(scope)
        if scope == "user":
            _mirror_on_user(session, subject, entry)
    if locked:
        _announce_lock(session, username=_subject(username), ip=ip, scopes=locked, counts=counts)
    session.flush()
    return bool(locked)


def record_success(session: Session, *, username: str) -> None:
    """A successful login forgets the account's failures (not the IP's)."""
    _delete(session, "user", _subject(username))
    user = _user(session, _subject(username))
    if user is not None:
        user.failed_logins = 0
        user.locked_until = None


def unlock_user(session: Session, *, username: str) -> bool:
    """Lift the account's lockout; returns whether one was in force."""
    now = utcnow()
    entry = _row(session, "user", _subject(username), for_update=True)
    was_locked = bool(entry and entry.locked_until and entry.locked_until > now)
    record_success(session, username=username)
    session.flush()
    return was_locked


def clear_ip(session: Session, *, ip: str) -> bool:
    """Let a locked-out IP in again; returns whether it had any failures recorded."""
    removed = _delete(session, "ip", _subject(ip))
    session.flush()
    return removed


def _count(session: Session, scope: Scope, subject: str, now: datetime) -> tuple[Lockout, bool]:
    settings = settings_of(session)
    window = timedelta(seconds=settings.lockout_seconds)
    entry = _row(session, scope, subject, for_update=True) or _insert(session, scope, subject, now)
    if entry.locked_until is not None and entry.locked_until > now:
        return entry, False
    expired_lock = entry.locked_until is not None and entry.locked_until <= now
    if expired_lock or entry.window_started_at < now - window:
        entry.failures = 0
        entry.window_started_at = now
        entry.locked_until = None
    entry.failures += 1
    if entry.failures >= settings.lockout_attempts:
        entry.locked_until = now + window
        return entry, True
    return entry, False


def _insert(session: Session, scope: Scope, subject: str, now: datetime) -> Lockout:
    try:
        with session.begin_nested():
            entry = Lockout(scope=scope, subject=subject, failures=0, window_started_at=now)
            session.add(entry)
        return entry
    except IntegrityError:  # another request created it first: use theirs
        existing = _row(session, scope, subject, for_update=True)
        assert existing is not None
        return existing


def _row(session: Session, scope: str, subject: str, *, for_update: bool) -> Lockout | None:
    query = select(Lockout).where(Lockout.scope == scope, Lockout.subject == subject)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def _delete(session: Session, scope: str, subject: str) -> bool:
    result = session.execute(
        delete(Lockout).where(Lockout.scope == scope, Lockout.subject == subject)
    )
    return bool(getattr(result, "rowcount", 0))


def _user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _mirror_on_user(session: Session, username: str, entry: Lockout) -> None:
    user = _user(session, username)
    if user is not None:
        user.failed_logins = entry.failures
        user.locked_until = entry.locked_until


def _announce_lock(
    session: Session, *, username: str, ip: str | None, scopes: list[str], counts: dict[str, int]
) -> None:
    settings = settings_of(session)
    what = " and ".join(
        f"IP {ip}" if scope == "ip" else f"account {username!r}" for scope in scopes
    )
    events.emit(
        session,
        severity="warning",
        source="security",
        kind="login_lockout",
        message=f"Login locked for {what} for {settings.lockout_seconds} s "
        f"after {settings.lockout_attempts} failed attempts",
        details={"username": username, "ip": ip, "locked": scopes, "failures": counts},
    )


def _subject(value: str) -> str:
    return value.strip().lower()[:SUBJECT_MAX]
