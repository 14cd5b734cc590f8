"""The job runner without Blender: threads, progress, cancel, errors."""

import threading
import time

from mapsmith.blender import jobs
from mapsmith.providers import ProviderError


def test_result_is_handed_back():
    job = jobs.Job(lambda token: 42).start()
    assert job.wait(timeout=5) == jobs.DONE
    assert job.result == 42 and job.progress == 1.0


def test_provider_error_message_reaches_user():
    def work(token):
        raise ProviderError("ClipDrop: no credits left", status=402)
    job = jobs.Job(work).start()
    assert job.wait(timeout=5) == jobs.FAILED
    assert job.error == "ClipDrop: no credits left"


def test_unexpected_exception_is_reported_not_raised():
    job = jobs.Job(lambda token: 1 / 0).start()
    assert job.wait(timeout=5) == jobs.FAILED
    assert "ZeroDivisionError" in job.error


def test_cancel_stops_work_and_drops_result():
    started = threading.Event()

    def work(token):
        started.set()
        for i in range(1000):
            token.progress(i / 1000, "step")
            token.wait(0.01)
        return "late"

    job = jobs.Job(work).start()
    assert started.wait(5)
    job.cancel()
    assert job.poll() == jobs.CANCELLED
    job.join(5)
    assert job.poll() == jobs.CANCELLED and job.result is None


def test_poll_never_blocks_while_work_runs():
    release = threading.Event()
    job = jobs.Job(lambda token: release.wait(5)).start()
    for _ in range(200):  # the longest main-thread stall is measured by tools/bench.py
        assert job.poll() == jobs.RUNNING
    release.set()
    assert job.wait(timeout=5) == jobs.DONE


# -- The job session: every transition, driven with small stand-ins ----------------------------
# Stand-ins for what Blender passes in: the window manager (its windows and timers), a window
# with its screen's areas, a timer (Blender advances time_duration just before it queues the
# timer's event) and events (type, value, mouse position in window coordinates).
import types  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mapsmith.blender import job_session  # noqa: E402


class _Ptr:
    _next = [1000]

    def __init__(self):
        self._ptr = _Ptr._next[0] = _Ptr._next[0] + 1

    def as_pointer(self):
        return self._ptr


class Area(_Ptr):
    def __init__(self, x, y, width, height):
        super().__init__()
        self.x, self.y, self.width, self.height = x, y, width, height


class Window(_Ptr):
    def __init__(self, *areas):
        super().__init__()
        self.screen = types.SimpleNamespace(areas=list(areas))


class Timer:
    def __init__(self, window):
        self.window, self.time_duration = window, 0.0

    def fire(self):
        self.time_duration += job_session.TICK_S
        return Event("TIMER", "NOTHING")


class WindowManager:
    def __init__(self, *windows):
        self.windows = list(windows)
        self.timers: list[Timer] = []
        self.removed: list[Timer] = []

    def event_timer_add(self, step, window=None):
        timer = Timer(window)
        self.timers.append(timer)
        return timer

    def event_timer_remove(self, timer):
        self.timers.remove(timer)
        self.removed.append(timer)


def Event(type, value="PRESS", x=0, y=0):  # noqa: N802  (reads like bpy's Event)
    return types.SimpleNamespace(type=type, value=value, mouse_x=x, mouse_y=y)


@pytest.fixture
def ui():
    """A window with the sidebar area the job was started from (0..400 x 0..300) and another
    area (a timeline, 400..800), the window manager, and a job that runs until released."""
    area, other = Area(0, 0, 400, 300), Area(400, 0, 400, 300)
    window = Window(area, other)
    wm = WindowManager(window)
    release = threading.Event()
    big = np.zeros((512, 512, 4), np.uint8)

    def work(token):
        while not release.wait(0.01):
            token.check()
        return big.copy()

    job = jobs.Job(work, label="Depth Relief")
    redraws = []
    session = job_session.JobSession(job, "mapsmith.depth_relief", "Depth Relief").start(
        wm, window, area, redraw=lambda: redraws.append(1))
    yield types.SimpleNamespace(wm=wm, window=window, area=area, other=other, job=job,
                                session=session, release=release, redraws=redraws)
    release.set()
    job_session.teardown_all()


