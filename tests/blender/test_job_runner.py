"""The job runner inside real Blender: a 2 s loopback request leaves the main thread free."""

import importlib
import os
import pathlib
import time

import requests
from blhelpers import PKG

import bpy


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
    # The main thread kept doing Blender work all along (timings: make bench).
    assert blender_steps > 20 and polls == blender_steps + 1
    print(f"\n2 s request: {polls} polls, {poll_time * 1000:.2f} ms in poll, "
          f"longest {longest * 1000:.3f} ms, {blender_steps} Blender steps")


def test_cancel_returns_at_once_and_drops_the_result(blank, counting_server):
    jobs = _jobs()
    job = jobs.Job(lambda token: requests.get(counting_server.url + "/slow?s=2", timeout=10).text)
    job.start()
    time.sleep(0.2)
    job.cancel()
    assert job.poll() == jobs.CANCELLED          # at once: the request is not waited for
    job.join(5)
    assert job.poll() == jobs.CANCELLED and job.result is None


# -- Runs in flight: the operators' job sessions in real Blender --------------------------------
# Headless Blender has no event loop, so a second click while a job runs is made the way the
# UI would make it: on the main thread, while the first run waits for its (slow, loopback)
# answer. A SIGALRM handler runs Python on the main thread between two polls of the first
# run's wait loop.
import signal  # noqa: E402
import threading  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from blhelpers import load_astronaut, prefs  # noqa: E402

from mapsmith.tests.servers.fake_services import CLIPDROP_KEY, RAPIDAPI_KEY  # noqa: E402

DEPTH = "/portrait-depth-estimation/v1"
NORMALS = "/portrait-surface-normals/v1"


def _mod(name):
    return importlib.import_module(f"{PKG}.{name}")


@pytest.fixture
def fake(clipdrop):
    """The loopback fake services (conftest's ``clipdrop``: a fresh port, nothing cached from
    other tests)."""
    return clipdrop


def _posts(srv, path=None):
    return [r for r in srv.requests if r.method == "POST" and (path is None or r.path == path)]


def _run_while(seconds, action, run):
    """``run()``, and ``action()`` on the main thread ``seconds`` later while run waits:
    (run's result, [action's outcome: "ok" or its error])."""
    outcome = []

    def fire(_signum, _frame):
        try:
            action()
            outcome.append("ok")
        except Exception as err:  # noqa: BLE001  (recorded for the test to check)
            outcome.append(f"{type(err).__name__}: {err}")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        result = run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return result, outcome


def _session_module():
    return _mod("blender.job_session")


def test_already_running_guard_refuses_a_second_run_in_flight(fake):
    """Issue 11 #4: poll and the running flag compared different id forms, so the same
    operator could start twice. The second click comes while the first run is in flight."""
    photo = load_astronaut(size=64)
    fake.fault("delay", seconds=1.5, route=DEPTH)

    def second():
        bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP", resolution=16)

    result, outcome = _run_while(0.4, second, lambda: bpy.ops.mapsmith.depth_relief(
        image=photo.name, provider="CLIPDROP", resolution=16))
    assert result == {"FINISHED"}
    assert len(outcome) == 1 and "Already running" in outcome[0], outcome
    assert len(_posts(fake, DEPTH)) == 1
    assert [o.name for o in bpy.data.objects] == ["astronaut relief"]
    assert not _session_module().busy("mapsmith.depth_relief")


def test_cancel_button_stops_a_run_in_flight(fake):
    photo = load_astronaut(size=64)
    fake.fault("delay", seconds=30, route=DEPTH)
    t0 = time.perf_counter()
    result, outcome = _run_while(0.4, bpy.ops.mapsmith.cancel_job,
                                 lambda: bpy.ops.mapsmith.depth_relief(
                                     image=photo.name, provider="CLIPDROP", resolution=16))
    assert outcome == ["ok"] and result == {"CANCELLED"}
    assert time.perf_counter() - t0 < 20             # the 30 s answer was not waited for
    assert len(bpy.data.objects) == 0
    assert _session_module().running() == []


