"""The job runner without Blender: threads, progress, cancel, errors."""

import threading

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