def _done(ns):
    ns.release.set()
    assert ns.job.wait(timeout=5) == jobs.DONE


def test_session_registers_its_timer_and_its_running_flag(ui):
    assert len(ui.wm.timers) == 1 and ui.wm.timers[0].window is ui.window
    assert job_session.busy("mapsmith.depth_relief")
    assert not job_session.busy("mapsmith.normal_map")
    assert job_session.running() == [ui.session]
    assert ui.session.text == "Depth Relief: working 0%"


def test_own_tick_polls_and_passes_through_until_the_job_ends(ui):
    timer = ui.wm.timers[0]
    assert ui.session.handle(timer.fire()) == job_session.PASS      # still running
    assert ui.redraws                                              # the panel follows
    _done(ui)
    assert ui.session.handle(timer.fire()) == job_session.END
    assert ui.session.state == jobs.DONE


def test_other_timers_are_never_swallowed(ui):
    """Another add-on's (or Blender's) timer events pass through, even once the job has
    ended: only the session's own tick ends the run."""
    _done(ui)
    foreign = Event("TIMER", "NOTHING")           # our timer's duration did not move
    assert ui.session.handle(foreign) == job_session.PASS
    assert ui.session.handle(ui.wm.timers[0].fire()) == job_session.END


def test_other_events_pass_through(ui):
    for event in (Event("MOUSEMOVE", "NOTHING", 10, 10), Event("LEFTMOUSE", "PRESS", 10, 10),
                  Event("ESC", "RELEASE", 10, 10), Event("SPACE", "PRESS", 10, 10)):
        assert ui.session.handle(event) == job_session.PASS
    assert ui.job.poll() == jobs.RUNNING


def test_esc_over_the_starting_area_cancels(ui):
    assert ui.session.handle(Event("ESC", "PRESS", 399, 299)) == job_session.END
    assert ui.session.state == jobs.CANCELLED
    assert ui.job.token.cancelled


def test_esc_elsewhere_is_not_for_the_job(ui):
    """Esc over the timeline stops playback, Esc outside the window closes a render view:
    neither throws the job away."""
    assert ui.session.handle(Event("ESC", "PRESS", 500, 100)) == job_session.PASS
    assert ui.session.handle(Event("ESC", "PRESS", 100, 350)) == job_session.PASS
    assert ui.job.poll() == jobs.RUNNING


def test_esc_after_the_starting_area_closed_is_not_for_the_job(ui):
    ui.window.screen.areas.remove(ui.area)
    assert ui.session.handle(Event("ESC", "PRESS", 10, 10)) == job_session.PASS
    assert ui.job.poll() == jobs.RUNNING


def test_cancel_from_outside_ends_at_the_next_own_tick(ui):
    """The panel's Cancel button: the job stops at once, the operator ends on its tick."""
    ui.session.cancel()
    assert ui.job.poll() == jobs.CANCELLED
    assert ui.session.handle(Event("MOUSEMOVE", "NOTHING")) == job_session.PASS
    assert ui.session.handle(ui.wm.timers[0].fire()) == job_session.END
    assert ui.session.state == jobs.CANCELLED


def _torn_down(ns):
    assert ns.job.token.cancelled and ns.job.poll() == jobs.CANCELLED
    assert ns.wm.timers == []
    assert not job_session.busy("mapsmith.depth_relief") and job_session.running() == []
    assert ns.job.result is None and ns.job._work is None       # its arrays are dropped