def test_source_image_removed_in_flight_makes_nothing(fake, capfd):
    """Issue 19 #3: the image deleted (or undone away) while its job runs."""
    photo = load_astronaut(size=64)
    fake.fault("delay", seconds=1.0, route=DEPTH)
    before = {name: set(getattr(bpy.data, name).keys()) for name in
              ("objects", "meshes", "materials", "images", "textures")}
    before["images"].discard(photo.name)
    with pytest.raises(RuntimeError) as caught:
        _run_while(0.3, lambda: bpy.data.images.remove(photo),
                   lambda: bpy.ops.mapsmith.depth_relief(
                       image="astronaut.png", provider="CLIPDROP", resolution=16))
    assert 'The image "astronaut.png" was removed while Depth Relief ran: nothing was made' \
        in str(caught.value)
    assert "Traceback" not in capfd.readouterr().err
    after = {name: set(getattr(bpy.data, name).keys()) for name in before}
    assert after == before


def _plane(name):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)], [], [(0, 1, 2, 3)])
    mesh.uv_layers.new(name="UVMap")
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    material = bpy.data.materials.new(f"{name} material")
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True
    mesh.materials.append(material)
    return obj


def test_normal_map_goes_to_the_object_active_at_the_start(fake):
    """Issue 19 #3: another object selected while the job runs does not get the map."""
    photo = load_astronaut(size=64)
    first, other = _plane("First"), _plane("Other")
    bpy.context.view_layer.objects.active = first
    fake.fault("delay", seconds=1.0, route=NORMALS)

    def select_other():
        bpy.context.view_layer.objects.active = other

    result, outcome = _run_while(0.3, select_other, lambda: bpy.ops.mapsmith.normal_map(
        image=photo.name, provider="CLIPDROP"))
    assert result == {"FINISHED"} and outcome == ["ok"]
    names = lambda obj: {n.name for n in obj.active_material.node_tree.nodes}  # noqa: E731
    assert "Mapsmith Normals" in names(first)
    assert "Mapsmith Normals" not in names(other)


def test_normal_map_target_removed_in_flight_makes_nothing(fake):
    photo = load_astronaut(size=64)
    first = _plane("First")
    bpy.context.view_layer.objects.active = first
    fake.fault("delay", seconds=1.0, route=NORMALS)
    with pytest.raises(RuntimeError) as caught:
        _run_while(0.3, lambda: bpy.data.objects.remove(first), lambda: bpy.ops.mapsmith.normal_map(
            image=photo.name, provider="CLIPDROP"))
    assert 'The object "First" was removed while Normal Map ran: nothing was made' \
        in str(caught.value)
    assert "astronaut normals" not in bpy.data.images
    assert len(bpy.data.objects) == 0


@pytest.mark.parametrize("mode", ["EDIT", "SCULPT"])
def test_result_arriving_in_edit_or_sculpt_mode_keeps_the_active_object(blank, mode, capfd):
    """Issue 19 #7: a new object must not become active while another is in Edit or Sculpt
    mode (a mixed-mode scene)."""
    photo = load_astronaut(size=64)
    cube = _plane("Cube")
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    bpy.ops.object.mode_set(mode=mode)
    assert bpy.ops.mapsmith.remove_background(image=photo.name, mode="CUTOUT") == {"FINISHED"}
    cutout = bpy.data.objects["astronaut cutout"]
    assert bpy.context.view_layer.objects.active == cube and cube.mode == mode
    assert cutout.mode == "OBJECT" and not cutout.select_get() and cube.select_get()
    assert f'not made active: "Cube" is in {mode.title()} Mode' in capfd.readouterr().out
    bpy.ops.object.mode_set(mode="OBJECT")


def test_object_mode_result_becomes_active_as_before(blank):
    photo = load_astronaut(size=64)
    cube = _plane("Cube")
    bpy.context.view_layer.objects.active = cube
    assert bpy.ops.mapsmith.remove_background(image=photo.name, mode="CUTOUT") == {"FINISHED"}
    assert bpy.context.view_layer.objects.active.name == "astronaut cutout"


