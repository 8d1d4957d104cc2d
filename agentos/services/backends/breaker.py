"""Circuit breakers, one per dependency (database, cache, broker, storage).

CLOSED -> OPEN after `breaker_failure_threshold` consecutive failures -> HALF_OPEN once
`breaker_cooldown_s` has passed, admitting at most `breaker_half_open_max_calls` trial
calls (reserved atomically, so N processes send only that many probes) -> CLOSED on a
successful probe, OPEN again on a failed one. On Redis (DB3) the state is one hash per
breaker and every transition is one Lua script timed by Redis TIME, so all processes share
it and a new process does not reset it; embedded, it lives in the process. A breaker that
was tripped by hand stays open until it is reset.

The common case, a closed breaker without failures, is remembered per process for
`CLEAN_CACHE_S` seconds, so a healthy action costs no Redis round trip for its breakers:
a breaker opened by another process (or tripped there by hand) stops this process within
that time, while anything this process records or forces itself applies at once, and
every state other than clean-closed (failures counted, open, half-open probes) is always
decided by the script.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, get_args

import redis
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from agentos.errors import AgentOSError, InvalidError, UnavailableError
from agentos.schemas.actions_system import BreakerName
from agentos.services.backends.outage import guarded
from agentos.settings import Settings

DEPENDENCIES: tuple[str, ...] = get_args(BreakerName)
State = Literal["closed", "open", "half_open"]
CLEAN, DIRTY, PROBE = 0, 1, 2  # admission per breaker: closed, closed with failures, trial
CLEAN_CACHE_S = 1.0
UNAVAILABLE = "BREAKER_UNAVAILABLE"


@dataclass(frozen=True)
class BreakerState:
    name: str
    state: State
    failures: int
    opened_at: datetime | None
    probes: int
    forced: bool


@dataclass(frozen=True)
class Permit:
    """What `guard` admitted: breakers to report back to (only those whose state may change)."""

    names: tuple[str, ...]
    admissions: tuple[int, ...]


class BreakerStore(Protocol):
    def acquire(self, names: tuple[str, ...]) -> tuple[int, ...] | tuple[str, float]: ...
    def record(self, name: str, *, success: bool) -> None: ...
    def snapshot(self, name: str) -> BreakerState: ...
    def force(self, name: str, state: Literal["closed", "open"]) -> None: ...
    def close(self) -> None: ...


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooldown = tonumber(ARGV[1])
local max_probes = tonumber(ARGV[2])
local plan = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'state', 'failures', 'opened_at', 'probes', 'half_at',
                       'forced')
  local state = h[1] or 'closed'
  local opened = tonumber(h[3] or '0')
  if state == 'closed' then
    if tonumber(h[2] or '0') > 0 then plan[i] = 1 else plan[i] = 0 end
  elseif h[6] == '1' then
    return {'deny', i, tostring(cooldown)}
  elseif state == 'open' then
    if now - opened < cooldown then return {'deny', i, tostring(cooldown - (now - opened))} end
    plan[i] = 3
  else
    local half_at = tonumber(h[5] or '0')
    if now - half_at >= cooldown then plan[i] = 3
    elseif tonumber(h[4] or '0') >= max_probes then
      return {'deny', i, tostring(cooldown - (now - half_at))}
    else plan[i] = 4 end
  end
end
local out = {'ok'}
for i, key in ipairs(KEYS) do
  if plan[i] == 3 then
    redis.call('HSET', key, 'state', 'half_open', 'half_at', now, 'probes', 1)
    out[i + 1] = 2
  elseif plan[i] == 4 then
    redis.call('HINCRBY', key, 'probes', 1)
    out[i + 1] = 2
  else
    out[i + 1] = plan[i]
  end
end
return out
"""
_RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if redis.call('HGET', KEYS[1], 'forced') == '1' then return state end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'probes', 0)
  return 'closed'
end
if state == 'half_open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'probes', 0)
  return 'open'
end
if state == 'closed' then
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures >= tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
    return 'open'
  end
