"""One running job of one operator, from its start to its teardown. bpy-free.

The modal operator keeps only thin glue; everything a job session does to the window
manager happens here, with the window manager, window, area and events passed in, so plain
tests drive every transition with small stand-ins:

- :meth:`JobSession.start` starts the job and (in a window) adds the session's own timer;
- :meth:`JobSession.handle` tells the operator what to do with an event: ``PASS`` it on
  (every event but the job's own Esc and its own timer tick once the job has ended: other
  timers always reach their owners), or ``END`` the run; the job's own tick also runs the
  job's main-thread steps, if it has any (``jobs.Work.prelude``: e.g. a movie's frames
  decoded by Blender), for at most ``STEP_BUDGET_S`` a tick, so the UI stays responsive;
- :meth:`JobSession.cancel` asks the job to stop (Esc over the area the job was started
  from, the panel's Cancel button, or any caller);
- :meth:`JobSession.teardown` is the one teardown: cancel the job if it still runs, remove
  the timer, forget the progress (the panel draws only live sessions), free the running flag
  and drop the job's large arrays. It runs from the operator's ``cancel()`` (Blender calls it
  when it removes a modal handler: window closed, file read, quit), from the end of every run,
  and through :func:`teardown_all` from the ``load_pre`` handler and ``unregister()``.
  Running it twice does nothing more.

Progress is shown only in the Mapsmith panel (``layout.progress`` drawn from
:func:`running`); nothing is written into a workspace's status bar or the mouse cursor, so
nothing can be left behind in a window or workspace the user switched away from.
"""

from __future__ import annotations

from collections.abc import Callable

from . import jobs

PASS = "PASS"    # not the job's business: the operator returns PASS_THROUGH
END = "END"      # the run is over (done, failed or cancelled): the operator ends it

TICK_S = 0.1     # how often the session's timer polls the job
STEP_BUDGET_S = 0.04   # main-thread steps of a job per tick: at least one, more while this lasts

# Every live session, started and not yet torn down: the running flag of each operator
# (see :func:`busy`) and what the panel draws.
_LIVE: dict[int, JobSession] = {}


class JobSession:
    """One job of the operator ``owner`` (its ``bl_idname``, e.g. "mapsmith.depth_relief")."""

    def __init__(self, job: jobs.Job, owner: str, label: str = ""):
        self.job = job
        self.owner = owner
        self.label = label or owner
        self._redraw: Callable[[], None] | None = None   # tags the panels for redraw
        self._wm = None
        self._timer = None
        self._window = 0                # as_pointer() of the window the job was started in
        self._area = 0                  # ... and of the area (Esc over it cancels)
        self._seen_tick = None          # our timer's time_duration when we last saw it
        self.torn_down = False

    # -- start -------------------------------------------------------------------------
    def start(self, wm=None, window=None, area=None,
              redraw: Callable[[], None] | None = None) -> JobSession:
        """Start the job; with a window (the UI), add this session's timer to it and redraw
        the panels (``redraw``) as the job moves on."""
        _LIVE[id(self)] = self
        self._redraw = redraw
        if not self.job.started:
            self.job.start()
        if wm is not None and window is not None:
            self._wm = wm
            self._window = window.as_pointer()
            self._area = area.as_pointer() if area is not None else 0
            self._timer = wm.event_timer_add(TICK_S, window=window)
            self._seen_tick = self._timer.time_duration
        return self

    # -- status (what the panel draws) -------------------------------------------------
    @property
    def state(self) -> str:
        return self.job.poll()

    @property
    def progress(self) -> float:
        return self.job.progress

    @property
    def text(self) -> str:
        """"Depth Relief: estimating depth 40%": what the job reports it is doing."""
        if self.job.poll() == jobs.CANCELLED:
            return f"{self.label}: cancelling"
        return f"{self.label}: {self.job.text or 'working'} {int(self.progress * 100)}%"

    # -- events ------------------------------------------------------------------------
    def handle(self, event) -> str:
        """``PASS`` or ``END`` for one event the operator's ``modal`` received."""
        if self.torn_down:
            return END
        if event.type == "ESC" and event.value == "PRESS" and self._over_own_area(event):
            self.cancel()
            return END
        if event.type == "TIMER" and self._own_tick():
            self.job.step(STEP_BUDGET_S)
            if self.job.poll() != jobs.RUNNING:
                return END
            if self._redraw is not None:
                self._redraw()
        return PASS

    def _own_tick(self) -> bool:
        """Whether a TIMER event is this session's: Blender advances a timer's duration just
        before it queues the timer's event, and Python events do not say which timer fired."""
        if self._timer is None:
            return False
        duration = self._timer.time_duration
        ours = duration != self._seen_tick
        self._seen_tick = duration
        return ours

    def _live_window(self):
        if self._wm is None:
            return None
        return next((w for w in self._wm.windows if w.as_pointer() == self._window), None)

    def _over_own_area(self, event) -> bool:
        """Esc is the job's only with the mouse over the area it was started from (the
        panel's Cancel button works from anywhere)."""
        window = self._live_window()
        if window is None or not self._area:
            return False
        area = next((a for a in window.screen.areas if a.as_pointer() == self._area), None)
        if area is None:
            return False
        return (area.x <= event.mouse_x < area.x + area.width
                and area.y <= event.mouse_y < area.y + area.height)

    # -- cancel and teardown -----------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop; the operator ends the run at its next tick."""
        self.job.cancel()
        if self._redraw is not None:
            self._redraw()

    def teardown(self) -> None:
        """Cancel the job if it still runs, remove the timer, free the running flag, forget
        the progress and drop the job's large arrays. Idempotent."""
        if self.torn_down:
            return
        self.torn_down = True
        self.job.cancel()              # no effect on a job that has ended
        if self._timer is not None:
            # A closed window's timers are removed by Blender (after it called our cancel):
            # only remove ours from a window that still exists.
            if self._live_window() is not None:
                self._wm.event_timer_remove(self._timer)
            self._timer = None
        _LIVE.pop(id(self), None)
        self.job.release()
        if self._redraw is not None:
            self._redraw()


def running(owner: str = "") -> list[JobSession]:
    """Live sessions (of ``owner`` only, if given), oldest first."""
    return [s for s in _LIVE.values() if not owner or s.owner == owner]


def busy(owner: str) -> bool:
    """Whether operator ``owner`` has a job running: one at a time each."""
    return any(s.owner == owner for s in _LIVE.values())


def teardown_all() -> int:
    """Tear every live session down (file load, unregister); how many there were."""
    sessions = list(_LIVE.values())
    for session in sessions:
        session.teardown()
    return len(sessions)

