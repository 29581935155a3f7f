"""Token buckets: a pure rate limiter over a monotonic time passed in.

Nothing here reads a clock: callers pass ``now`` (``trio.current_time()`` in
the server), so under ``trio.testing.MockClock`` limits are exact and
deterministic.

A bucket holds up to ``burst`` tokens and gains ``per_second`` tokens a
second; an action costs one token (or ``cost``). An action on an empty
bucket is refused with the time until enough tokens are back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` tokens come back each second, up to ``burst`` held at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")


class TokenBucket:
    """One bucket; starts full."""

    __slots__ = ("rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            gained = (now - self.updated) * self.rate.per_second
            self.tokens = min(float(self.rate.burst), self.tokens + gained)
            self.updated = now

    def wait_time(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0.0: available now)."""
        self._refill(now)
        if self.tokens >= cost:
            return 0.0
        return (cost - self.tokens) / self.rate.per_second

    def try_take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens and return 0.0, or take nothing and return
        the seconds to wait before trying again."""
        wait = self.wait_time(now, cost)
        if wait == 0.0:
            self.tokens -= cost
        return wait

    def take(self, now: float, cost: float = 1.0) -> None:
        """Take ``cost`` tokens whatever is left (never below empty): for
        actions counted after they happened."""
        self._refill(now)
        self.tokens = max(0.0, self.tokens - cost)

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.rate.burst


@dataclass(frozen=True, slots=True)
class RateLimiterStatistics:
    buckets: int  #: buckets held now (full ones are dropped from time to time)
    allowed: int
    refused: int


class RateLimiter:
    """Buckets for many ``(action, key)`` pairs, e.g. ``("login", "ip:1.2.3.4")``.

    A bucket that has refilled completely is indistinguishable from a new one,
    so such buckets are dropped once the table grows, keeping memory bounded
    by the number of keys active within one refill period.
    """

    def __init__(self, prune_above: int = 10_000) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._prune_above = prune_above
        self._allowed = 0
        self._refused = 0

    def _bucket(self, action: str, key: str, rate: Rate, now: float) -> TokenBucket:
        bucket = self._buckets.get((action, key))
        if bucket is None or bucket.rate != rate:
            if len(self._buckets) >= self._prune_above:
                self._prune(now)
            bucket = self._buckets[(action, key)] = TokenBucket(rate, now)
        return bucket

    def try_take(self, action: str, key: str, rate: Rate, now: float, cost: float = 1.0) -> float:
        """:meth:`TokenBucket.try_take` on the bucket of ``(action, key)``."""
        wait = self._bucket(action, key, rate, now).try_take(now, cost)
        if wait == 0.0:
            self._allowed += 1
        else:
            self._refused += 1
        return wait

    def wait_time(self, action: str, key: str, rate: Rate, now: float, cost: float = 1.0) -> float:
        """:meth:`TokenBucket.wait_time`: look without taking."""
        bucket = self._buckets.get((action, key))
        return 0.0 if bucket is None else bucket.wait_time(now, cost)

    def take(self, action: str, key: str, rate: Rate, now: float, cost: float = 1.0) -> None:
        """:meth:`TokenBucket.take`: count an action that already happened."""
        self._bucket(action, key, rate, now).take(now, cost)

    def _prune(self, now: float) -> None:
        full = [k for k, bucket in self._buckets.items() if bucket.is_full(now)]
        for k in full:
            del self._buckets[k]
        # Everything still active: let the table grow rather than prune every call.
        if len(self._buckets) >= self._prune_above // 2:
            self._prune_above *= 2

    def statistics(self) -> RateLimiterStatistics:
        return RateLimiterStatistics(len(self._buckets), self._allowed, self._refused)