def _slow_session(counting_server, wm=None, window=None, area=None):
    """A real job session (a request to the slow loopback endpoint) started the way the
    operator starts one: with the real window manager, window and timer when given."""
    sessions, jobs = _session_module(), _jobs()
    job = jobs.Job(lambda token: requests.get(counting_server.url + "/slow?s=3", timeout=10).text,
                   label="Depth Relief")
    return sessions.JobSession(job, "mapsmith.depth_relief", "Depth Relief").start(
        wm, window, area)


def test_opening_a_file_tears_running_jobs_down(blank, counting_server):
    """Issue 19 #1: the persistent load_pre handler ends every job (the worker's request is
    abandoned, its timer removed, the running flag freed)."""
    wm = bpy.context.window_manager
    session = _slow_session(counting_server, wm, bpy.context.window)
    load_astronaut(size=32)
    with pytest.raises(RuntimeError, match="Already running"):
        bpy.ops.mapsmith.depth_relief(image="astronaut.png")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert session.torn_down and session.job.token.cancelled
    assert session.job.poll() == _jobs().CANCELLED and session._timer is None
    assert _session_module().running() == []
    from blhelpers import enable
    enable()
    load_astronaut(size=32)
    assert bpy.ops.mapsmith.depth_relief.poll()


class _Layout:
    """Records what a draw function asks of a UILayout (panels do not draw headless)."""

    def __init__(self, calls):
        self.calls = calls

    def row(self, **kw):
        return self

    def progress(self, **kw):
        self.calls.append(("progress", kw))

    def operator(self, idname, **kw):
        props = type("Props", (), {})()
        self.calls.append(("operator", idname, kw, props))
        return props


def test_panel_draws_each_running_job_with_progress_and_cancel(blank, counting_server):
    """Issue 14 #2: the running job in the Mapsmith panel, drawn from the live sessions."""
    panels = _mod("panels")
    rna = bpy.types.UILayout.bl_rna.functions["progress"].parameters
    assert {"factor", "type", "text"} <= set(rna.keys())     # Blender 4.0+, so 4.2 has it
    session = _slow_session(counting_server, bpy.context.window_manager, bpy.context.window)
    calls = []
    panels.draw_running_jobs(_Layout(calls))
    (_, progress), (_, idname, kw, props) = calls
    assert progress == {"factor": 0.0, "type": "BAR", "text": "Depth Relief: working 0%"}
    assert idname == "mapsmith.cancel_job" and kw["text"] == "Cancel"
    assert props.job == "mapsmith.depth_relief"
    _mod("operators.job_operator")._redraw_panels(bpy.context.window_manager)()
    assert bpy.ops.mapsmith.cancel_job(job="mapsmith.depth_relief") == {"FINISHED"}
    assert session.job.poll() == _jobs().CANCELLED
    session.teardown()
    calls.clear()
    panels.draw_running_jobs(_Layout(calls))
    assert calls == []                                          # nothing left behind
    with pytest.raises(RuntimeError, match="No Mapsmith job is running"):
        bpy.ops.mapsmith.cancel_job()


