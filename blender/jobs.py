"""The job runner: work off the main thread, results handed back to it.

This module does not import bpy. A :class:`Job` runs one callable on a worker thread; the
main thread calls :meth:`Job.poll` (from a modal timer in the UI, or in a loop when Blender
runs in the background) and builds Blender data only after poll reports ``DONE``. Poll never
blocks: it reads a few attributes under a lock, so the UI stays responsive however long the
network takes.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..core.errors import Cancelled, CancelToken, MapsmithError
from ..providers.cache import CacheMiss, only_cached

RUNNING = "RUNNING"
DONE = "DONE"
FAILED = "FAILED"
CANCELLED = "CANCELLED"


class Job:
    """Run ``work(token)`` on a daemon thread; ``token`` is a :class:`CancelToken`.

    ``work`` reports progress with ``token.progress(fraction, text)`` and checks
    ``token.check()`` between steps. Its return value becomes :attr:`result`; a
    :class:`MapsmithError` becomes :attr:`error` (its message is the user's message); any
    other exception is reported as an internal error with its type, never as a crash.
    """

    def __init__(self, work: Callable[[CancelToken], Any], label: str = ""):
        self.label = label
        self._work = work
        self._lock = threading.Lock()
        self._state = RUNNING
        self._progress = 0.0
        self._text = ""
        self.result: Any = None
        self.error: str | None = None
        self.token = CancelToken(on_progress=self._set_progress)
        self._thread = threading.Thread(target=self._run, name=f"mapsmith-{label}", daemon=True)
        self.started_at = 0.0

    # -- worker side -------------------------------------------------------------------
    def _set_progress(self, fraction: float, text: str) -> None:
        with self._lock:
            self._progress = fraction
            if text:
                self._text = text

    def _finish(self, state: str, result: Any = None, error: str | None = None) -> None:
        with self._lock:
            if self._state != RUNNING:  # cancelled meanwhile: drop the late result
                return
            self.result, self.error, self._state = result, error, state
            if state == DONE:
                self._progress = 1.0

    def _outcome(self) -> tuple[str, Any, str | None]:
        """Run the work here: (state, result, error). :class:`CacheMiss` passes through."""
        work = self._work
        if work is None:              # released before the thread got to it
            return CANCELLED, None, "Cancelled"
        try:
            result = work(self.token)
        except Cancelled:
            return CANCELLED, None, "Cancelled"
        except MapsmithError as err:
            return FAILED, None, str(err)
        except MemoryError:
            return FAILED, None, "Out of memory: try a smaller image or resolution"
        except CacheMiss:
            raise
        except Exception as err:  # a bug: keep Blender alive, say what happened
            traceback.print_exc()
            return FAILED, None, f"Internal error ({type(err).__name__}: {err})"
        if self.token.cancelled:
            return CANCELLED, None, "Cancelled"
        return DONE, result, None

    def _run(self) -> None:
        self._finish(*self._outcome())

    # -- main-thread side --------------------------------------------------------------
    def start(self) -> Job:
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self.started_at > 0.0

    def run_cached(self) -> bool:
        """Run the work right here on the calling thread if every answer it needs is in the
        answer cache (a re-run that only changes how the answer is built): True, and the job
        has ended. On the first answer missing, False: nothing was sent, start the job."""
        self.started_at = time.monotonic()
        try:
            with only_cached():
                outcome = self._outcome()
        except CacheMiss:
            self.started_at = 0.0
            return False
        self._finish(*outcome)
        return True

    def release(self) -> None:
        """Drop what the job holds (its work with the arrays it captured, its result): the
        operator has built its data, or the job was abandoned."""
        with self._lock:
            self._work = None
            self.result = None

    def poll(self) -> str:
        """Non-blocking: the job's state (RUNNING, DONE, FAILED or CANCELLED)."""
        with self._lock:
            return self._state

    @property
    def progress(self) -> float:
        with self._lock:
            return self._progress

    @property
    def text(self) -> str:
        with self._lock:
            return self._text

    def cancel(self) -> None:
        """Ask the work to stop. The state turns CANCELLED at once; a request already on
        the wire is abandoned (its thread ends when the request returns or times out)."""
        self.token.cancel()
        with self._lock:
            if self._state == RUNNING:
                self._state = CANCELLED
                self.error = "Cancelled"

    def wait(self, interval: float = 0.01, timeout: float | None = None) -> str:
        """Poll until the job ends: the headless path (timers never fire in a bpy script)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (state := self.poll()) == RUNNING:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                return self.poll()
            time.sleep(interval)
        return state

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
