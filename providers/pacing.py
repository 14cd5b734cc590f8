"""Client-side pacing: a batch keeps itself under a service's per-minute limit instead of
meeting the server's 429s. bpy-free."""

from __future__ import annotations

import collections
import threading
import time

from .contract import NEVER_CANCELLED, CancelToken


class Pacer:
    """At most ``per_minute`` starts in any ``period`` seconds (a sliding window).

    Shared by all calls to one service endpoint, so a batch paces itself instead of meeting
    the server's 429s; waiting goes through the caller's :class:`CancelToken`.
    """

    def __init__(self, per_minute: int, period: float = 60.0, clock=time.monotonic):
        self.per_minute, self.period, self._clock = per_minute, period, clock
        self._starts = collections.deque()
        self._lock = threading.Lock()

    def wait(self, token: CancelToken = NEVER_CANCELLED) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.period:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                delay = self._starts[0] + self.period - now
            token.wait(delay)


_pacers: dict = {}
_pacers_lock = threading.Lock()


def pacer(endpoint: str, base_url: str, per_minute: int) -> Pacer:
    """The process-wide pacer of one endpoint at one base URL."""
    with _pacers_lock:
        return _pacers.setdefault((endpoint, base_url), Pacer(per_minute))