end
return state
"""


class RedisBreakerStore:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.prefix = f"{settings.redis_key_prefix}breaker:"
        self._acquire = self.client.register_script(_ACQUIRE)
        self._record = self.client.register_script(_RECORD)
        self._clean_until: dict[str, float] = {}  # breakers seen clean-closed, until when
        self._lock = threading.Lock()

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _forget(self, name: str) -> None:
        with self._lock:
            self._clean_until.pop(name, None)

    def acquire(self, names: tuple[str, ...]) -> tuple[int, ...] | tuple[str, float]:
        now = time.monotonic()
        with self._lock:
            if all(self._clean_until.get(name, 0.0) > now for name in names):
                return (CLEAN,) * len(names)
        cooldown_ms = int(self.settings.breaker_cooldown_s * 1000)
        with guarded(UNAVAILABLE, "circuit breakers"):
            reply = self._acquire(
                keys=[self._key(name) for name in names],
                args=[cooldown_ms, self.settings.breaker_half_open_max_calls],
            )
        if _text(reply[0]) == "deny":
            return names[int(reply[1]) - 1], max(0.0, float(_text(reply[2])) / 1000)
        admissions = tuple(int(item) for item in reply[1:])
        with self._lock:
            for name, admission in zip(names, admissions, strict=True):
                if admission == CLEAN:
                    self._clean_until[name] = now + CLEAN_CACHE_S
        return admissions

    def record(self, name: str, *, success: bool) -> None:
        self._forget(name)
        with guarded(UNAVAILABLE, "circuit breakers"):
            self._record(
                keys=[self._key(name)],
                args=["1" if success else "0", self.settings.breaker_failure_threshold],
            )

    def snapshot(self, name: str) -> BreakerState:
        with guarded(UNAVAILABLE, "circuit breakers"):
            stored = self.client.hgetall(self._key(name))
        raw = {_text(k): _text(v) for k, v in stored.items()}
        opened = raw.get("opened_at")
        state = raw.get("state", "closed")
        return BreakerState(
            name=name,
            state=state if state in ("open", "half_open") else "closed",  # type: ignore[arg-type]
            failures=int(raw.get("failures", 0)),
            opened_at=_from_ms(float(opened)) if opened and state != "closed" else None,
            probes=int(raw.get("probes", 0)),
            forced=raw.get("forced") == "1",
        )

    def close(self) -> None:
        self.client.close()

    def force(self, name: str, state: Literal["closed", "open"]) -> None:
        key = self._key(name)
        self._forget(name)
        with guarded(UNAVAILABLE, "circuit breakers"):
            if state == "closed":
                self.client.delete(key)
                return
            seconds, micros = self.client.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            self.client.hset(key, mapping={"state": "open", "opened_at": now_ms, "forced": "1"})


@dataclass
class _Local:
    state: State = "closed"
    failures: int = 0
    opened_at: float = 0.0
    half_at: float = 0.0
    probes: int = 0
    forced: bool = False


class LocalBreakerStore:
    """Embedded deployments: the same state machine, in this process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._states: dict[str, _Local] = {}

    def _get(self, name: str) -> _Local:
        return self._states.setdefault(name, _Local())

    def _plan(self, name: str, now: float) -> int | float:
        """An admission code, or (as a float) the seconds until this breaker admits."""
        item, cooldown = self._get(name), self.settings.breaker_cooldown_s
        if item.state == "closed":
            return DIRTY if item.failures else CLEAN
        if item.forced:
            return float(cooldown)
        if item.state == "open":
            return 3 if now - item.opened_at >= cooldown else cooldown - (now - item.opened_at)
        if now - item.half_at >= cooldown:
            return 3
        if item.probes >= self.settings.breaker_half_open_max_calls:
            return cooldown - (now - item.half_at)
        return 4

    def acquire(self, names: tuple[str, ...]) -> tuple[int, ...] | tuple[str, float]:
        with self._lock:
            now = time.time()
            plans = [self._plan(name, now) for name in names]
            for name, plan in zip(names, plans, strict=True):
                if isinstance(plan, float):
                    return name, max(0.0, plan)
            out: list[int] = []
            for name, plan in zip(names, plans, strict=True):
                item = self._get(name)
                if plan == 3:
                    item.state, item.half_at, item.probes = "half_open", now, 1
                elif plan == 4:
                    item.probes += 1
                out.append(PROBE if plan in (3, 4) else int(plan))
            return tuple(out)

    def record(self, name: str, *, success: bool) -> None:
        with self._lock:
            item = self._get(name)
            if item.forced:
                return
            if success:
                item.state, item.failures, item.probes = "closed", 0, 0
            elif item.state == "half_open":
                item.state, item.opened_at, item.probes = "open", time.time(), 0
            elif item.state == "closed":
                item.failures += 1
                if item.failures >= self.settings.breaker_failure_threshold:
                    item.state, item.opened_at = "open", time.time()

    def snapshot(self, name: str) -> BreakerState:
        with self._lock:
            item = self._get(name)
            return BreakerState(
                name=name,
                state=item.state,
                failures=item.failures,
                opened_at=_from_ms(item.opened_at * 1000) if item.state != "closed" else None,
                probes=item.probes,
                forced=item.forced,
            )

    def close(self) -> None:
        """Nothing to release: the state lives in this object."""

    def force(self, name: str, state: Literal["closed", "open"]) -> None:
        with self._lock:
            if state == "closed":
                self._states[name] = _Local()
            else:
                self._states[name] = _Local(state="open", opened_at=time.time(), forced=True)