def test_operator_glue_with_a_real_window_area_and_timer(blank, counting_server):
    """The modal operator's own methods (modal, cancel) on a real operator instance, with a
    real window, area and timer; events are stand-ins (bpy cannot make an Event, and headless
    Blender sends none). Esc elsewhere passes through; Esc over the area ends the run;
    Blender's cancel() (window closed, file read, quit) tears the session down."""
    from types import SimpleNamespace
    photo = load_astronaut(size=32)
    assert bpy.ops.mapsmith.depth_relief("EXEC_DEFAULT", True, image=photo.name,
                                         resolution=8) == {"FINISHED"}
    wm, window = bpy.context.window_manager, bpy.context.window
    op = wm.operators[-1]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    event = lambda kind, value, x, y: SimpleNamespace(  # noqa: E731
        type=kind, value=value, mouse_x=x, mouse_y=y)
    sessions = _session_module()

    session = _slow_session(counting_server, wm, window, area)
    op._session, op._job = session, session.job
    assert op.modal(bpy.context, event("TIMER", "NOTHING", 0, 0)) == {"PASS_THROUGH"}
    assert op.modal(bpy.context, event("ESC", "PRESS", area.x - 1, area.y)) == {"PASS_THROUGH"}
    assert session.job.poll() == _jobs().RUNNING and sessions.busy("mapsmith.depth_relief")
    assert op.modal(bpy.context, event("ESC", "PRESS", area.x + 1, area.y + 1)) == {"CANCELLED"}
    assert session.torn_down and session.job.token.cancelled
    assert not sessions.busy("mapsmith.depth_relief")
    assert not [n for n in vars(op) if n.startswith("_")]

    session = _slow_session(counting_server, wm, window, area)
    op._session, op._job = session, session.job
    op.cancel(bpy.context)
    assert session.torn_down and session.job.token.cancelled and session._timer is None
    assert not sessions.busy("mapsmith.depth_relief")


def test_disabling_the_extension_tears_running_jobs_down(blank, counting_server):
    from blhelpers import disable, enable
    sessions = _session_module()
    session = _slow_session(counting_server, bpy.context.window_manager, bpy.context.window)
    disable()
    try:
        assert session.torn_down and session.job.token.cancelled
        assert sessions.running() == []
    finally:
        enable()


def test_a_run_keeps_no_large_arrays(fake):
    """Issue 19 #2: Blender keeps finished operators (Adjust Last Operation); they must not
    keep the source pixels or the answers. The answer cache keeps one copy of the answer."""
    photo = load_astronaut(size=128)
    assert bpy.ops.mapsmith.depth_relief("EXEC_DEFAULT", True, image=photo.name,
                                         provider="CLIPDROP", resolution=16) == {"FINISHED"}
    op = bpy.context.window_manager.operators[-1]
    assert op.bl_idname == "MAPSMITH_OT_depth_relief"
    assert not [n for n in vars(op) if n.startswith("_")], vars(op)
    assert _session_module().running() == []


# -- The answer cache: tweak without a new request ----------------------------------------------
def test_redo_with_another_strength_sends_no_request(fake, capfd):
    """Issue 14 #1 on the loopback fake ClipDrop: a redo that only changes how the answer is
    built sends nothing and says so; a changed source pixel sends a new request."""
    photo = load_astronaut(size=64)
    bpy.ops.ed.undo_push(message="start")
    run = lambda **kw: bpy.ops.mapsmith.depth_relief(  # noqa: E731
        "EXEC_DEFAULT", True, image=photo.name, provider="CLIPDROP", resolution=24, **kw)
    assert run(strength=0.1) == {"FINISHED"}
    assert len(_posts(fake, DEPTH)) == 1
    out = capfd.readouterr().out
    assert "credits left" in out and "cached answer" not in out
    z_first = _heights("astronaut relief")

    bpy.ops.ed.undo()                                # what Adjust Last Operation does
    assert "astronaut relief" not in bpy.data.objects
    photo = bpy.data.images["astronaut.png"]
    assert run(strength=0.3) == {"FINISHED"}
    assert len(_posts(fake, DEPTH)) == 1             # no request, no credit
    out = capfd.readouterr().out
    assert "(cached answer)" in out and "credits" not in out
    assert np.allclose(_heights("astronaut relief"), z_first * 3, atol=1e-5)

    px = np.empty(len(photo.pixels), np.float32)
    photo.pixels.foreach_get(px)
    px[0] = 1.0 - px[0]                              # one changed source pixel
    photo.pixels.foreach_set(px)
    photo.update()
    assert run(strength=0.3) == {"FINISHED"}
    assert len(_posts(fake, DEPTH)) == 2
    assert "cached answer" not in capfd.readouterr().out


