"""Process-local allowance leases in front of a shared rate limiter.

A shared (Redis) limiter costs one round trip per decision, which on a hot read path is
most of a request. An `Allowance` instead takes a small batch of permits from the shared
limiter at once (`RateLimiter.acquire`, atomic: the batch is counted in the shared window
the moment it is granted) and spends them locally, one per request, with no round trip.
This is the client-side "prefetch" or lease pattern of quota systems such as Google's
Doorman: the server stays the only authority and simply hands out capacity in pieces.

Batch size adapts per key like a congestion window: it starts at 1, doubles while a
lease is used up before it expires, and falls back to what was actually used when a lease
expires with permits left. It never exceeds `limit // MAX_SHARE` (so with a small limit,
e.g. the public tier's 10/min or the 4-in-10 s burst window, every request is still one
exact round trip) nor what the shared window still has.

Tolerance, documented for every tier that uses it:
- Never more than `limit` admitted per shared window: every local permit was counted in
  the shared window before it is spent.
- A permit is stamped when leased, not when spent; a lease lives at most `LEASE_S`, so the
  limit holds for every window of length `window_s - LEASE_S` (within 2.5 % of 10 s).
- Unused permits of an expired lease stay counted until they leave the window: a client
  can be refused up to `batch - 1` requests early per process, and only right after its
  rate dropped (the batch shrinks to the observed use at once).
- `remaining` in headers is the shared remaining at the last lease plus this process's
  unspent permits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agentos.services.backends.base import Backends, RateAlgorithm, RateDecision, RateLimiter

LEASE_S = 0.25
MAX_SHARE = 20
MAX_KEYS = 50_000
ALLOWANCE_KEY = "allowance"


@dataclass
class _Lease:
    permits: int = 0
    used: int = 0
    size: int = 1
    taken_at: float = 0.0
    expires: float = 0.0
    shared: RateDecision | None = None


class Allowance:
    """Sliding-window admission with permits leased in batches from `limiter`."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        batching: bool = True,
        lease_s: float = LEASE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.batching = batching
        self.lease_s = lease_s
        self._clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}

    def hit(self, key: str, *, limit: int, window_s: float) -> RateDecision:
        """One request of `key`: a local permit if one is leased, else a fresh lease."""
        with self._lock:
            now = self._clock()
            lease = self._leases.get(key)
            if lease is not None and lease.permits > 0 and now < lease.expires:
                lease.permits -= 1
                lease.used += 1
                return self._local(lease, now)
            want = self._next_size(lease, now, limit)
        decision = self.limiter.acquire(key, limit=limit, window_s=window_s, want=want)
        if not decision.allowed:
            return decision
        with self._lock:
            now = self._clock()
            lease = self._leases.get(key)
            if lease is None or now >= lease.expires or lease.permits <= 0:
                if len(self._leases) >= MAX_KEYS:
                    self._drop_expired(now)
                lease = self._leases[key] = _Lease(size=want, taken_at=now)
            # A concurrent lease for the same key merges: both batches are ours to spend.
            lease.permits += decision.granted - 1
            lease.used += 1
            lease.expires = now + self.lease_s
            lease.taken_at, lease.shared = now, decision
            return self._local(lease, now)

    def _next_size(self, lease: _Lease | None, now: float, limit: int) -> int:
        cap = max(1, limit // MAX_SHARE) if self.batching else 1
        if lease is None or now >= lease.expires + self.lease_s:
            return 1
        if lease.permits <= 0 and now < lease.expires:
            return min(cap, lease.size * 2)  # used up in time: the rate is higher
        return min(cap, max(1, lease.used))

    def _local(self, lease: _Lease, now: float) -> RateDecision:
        shared = lease.shared
        assert shared is not None
        # Built directly: this runs for every admitted request, dataclasses.replace is slow.
        return RateDecision(
            True,
            shared.limit,
            max(0, shared.remaining + lease.permits),
            max(0.0, shared.reset_s - (now - lease.taken_at)),
            0.0,
            shared.window_s,
            shared.algorithm,
            1,
        )

    def _drop_expired(self, now: float) -> None:
        for key in [key for key, lease in self._leases.items() if now >= lease.expires]:
            del self._leases[key]

    def forget(self) -> None:
        """Drop every local permit (they stay counted in the shared windows)."""
        with self._lock:
            self._leases.clear()


def allowance_of(backends: Backends) -> Allowance:
    """The leases of these backends (one per process; batching only on a shared limiter)."""
    found = backends.extras.get(ALLOWANCE_KEY)
    if not isinstance(found, Allowance) or found.limiter is not backends.limiter:
        found = Allowance(backends.limiter, batching=backends.kind == "redis")
        backends.extras[ALLOWANCE_KEY] = found
    return found


def admit(
    backends: Backends, key: str, *, limit: int, window_s: float, algorithm: RateAlgorithm
) -> RateDecision:
    """One request of `key`: sliding windows through the leased allowance, other
    algorithms (whose state is not a count of permits) one decision of the limiter."""
    if algorithm == "sliding_window":
        return allowance_of(backends).hit(key, limit=limit, window_s=window_s)
    return backends.limiter.hit(key, limit=limit, window_s=window_s, algorithm=algorithm)