def test_file_load_tears_every_session_down(ui):
    """The load_pre handler (a file opened or reverted) calls teardown_all."""
    assert job_session.teardown_all() == 1
    _torn_down(ui)
    assert len(ui.wm.removed) == 1
    # Blender then removes the modal handler and calls the operator's cancel(): again.
    ui.session.teardown()
    assert len(ui.wm.removed) == 1
    assert ui.session.handle(Event("TIMER", "NOTHING")) == job_session.END


def test_unregister_tears_every_session_down(ui):
    """unregister() calls teardown_all before the classes go (Blender calls no cancel())."""
    job_session.teardown_all()
    _torn_down(ui)


def test_window_closed_or_quit(ui):
    """Blender calls the operator's cancel() before it frees the window's timers: the session
    removes its timer; once the window is gone, it leaves the freed timer alone."""
    ui.session.teardown()
    _torn_down(ui)
    assert len(ui.wm.removed) == 1


def test_teardown_after_the_window_went_leaves_its_timers_to_blender(ui):
    ui.wm.windows.clear()
    ui.session.teardown()
    assert ui.wm.removed == []
    assert not job_session.busy("mapsmith.depth_relief")


def test_teardown_after_the_end_drops_the_answer(ui):
    _done(ui)
    assert ui.job.result is not None
    ui.session.teardown()
    assert ui.job.poll() == jobs.DONE            # a finished job stays finished
    assert ui.job.result is None and ui.job._work is None


def test_headless_session_has_no_timer():
    job = jobs.Job(lambda token: 1)
    session = job_session.JobSession(job, "mapsmith.normal_map").start()
    assert job_session.busy("mapsmith.normal_map")
    assert job.wait(timeout=5) == jobs.DONE
    assert session.handle(Event("TIMER", "NOTHING")) == job_session.PASS
    session.teardown()
    assert not job_session.busy("mapsmith.normal_map")


def test_run_cached_runs_here_only_when_every_answer_is_cached():
    from mapsmith.providers import cache

    def missing(token):
        raise cache.CacheMiss("depth")

    job = jobs.Job(missing)
    assert job.run_cached() is False
    assert job.poll() == jobs.RUNNING and not job.started
    here = []
    job = jobs.Job(lambda token: here.append(threading.current_thread()) or 7)
    assert job.run_cached() is True
    assert job.poll() == jobs.DONE and job.result == 7
    assert here == [threading.current_thread()]


# -- Main-thread steps before the work (jobs.Work's prelude: a movie's frames decoded) --------
from mapsmith.core.errors import InputError  # noqa: E402


class Staged:
    """A prelude of ``steps`` steps that records on which thread each ran and whether its
    finally (where it frees what it made in Blender) ran; a work and a cleanup that count."""

    def __init__(self, steps=3, fail_at=None):
        self.steps, self.fail_at = steps, fail_at
        self.step_threads, self.closed, self.work_threads, self.cleanups = [], [], [], []

    def prelude(self):
        try:
            for i in range(self.steps):
                if i == self.fail_at:
                    raise InputError(f"frame {i + 1} cannot be read")
                self.step_threads.append(threading.get_ident())
                yield (i + 1) / self.steps, f"Reading frame {i + 1}/{self.steps}"
        finally:
            self.closed.append(threading.get_ident())

    def work(self):
        def run(token):
            self.work_threads.append(threading.get_ident())
            return len(self.step_threads)
        return jobs.Work(run, self.prelude(), lambda: self.cleanups.append(1))


def test_prelude_steps_on_the_main_thread_then_the_work_on_its_own():
    staged = Staged()
    job = jobs.Job(staged.work()).start()
    assert job.run_cached() is False                   # steps are never the cache's
    assert staged.step_threads == [] and not job._thread.is_alive()
    job.step()
    assert job.text == "Reading frame 1/3" and job.progress == 1 / 3
    assert staged.work_threads == []                   # not before the prelude is over
    job.step()
    job.step()
    job.step()                                         # the end of the prelude: the thread
    assert job.wait(timeout=5) == jobs.DONE and job.result == 3
    me = threading.get_ident()
    assert staged.step_threads == [me] * 3 and staged.closed == [me]
    assert staged.work_threads != [me] and staged.cleanups == [1]
    job.release()
    assert staged.cleanups == [1]                      # once