def _heights(name):
    obj = bpy.data.objects[name]
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)[:, 2] - co.reshape(-1, 3)[:, 2].min()


def test_a_cached_run_starts_no_worker(fake):
    photo = load_astronaut(size=64)
    assert bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL",
                                              mode="MASK") == {"FINISHED"}
    before = {t.name for t in threading.enumerate()}
    seen = []
    original = threading.Thread.start

    def spy(self):
        seen.append(self.name)
        return original(self)

    threading.Thread.start = spy
    try:
        assert bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL",
                                                  mode="MASK") == {"FINISHED"}
    finally:
        threading.Thread.start = original
    assert not [n for n in seen if n.startswith("mapsmith-")]
    assert {t.name for t in threading.enumerate()} <= before | set(seen)
    assert len(_posts(fake)) == 1


def test_disk_cache_is_off_by_default_then_survives_a_cleared_memory(fake, tmp_path):
    cache = _mod("providers.cache")
    photo = load_astronaut(size=64)
    assert prefs().use_disk_cache is False
    assert bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP") == {"FINISHED"}
    folder = _mod("operators.job_operator").cache_folder()
    assert not list(pathlib.Path(folder).glob("*.npz")) if os.path.isdir(folder) else True
    prefs().use_disk_cache = True
    try:
        cache.ANSWERS.clear(folder)
        assert bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP") == {"FINISHED"}
        assert len(_posts(fake, NORMALS)) == 2
        files = list(pathlib.Path(folder).glob("*.npz"))
        assert len(files) == 1
        assert str(pathlib.Path(bpy.utils.extension_path_user(PKG))) in str(files[0])
        for key in (CLIPDROP_KEY, RAPIDAPI_KEY):
            assert key.encode() not in files[0].read_bytes()
        cache.ANSWERS._memory.clear()                 # a restart: memory is gone
        cache.ANSWERS._bytes = 0
        assert bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP") == {"FINISHED"}
        assert len(_posts(fake, NORMALS)) == 2
        assert bpy.ops.mapsmith.clear_cache() == {"FINISHED"}
        assert not list(pathlib.Path(folder).glob("*.npz")) and len(cache.ANSWERS) == 0
        assert bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP") == {"FINISHED"}
        assert len(_posts(fake, NORMALS)) == 3
    finally:
        prefs().use_disk_cache = False
        cache.ANSWERS.clear(folder)


# Each operator declares which options change the request; every other option must be built
# from the cached answer. Checked for every declared option (offline provider): a build option
# changed asks the same questions and all from the cache; a request option changed asks
# something else.
def _defaults(idname):
    module, name = idname.split(".")
    rna = getattr(getattr(bpy.ops, module), name).get_rna_type()
    return {p.identifier: (p.default if p.type != "ENUM" else p.default)
            for p in rna.properties if p.identifier not in {"rna_type", "image", "provider"}
            and not p.identifier.endswith("_provider")}, rna


# Enum values that need a window (a 3D View) headless tests do not have.
NEEDS_A_WINDOW = {"VIEW"}


def _changed(prop, value):
    if prop.type == "BOOLEAN":
        return not value
    if prop.type == "ENUM":
        return next(k for k in prop.enum_items.keys() if k != value and k not in NEEDS_A_WINDOW)
    if prop.type == "INT":
        return value + 1 if value + 1 <= prop.hard_max else value - 1
    return value * 1.5 if value else 0.1


JOB_OPERATORS = ["mapsmith.depth_relief", "mapsmith.normal_map", "mapsmith.remove_background",
                 "mapsmith.material_setup"]