def guard(store: BreakerStore, names: tuple[str, ...]) -> Permit:
    """Admit a call that uses `names`, or raise 503 CIRCUIT_OPEN naming the open breaker."""
    if not names:
        return Permit(names=(), admissions=())
    decision = store.acquire(names)
    if len(decision) == 2 and isinstance(decision[0], str):
        name, retry_after = decision[0], float(decision[1])
        raise UnavailableError(
            f"circuit breaker {name!r} is open; retry in {retry_after:.1f} s",
            code="CIRCUIT_OPEN",
            details={"breaker": name, "retry_after_s": round(retry_after, 3)},
        )
    return Permit(names=names, admissions=tuple(int(item) for item in decision))


def report(store: BreakerStore, permit: Permit, *, failed: str | None) -> None:
    """Record the outcome: a failure on `failed`, else success where it changes state.

    After a failure the other breakers learn nothing (their trial slot lapses after the
    cool-down); a clean closed breaker needs no write, so the common path costs none.
    """
    if failed is not None:
        if failed in permit.names:
            store.record(failed, success=False)
        return
    for name, admission in zip(permit.names, permit.admissions, strict=True):
        if admission != CLEAN:
            store.record(name, success=True)


def _known(name: str) -> str:
    if name not in DEPENDENCIES:
        raise InvalidError(
            f"unknown circuit breaker {name!r}; known: {', '.join(DEPENDENCIES)}",
            code="UNKNOWN_BREAKER",
        )
    return name


def list_breakers(store: BreakerStore) -> list[BreakerState]:
    return [store.snapshot(name) for name in DEPENDENCIES]


def reset(store: BreakerStore, name: str) -> BreakerState:
    store.force(_known(name), "closed")
    return store.snapshot(name)


def trip(store: BreakerStore, name: str) -> BreakerState:
    store.force(_known(name), "open")
    return store.snapshot(name)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def counts_as_failure(exc: BaseException) -> bool:
    """Only a dependency failing counts: it did not answer (connection, timeout) or said it
    is unavailable. An error the request itself caused (bad data, a constraint, any 4xx of
    ours) says the dependency works, so a caller cannot open a breaker for everyone."""
    if isinstance(exc, AgentOSError):
        return exc.kind == "unavailable"
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    if type(exc).__module__.startswith(("kombu", "amqp")):
        return "OperationalError" in type(exc).__name__ or isinstance(exc, OSError)
    return isinstance(exc, OSError | TimeoutError)


def dependency_of(exc: BaseException, declared: tuple[str, ...]) -> str | None:
    """Which of the action's dependencies a failure is charged to."""
    details = getattr(exc, "details", None)
    named = details.get("dependency") if isinstance(details, dict) else None
    if isinstance(named, str) and named in declared:
        return named
    if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
        guess = "database"
    elif isinstance(exc, redis.exceptions.RedisError):
        guess = "cache" if "cache" in declared else "broker"
    elif type(exc).__module__.startswith(("kombu", "celery", "amqp")):
        guess = "broker"
    elif isinstance(exc, OSError):
        guess = "storage"
    else:
        guess = declared[0] if declared else ""
    return guess if guess in declared else (declared[0] if declared else None)
