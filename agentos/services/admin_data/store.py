"""Cache-first reads of the SSOT document, with single-flight rebuilds.

Read order: the process-local copy (no round trip) while it is younger than the TTL, no
change was announced since it was built and the feed is listening; else one cache GET;
else a rebuild. Only one rebuild runs per process (a flight that concurrent readers join)
and across processes (a lock key taken with set_if_absent; the others wait for its result).
If the cache is down the document is collected directly and said to be "direct".

`warm` also folds the job rollup's deltas (`rollups.compact`) at most every
`COMPACT_EVERY_S`, so the readers' delta scan stays a few hundred rows at most, and
vacuums the deltas' dead rows once there are many (`rollups.vacuum_if_dead`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agentos import telemetry
from agentos.errors import UnavailableError
from agentos.schemas.admin import CacheSource, RebuildResult, SsotHealth
from agentos.services import events
from agentos.services.admin_data.build import CachedDocument, build
from agentos.services.admin_data.feed import SSOT_CHANNEL, ChangeFeed, Warmer
from agentos.services.backends.base import BusEvent, Cache
from agentos.services.jobs import rollups
from agentos.services.runtime import Runtime

logger = logging.getLogger(__name__)

LOCK_TTL_S = 10.0
LOCK_WAIT_S = 5.0
LOCK_POLL_S = 0.02
MAX_FLIGHTS_PER_READ = 3
COMPACT_EVERY_S = 5.0
# A change is rebuilt at once only if the document was read this recently (see _changed).
WATCHED_S = 60.0
CACHE_UNAVAILABLE = "CACHE_UNAVAILABLE"  # the code of every cache outage (backends/redis.py)


@dataclass
class _Flight:
    started_at: float
    done: threading.Event = field(default_factory=threading.Event)
    result: CachedDocument | None = None
    error: BaseException | None = None


@dataclass
class _Stats:
    hits: int = 0
    misses: int = 0
    direct: int = 0
    rebuilds: int = 0
    last_error: str | None = None
    last_result: RebuildResult | None = None


class SsotStore:
    """The read model's cache state in this process, for one deployment."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = settings = runtime.settings
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.local: CachedDocument | None = None
        self.last_change_at = 0.0
        self.last_read_at = -WATCHED_S  # monotonic
        self.cache_available = True
        self.stats = _Stats()
        self._lock = threading.Lock()
        self._flight: _Flight | None = None
        self.feed = ChangeFeed(runtime, on_change=self._changed, on_rebuilt=self._rebuilt)
        self.warmer = Warmer(lambda: settings.ssot_warm_interval_s, self.warm)
        events.on_local_change(runtime.backends, self._changed_here)
        self._compacted_at = 0.0

    @property
    def cache(self) -> Cache:
        return self.runtime.backends.cache

    @property
    def lock_key(self) -> str:
        return f"{self.settings.ssot_cache_key}:lock"

    # --- freshness -----------------------------------------------------------------------

    def _fresh(self, document: CachedDocument | None, *, need: float) -> bool:
        return (
            document is not None
            and document.built_at >= need
            and document.age_s() < self.settings.ssot_cache_ttl_s
        )

    def _changed(self, _event: BusEvent) -> None:
        """Readers need the change at once; the warmer rebuilds for it only while someone
        reads the document. Unwatched, a flood of actions would have it rebuild twice a
        second for nobody (a seventh of the server's time under action load); the interval's
        warm and a reader's miss still bring the change in."""
        self.last_change_at = time.time()
        if time.monotonic() - self.last_read_at < WATCHED_S:
            self.warmer.poke()

    def _changed_here(self) -> None:
        """A commit of this process announced a change: its next read must see it (the
        bus's echo of the same change pokes the warmer)."""
        self.last_change_at = time.time()

    def _rebuilt(self, event: BusEvent) -> None:
        """Another process rebuilt: replace the local copy with the shared one (one GET)."""
        if event.payload.get("origin") == self.origin:
            return
        built_at = float(event.payload.get("built_at") or 0.0)
        if self.local is not None and self.local.built_at >= built_at:
            return
        try:
            fetched = self._fetch()
        except UnavailableError:
            return
        if fetched is not None and (self.local is None or fetched.built_at > self.local.built_at):
            self.local = fetched

    def invalidate(self) -> None:
        """Forget the local copy and treat everything cached so far as stale."""
        self.last_change_at = time.time()
        self.local = None

    # --- reads ---------------------------------------------------------------------------

    def local_hit(self) -> CachedDocument | None:
        """The process-local copy if it is current: no I/O at all (safe on an event loop)."""
        local = self.local
        if self.feed.healthy and self._fresh(local, need=self.last_change_at):
            assert local is not None
            self._count("hit")
            if local.source != "hit":  # kept as a hit: one copy, not one per read
                local = self.local = local.as_source("hit")
            return local
        return None

    def get(self) -> CachedDocument:
        if not self.feed.running:
            self.feed.start()
        need = self.last_change_at
        hit = self.local_hit()
        if hit is not None:
            return hit
        try:
            shared = self._fetch()
        except UnavailableError:
            shared = None
        if self.cache_available and self._fresh(shared, need=need):
            assert shared is not None
            self.local = shared
            self._count("hit")
            return shared.as_source("hit")
        document = self._join_flight(need)
        self._count(document.source)
        return document

    def _fetch(self) -> CachedDocument | None:
        try:
            value = self.cache.get(self.settings.ssot_cache_key)
        except UnavailableError:
            self._cache_down()
            raise
        self.cache_available = True
        return CachedDocument.from_cache_value(value) if value else None

    def _cache_down(self) -> None:
        # The local copy mirrors the shared cache; without the cache we cannot know it is
        # current, so reads go to the database until the cache answers again.
        self.cache_available = False
        self.local = None

    def _count(self, source: CacheSource) -> None:
        """One read answered (every read passes here)."""
        self.last_read_at = time.monotonic()
        telemetry.ssot_read(source)
        with self._lock:
            if source == "hit":
                self.stats.hits += 1
            elif source == "miss":
                self.stats.misses += 1
            else:
                self.stats.direct += 1

    # --- single flight -------------------------------------------------------------------

    def _join_flight(self, need: float) -> CachedDocument:
        """Wait for the running rebuild, or lead the next; repeat if it predates `need`."""
        result: CachedDocument | None = None
        for _ in range(MAX_FLIGHTS_PER_READ):
            with self._lock:
                flight = self._flight
                leader = flight is None
                if flight is None:
                    flight = self._flight = _Flight(started_at=time.time())
            if leader:
                self._lead(flight)
            else:
                flight.done.wait()
            if flight.error is not None:
                raise flight.error
            result = flight.result
            if flight.started_at >= need:
                break
        assert result is not None
        return result

    def _lead(self, flight: _Flight) -> None:
        try:
            flight.result = self._rebuild(need=flight.started_at)
        except BaseException as exc:
            flight.error = exc
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()

    def _rebuild(self, *, need: float) -> CachedDocument:
        try:
            if not self.cache.set_if_absent(self.lock_key, self.origin.encode(), ttl_s=LOCK_TTL_S):
                waited = self._wait_for_other(need)
                if waited is not None:
                    return waited
            try:
                return self._build_and_store()
            finally:
                self.cache.delete(self.lock_key)
        except UnavailableError as exc:
            if exc.code != CACHE_UNAVAILABLE:
                raise  # the database is down, not the cache: collecting directly cannot help
            self._cache_down()
            self.stats.last_error = f"cache unavailable: {exc}"
            return self._build_direct()

    def _wait_for_other(self, need: float) -> CachedDocument | None:
        """Another process holds the rebuild lock: take its result when it lands (bounded)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(LOCK_POLL_S)
            shared = self._fetch()
            if self._fresh(shared, need=need):
                assert shared is not None
                self.local = shared
                return shared.as_source("miss")
            if self.cache.ttl(self.lock_key) is None:
                break  # the other builder gave up or finished without a usable result
        return None

    def _build_and_store(self) -> CachedDocument:
        started = time.perf_counter()
        document = build(self.runtime, source="miss")
        self.cache.set(
            self.settings.ssot_cache_key,
            document.to_cache_value(),
            ttl_s=self.settings.ssot_cache_ttl_s,
        )
        self.cache_available = True
        self.local = document
        self._record(document, started, cached=True)
        try:
            self.runtime.backends.bus.publish(
                SSOT_CHANNEL, {"origin": self.origin, "built_at": document.built_at}
            )
        except Exception as exc:  # peers then refresh from the cache on their next miss
            logger.warning("ssot: rebuild announcement failed: %s", exc)
        return document

    def _build_direct(self) -> CachedDocument:
        started = time.perf_counter()
        document = build(self.runtime, source="direct")
        self._record(document, started, cached=False)
        return document

    def _record(self, document: CachedDocument, started: float, *, cached: bool) -> None:
        result = RebuildResult(
            built_at=datetime.fromtimestamp(document.built_at, UTC),
            build_ms=round((time.perf_counter() - started) * 1000, 3),
            size_bytes=document.size_bytes,
            cached=cached,
        )
        with self._lock:
            self.stats.rebuilds += 1
            self.stats.last_result = result
            if cached:
                self.stats.last_error = None

    # --- rebuild and warm ----------------------------------------------------------------

    def rebuild(self) -> RebuildResult:
        """A fresh document now (joins a rebuild already running if it started after now)."""
        document = self._join_flight(time.time())
        last = self.stats.last_result
        if last is not None and last.built_at.timestamp() == document.built_at:
            return last
        return RebuildResult(
            built_at=datetime.fromtimestamp(document.built_at, UTC),
            build_ms=document.build_ms,
            size_bytes=document.size_bytes,
            cached=document.source != "direct",
        )

    def warm(self) -> RebuildResult | None:
        """Rebuild unless a document younger than most of the interval is current."""
        self._compact_if_due()
        local = self.local
        if (
            local is not None
            and local.built_at >= self.last_change_at
            and local.age_s() < self.settings.ssot_warm_interval_s * 0.8
        ):
            return None
        return self.rebuild()

    def _compact_if_due(self) -> None:
        now = time.monotonic()
        if now - self._compacted_at < COMPACT_EVERY_S:
            return
        self._compacted_at = now
        try:
            with self.runtime.session() as session:
                rollups.compact(session)
            rollups.vacuum_if_dead(self.runtime.engine)
        except Exception as exc:  # readers add uncompacted deltas; the next tick retries
            logger.warning("ssot: rollup compaction failed: %s", exc)

    def health(self) -> SsotHealth:
        ttl: float | None = None
        try:
            ttl = self.cache.ttl(self.settings.ssot_cache_key)
            available = True
        except UnavailableError:
            available = False
        local, stats = self.local, self.stats
        last = stats.last_result
        served = stats.hits + stats.misses + stats.direct
        return SsotHealth(
            cache_backend=self.cache.name,
            cache_available=available,
            cached=ttl is not None,
            cache_ttl_s=round(ttl, 3) if ttl is not None else None,
            local_copy=local is not None,
            age_s=round(local.age_s(), 3) if local is not None else None,
            last_built_at=last.built_at if last else None,
            last_build_ms=last.build_ms if last else None,
            last_size_bytes=last.size_bytes if last else None,
            last_error=stats.last_error,
            warmer_running=self.warmer.running,
            feed_running=self.feed.running and self.feed.healthy,
            hits=stats.hits,
            misses=stats.misses,
            direct=stats.direct,
            rebuilds=stats.rebuilds,
            hit_rate=round(stats.hits / served, 4) if served else 0.0,
        )

    def close(self) -> None:
        self.warmer.stop()
        self.feed.stop()