@pytest.mark.parametrize("idname", JOB_OPERATORS)
def test_declared_options_say_what_asks_again(blank, idname):
    cache = _mod("providers.cache")
    module, name = idname.split(".")
    cls = getattr(bpy.types, f"{module.upper()}_OT_{name}")
    photo = load_astronaut(size=48)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    camera.location = (0.0, -10.0, 0.0)
    camera.rotation_euler = (1.5708, 0.0, 0.0)       # looking along +Y at the origin
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera                # Align / Size: Camera need one
    op = getattr(getattr(bpy.ops, module), name)
    defaults, rna = _defaults(idname)
    if "resolution" in defaults:
        defaults["resolution"] = 16

    def asked(**change):
        cache.ANSWERS.asked.clear()
        misses = cache.ANSWERS.misses
        assert op(image=photo.name, **{**defaults, **change}) == {"FINISHED"}, change
        return set(cache.ANSWERS.asked), cache.ANSWERS.misses - misses

    base, _ = asked()
    assert base
    checked = 0
    for option in defaults:
        value = _changed(rna.properties[option], defaults[option])
        keys, misses = asked(**{option: value})
        if option in cls.request_options:
            assert keys != base, f"{idname}.{option} is declared a request option"
        else:
            assert (keys, misses) == (base, 0), f"{idname}.{option} asked the provider again"
        checked += 1
    assert checked == len(defaults) >= 3


def test_cleanup_redo_with_keep_mask_sends_no_request(online, tmp_path, capfd):
    """Apply Cleanup redone with Keep Mask (a build option) uses the answer; Grow Mask (a
    request option: another region is sent) asks the service again."""
    from test_cleanup import (
        cleanup_requests,
        disc,
        fake_services,
        file_texture,
        mask_of,
        paint,
        stored,
        textured_plane,
        use_service,
    )
    with fake_services.FakeServices() as server:
        use_service("ERASE", server)
        tex = file_texture(tmp_path)
        name = tex.name
        textured_plane(tex)
        bpy.ops.mapsmith.cleanup_paint_mask()
        bpy.ops.ed.undo_push(message="Paint Cleanup Mask")
        where = disc((256, 256), 100, 120, 6)
        paint(mask_of(tex), where)
        bpy.ops.ed.undo_push(message="stroke")
        original = stored(tex)

        def undo():
            # Undo restores the texture; the mask (a generated image) comes back empty from
            # Blender's undo, so the same strokes are painted again.
            bpy.ops.ed.undo()
            assert np.array_equal(stored(bpy.data.images[name]), original)
            paint(mask_of(bpy.data.images[name]), where)

        apply = lambda **kw: bpy.ops.mapsmith.cleanup_apply(  # noqa: E731
            "EXEC_DEFAULT", True, provider="ERASE", **kw)
        assert apply(keep_mask=True) == {"FINISHED"}
        assert len(cleanup_requests(server)) == 1
        undo()                                         # Adjust Last Operation: Grow Mask 8
        assert apply(keep_mask=True, grow=8) == {"FINISHED"}
        assert len(cleanup_requests(server)) == 2      # another region: asked again
        cleaned = stored(bpy.data.images[name])
        capfd.readouterr()
        undo()                                         # ... then Keep Mask off
        assert apply(keep_mask=False, grow=8) == {"FINISHED"}
        assert len(cleanup_requests(server)) == 2
        assert "(cached answer)" in capfd.readouterr().out
        assert np.array_equal(stored(bpy.data.images[name]), cleaned)
        assert not (stored(mask_of(bpy.data.images[name]))[..., 0] > 0).any()
    prefs().erase_url = ""


def test_another_provider_asks_again(fake, capfd):
    cache = _mod("providers.cache")
    bpy.ops.mapsmith.clear_cache()                   # no offline answer from another test
    photo = load_astronaut(size=64)
    run = lambda provider: bpy.ops.mapsmith.depth_relief(  # noqa: E731
        image=photo.name, provider=provider, resolution=16)
    assert run("CLIPDROP") == {"FINISHED"}
    misses = cache.ANSWERS.misses
    capfd.readouterr()
    assert run("OFFLINE") == {"FINISHED"}
    assert cache.ANSWERS.misses == misses + 1
    assert "cached answer" not in capfd.readouterr().out
    assert run("CLIPDROP") == {"FINISHED"}
    assert "(cached answer)" in capfd.readouterr().out
    assert len(_posts(fake, DEPTH)) == 1
