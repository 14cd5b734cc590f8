"""The job runner inside real Blender: a 2 s loopback request leaves the main thread free."""

import importlib
import time

import bpy
import requests

from blhelpers import PKG


def _jobs():
    return importlib.import_module(PKG + ".blender.jobs")


def test_slow_request_keeps_main_thread_free(blank, counting_server):
    jobs = _jobs()
    job = jobs.Job(lambda token: requests.get(counting_server.url + "/slow?s=2", timeout=10).text)
    t0 = time.perf_counter()
    job.start()
    polls, poll_time, longest, blender_steps = 0, 0.0, 0.0, 0
    while True:
        p0 = time.perf_counter()
        state = job.poll()
        dt = time.perf_counter() - p0
        poll_time += dt
        longest = max(longest, dt)
        polls += 1
        if state != jobs.RUNNING:
            break
        # The main thread keeps doing Blender work meanwhile.
        mesh = bpy.data.meshes.new("busy")
        bpy.data.meshes.remove(mesh)
        blender_steps += 1
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    assert state == jobs.DONE and job.result == "ok"
    assert elapsed >= 1.9
    assert blender_steps > 100                 # the main thread was never blocked
    assert poll_time < 0.05 * elapsed          # polling costs under 5 % of the wait
    assert longest < 0.02                      # and never stalls
    print(f"\n2 s request: {polls} polls, {poll_time * 1000:.2f} ms in poll, "
          f"longest {longest * 1000:.3f} ms, {blender_steps} Blender steps")


def test_cancel_returns_at_once_and_drops_the_result(blank, counting_server):
    jobs = _jobs()
    job = jobs.Job(lambda token: requests.get(counting_server.url + "/slow?s=2", timeout=10).text)
    job.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    job.cancel()
    assert job.poll() == jobs.CANCELLED
    assert time.perf_counter() - t0 < 0.01
    job.join(5)
    assert job.poll() == jobs.CANCELLED and job.result is None