def test_the_cleanup_is_over_when_the_end_is_seen():
    """The main thread that sees DONE finds the temporary files gone already."""
    seen = []

    def cleanup():
        time.sleep(0.05)                               # a slow removal
        seen.append("cleaned")

    job = jobs.Job(jobs.Work(lambda token: 1, cleanup=cleanup)).start()
    assert job.wait(timeout=5) == jobs.DONE
    assert seen == ["cleaned"]


def test_a_step_budget_runs_several_steps_a_tick():
    staged = Staged(steps=5)
    job = jobs.Job(staged.work()).start()
    job.step(budget=60.0)                              # all of them, then the thread
    assert job.wait(timeout=5) == jobs.DONE and len(staged.step_threads) == 5


def test_wait_runs_the_prelude_headless():
    staged = Staged()
    job = jobs.Job(staged.work()).start()
    assert job.wait(timeout=5) == jobs.DONE and job.result == 3
    assert staged.cleanups == [1]


def test_cancel_during_the_prelude_closes_it_and_cleans_up_once():
    staged = Staged()
    job = jobs.Job(staged.work()).start()
    job.step()
    job.cancel()                                       # e.g. from the panel's button
    assert job.poll() == jobs.CANCELLED
    job.step()                                         # the next tick
    assert staged.closed == [threading.get_ident()] and staged.cleanups == [1]
    assert staged.work_threads == [] and len(staged.step_threads) == 1
    job.release()
    assert staged.cleanups == [1]


def test_release_during_the_prelude_closes_it_and_cleans_up():
    """Teardown (Esc, a file opened, unregister) in the middle of the steps."""
    staged = Staged()
    job = jobs.Job(staged.work()).start()
    job.step()
    job.cancel()
    job.release()
    assert staged.closed and staged.cleanups == [1] and staged.work_threads == []


def test_a_failing_step_is_the_message_and_nothing_runs_after_it():
    staged = Staged(fail_at=1)
    job = jobs.Job(staged.work()).start()
    assert job.wait(timeout=5) == jobs.FAILED
    assert job.error == "frame 2 cannot be read"
    assert staged.closed and staged.cleanups == [1] and staged.work_threads == []


@pytest.fixture
def one_step_a_tick(monkeypatch):
    monkeypatch.setattr(job_session, "STEP_BUDGET_S", 0.0)


def test_own_tick_runs_the_jobs_main_thread_steps(ui, one_step_a_tick):
    staged = Staged(steps=2)
    job = jobs.Job(staged.work())
    session = job_session.JobSession(job, "mapsmith.batch_maps", "Batch Maps").start(
        ui.wm, ui.window, ui.area)
    timer = ui.wm.timers[-1]
    assert session.handle(Event("MOUSEMOVE", "NOTHING")) == job_session.PASS
    assert staged.step_threads == []                   # only the session's own tick steps
    assert session.handle(timer.fire()) == job_session.PASS
    assert session.text == "Batch Maps: Reading frame 1/2 50%"
    session.handle(timer.fire())
    session.handle(timer.fire())                       # the thread starts
    assert job.wait(timeout=5) == jobs.DONE
    assert session.handle(timer.fire()) == job_session.END
    session.teardown()


def test_esc_during_the_steps_ends_the_run_and_teardown_closes_them(ui, one_step_a_tick):
    staged = Staged()
    job = jobs.Job(staged.work())
    session = job_session.JobSession(job, "mapsmith.batch_maps", "Batch Maps").start(
        ui.wm, ui.window, ui.area)
    session.handle(ui.wm.timers[-1].fire())
    assert session.handle(Event("ESC", "PRESS", 10, 10)) == job_session.END
    session.teardown()                                 # what the operator's end does
    assert staged.closed and staged.cleanups == [1] and staged.work_threads == []
