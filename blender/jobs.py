"""The job runner: work off the main thread, results handed back to it.

This module does not import bpy. A :class:`Job` runs one callable on a worker thread; the
main thread calls :meth:`Job.poll` (from a modal timer in the UI, or in a loop when Blender
runs in the background) and builds Blender data only after poll reports ``DONE``. Poll never
blocks: it reads a few attributes under a lock, so the UI stays responsive however long the
network takes.

Work that needs Blender before the thread can start (e.g. decoding a movie's frames, which
only Blender can do, on the main thread) is a :class:`Work` with a ``prelude``: a generator
the main thread advances a step at a time (:meth:`Job.step`, from the job session's timer in
the UI, in a loop in :meth:`Job.wait` headless) before the work's thread starts.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from ..core.errors import Cancelled, CancelToken, MapsmithError
from ..providers.cache import CacheMiss, only_cached

RUNNING = "RUNNING"
DONE = "DONE"
FAILED = "FAILED"
CANCELLED = "CANCELLED"


@dataclasses.dataclass
class Work:
    """Work with main-thread steps before it (what ``prepare`` may return instead of a bare
    callable).

    - ``prelude`` yields ``(fraction, text)`` after each step; each step runs on the main
      thread (it may use Blender). Its ``finally`` releases what it made in Blender: it runs on
      the main thread too, when the prelude ends, fails, or is closed (cancelled or released).
    - ``run(token)`` then runs on the job's thread, as a bare work callable does.
    - ``cleanup()`` (any thread, no Blender) runs exactly once when the job is over: on the
      job's thread after ``run``, or, if ``run`` never started (cancelled or failed in the
      prelude), when the job is released.
    """

    run: Callable[[CancelToken], Any]
    prelude: Generator[tuple[float, str], None, None] | None = None
    cleanup: Callable[[], None] | None = None


class Job:
    """Run ``work(token)`` on a daemon thread; ``token`` is a :class:`CancelToken`.

    ``work`` reports progress with ``token.progress(fraction, text)`` and checks
    ``token.check()`` between steps. Its return value becomes :attr:`result`; a
    :class:`MapsmithError` becomes :attr:`error` (its message is the user's message); any
    other exception is reported as an internal error with its type, never as a crash.
    ``work`` may be a :class:`Work` whose prelude runs first, on the main thread.
    """

    def __init__(self, work: Callable[[CancelToken], Any] | Work, label: str = ""):
        self.label = label
        if not isinstance(work, Work):
            work = Work(work)
        self._work = work.run
        self._prelude = work.prelude
        self._cleanup = work.cleanup
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
        return self._guarded(work, self.token)

    def _guarded(self, call: Callable, *args) -> tuple[str, Any, str | None]:
        """``call(*args)`` as (state, result, error): a failure the user can cause is its
        message, a bug an internal error. :class:`CacheMiss` passes through."""
        try:
            result = call(*args)
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
        try:
            outcome = self._outcome()
        finally:
            self._clean_up()           # before the end is seen: nothing left once it is
        self._finish(*outcome)

    def _clean_up(self) -> None:
        """The work's ``cleanup``, once."""
        with self._lock:
            cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            try:
                cleanup()
            except Exception:  # noqa: BLE001  (a leftover temporary file is not worth a crash)
                traceback.print_exc()

    # -- main-thread side --------------------------------------------------------------
    def start(self) -> Job:
        """Start the job: its thread at once, or after the prelude's steps (:meth:`step`)."""
        self.started_at = time.monotonic()
        if self._prelude is None:
            self._thread.start()
        return self

    def step(self, budget: float = 0.0) -> None:
        """Main thread: run the prelude's next step (more while ``budget`` seconds last);
        once it is done, start the work's thread. Nothing to do without a prelude, or once
        the job has ended (cancelled meanwhile: the prelude is closed)."""
        if self._prelude is None:
            return
        if self.poll() != RUNNING:
            self._close_prelude()
            self._clean_up()
            return
        deadline = time.monotonic() + budget
        while not self.token.cancelled:
            state, value, error = self._guarded(next, self._prelude, None)
            if state != DONE:                   # failed (the prelude has closed itself)
                self._finish(state, None, error)
                break
            if value is None:                   # the prelude is over: on to the thread
                self._prelude = None
                self._thread.start()
                return
            self._set_progress(*value)
            if time.monotonic() >= deadline:
                return
        self._close_prelude()
        self._clean_up()

    def _close_prelude(self) -> None:
        prelude, self._prelude = self._prelude, None
        if prelude is not None:
            prelude.close()                     # its finally runs here, on the main thread

    @property
    def started(self) -> bool:
        return self.started_at > 0.0

    def run_cached(self) -> bool:
        """Run the work right here on the calling thread if every answer it needs is in the
        answer cache (a re-run that only changes how the answer is built): True, and the job
        has ended. On the first answer missing, False: nothing was sent, start the job. A job
        with a prelude always starts (its steps are not the cache's)."""
        if self._prelude is not None:
            return False
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
        operator has built its data, or the job was abandoned. Main thread: a prelude not
        yet over is closed, and the cleanup runs if the work's thread never started."""
        self._close_prelude()
        with self._lock:
            self._work = None
            self.result = None
        if self._thread.ident is None:          # never started: run() will not clean up
            self._clean_up()

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
        """Poll until the job ends: the headless path (timers never fire in a bpy script).
        Called on the main thread, it runs the prelude's steps first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._prelude is not None:
            self.step()
        while (state := self.poll()) == RUNNING:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                return self.poll()
            time.sleep(interval)
        return state

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
