"""mapsmith.batch_maps in real Blender, from the built zip: a folder of real images and a
generated image sequence (a movie: test_batch_movie.py), offline and through the loopback
fake services (pacing, a failure mid-batch, credits), resume / skip / overwrite, the JSON and
CSV report, bad input, and the outputs read back by outside readers (OpenCV for PNG and EXR,
trimesh for STL)."""

import csv
import importlib
import json
import os
import threading
import time

os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"   # before cv2 is imported

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import trimesh  # noqa: E402
from blhelpers import PKG, prefs  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402
from test_remote_providers import srv  # noqa: E402,F401  (the fixture)

import bpy  # noqa: E402

SIZE = 96
NORMALS = "/portrait-surface-normals/v1"


def mod(name):
    return importlib.import_module(f"{PKG}.{name}")


def _save(path, rgb, size=SIZE):
    Image.fromarray(rgb).resize((size, size), Image.LANCZOS).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, rgb in (("astronaut", data.astronaut()), ("coffee", data.coffee()),
                      ("brick", np.dstack([data.brick()] * 3))):
        _save(folder / f"{name}.png", rgb)
    return folder


def report_of(out):
    saved = json.loads((out / "batch_report.json").read_text())
    return {item["input"]: item for item in saved["items"]}, saved


def statuses(out):
    return {name: item["status"] for name, item in report_of(out)[0].items()}


def batch(**kw):
    return bpy.ops.mapsmith.batch_maps(**kw)


# -- a folder, offline ------------------------------------------------------------------------
def test_a_folder_offline_every_map_read_back_outside(blank, photos, tmp_path):
    out = tmp_path / "maps"                                   # made by the batch
    relief = bpy.context.window_manager.operator_properties_last("mapsmith.depth_relief")
    relief.solid, relief.resolution, relief.background = True, 48, "BASE"
    assert batch(source="FOLDER", folder=str(photos), pattern="*.png", output=str(out),
                 maps={"NORMAL", "DEPTH", "MASK", "CUTOUT", "HEIGHT", "RELIEF",
                       "LITHOPHANE"}) == {"FINISHED"}
    items, saved = report_of(out)
    assert set(items) == {"astronaut.png", "coffee.png", "brick.png"}
    assert all(item["status"] == "done" for item in items.values()), saved
    assert items["coffee.png"]["providers"]["depth"] == "Offline (built in)"
    assert len(items["coffee.png"]["made"]) == 7

    normal = cv2.imread(str(out / "astronaut_normal.png"), cv2.IMREAD_UNCHANGED)
    assert normal.dtype == np.uint16 and normal.shape == (SIZE, SIZE, 3)
    depth = cv2.imread(str(out / "astronaut_depth.exr"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.float32 and depth.shape == (SIZE, SIZE)
    assert 0.0 <= depth.min() and depth.max() <= 1.0 and depth.max() > 0.2
    mask = cv2.imread(str(out / "astronaut_mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint16 and 0 < (mask > 32768).mean() < 1
    cutout = cv2.imread(str(out / "astronaut_cutout.png"), cv2.IMREAD_UNCHANGED)
    assert cutout.shape == (SIZE, SIZE, 4) and np.array_equal(cutout[..., 3], mask)
    height = cv2.imread(str(out / "brick_height.png"), cv2.IMREAD_UNCHANGED)
    assert height.dtype == np.uint16 and height.std() > 1000

    plaque = trimesh.load(out / "coffee_relief.stl")
    assert plaque.is_watertight
    assert abs(max(plaque.extents[:2]) - 200.0) < 1.0          # the 0.2 m default, in mm
    litho = trimesh.load(out / "coffee_lithophane.stl")
    assert litho.is_watertight and abs(max(litho.extents) - 100.0) < 1.0
    assert litho.bounds[0][2] > -1e-3 and litho.extents[2] <= 3.0 + 1e-3   # flat on its back

    rows = list(csv.DictReader((out / "batch_report.csv").open()))
    assert {r["input"]: r["status"] for r in rows} == statuses(out)
    assert not [p for p in os.listdir(out) if p.endswith(".part")]


def test_resume_skips_up_to_date_maps_and_overwrite_redoes_them(blank, photos, tmp_path):
    out = tmp_path / "maps"
    run = dict(source="FOLDER", folder=str(photos), output=str(out), maps={"NORMAL", "MASK"})
    batch(**run)
    first = (out / "coffee_mask.png").stat().st_mtime_ns
    batch(**run)
    assert set(statuses(out).values()) == {"skipped"}
    assert (out / "coffee_mask.png").stat().st_mtime_ns == first
    later = first / 1e9 + 5                         # coffee edited after its maps were made
    os.utime(photos / "coffee.png", (later, later))
    batch(**run)
    assert statuses(out) == {"astronaut.png": "skipped", "brick.png": "skipped",
                             "coffee.png": "done"}
    batch(overwrite=True, **run)
    assert set(statuses(out).values()) == {"done"}


def test_bad_input(blank, photos, tmp_path):
    (photos / "broken.png").write_bytes(b"\x89PNG, but no")
    out = tmp_path / "maps"
    out.mkdir()
    (out / "broken_mask.png").write_bytes(b"older")
    os.utime(out / "broken_mask.png", (1e9, 1e9))           # older than its input: redone
    batch(source="FOLDER", folder=str(photos), output=str(out), maps={"MASK"})
    items, _saved = report_of(out)
    assert items["broken.png"]["status"] == "failed"
    assert 'Cannot read "broken.png"' in items["broken.png"]["message"]
    assert [i["status"] for n, i in items.items() if n != "broken.png"] == ["done"] * 3
    assert (out / "broken_mask.png").read_bytes() == b"older"      # nothing spoilt

    with pytest.raises(RuntimeError, match="does not exist"):
        batch(source="FOLDER", folder=str(tmp_path / "nowhere"), output=str(out))
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    with pytest.raises(RuntimeError, match="Cannot write to the output folder"):
        batch(source="FOLDER", folder=str(photos), output=str(blocker / "maps"))
    with pytest.raises(RuntimeError, match="No files given"):
        batch(source="FILES", output=str(out))


def test_files_and_selected_image_texture_nodes(blank, photos, tmp_path):
    out = tmp_path / "maps"
    batch(source="FILES", directory=str(photos), files=[{"name": "coffee.png"}],
          output=str(out), maps={"NORMAL"})
    assert statuses(out) == {"coffee.png": "done"}

    # The file browser's button: the chosen files, with Batch Maps' current options.
    last = bpy.context.window_manager.operator_properties_last("mapsmith.batch_maps")
    last.output, last.maps = str(tmp_path / "chosen"), {"MASK"}
    assert bpy.ops.mapsmith.batch_choose_files(
        directory=str(photos), files=[{"name": "brick.png"}, {"name": "astronaut.png"}]) \
        == {"FINISHED"}
    assert statuses(tmp_path / "chosen") == {"brick.png": "done", "astronaut.png": "done"}
    assert (tmp_path / "chosen" / "brick_mask.png").is_file()

    loaded = bpy.data.images.load(str(photos / "astronaut.png"))
    painted = bpy.data.images.new("painted", 32, 32)           # only Blender can read it
    painted.pixels.foreach_set(np.random.default_rng(1).random(32 * 32 * 4, np.float32))
    painted.pack()
    bpy.ops.mesh.primitive_plane_add()
    material = bpy.data.materials.new("m")
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True
    bpy.context.active_object.data.materials.append(material)
    for node in material.node_tree.nodes:
        node.select = False
    for image in (loaded, painted):
        node = material.node_tree.nodes.new("ShaderNodeTexImage")
        node.image, node.select = image, True
    out2 = tmp_path / "nodes"
    batch(source="NODES", output=str(out2), maps={"NORMAL"}, subject="TEXTURE")
    assert statuses(out2) == {"astronaut.png": "done", "painted": "done"}
    assert cv2.imread(str(out2 / "painted_normal.png"), cv2.IMREAD_UNCHANGED).shape == (32, 32, 3)


# -- sequences --------------------------------------------------------------------------------
def _sequence(folder, frames=4, skip=()):
    folder.mkdir()
    photo = data.astronaut()
    for f in range(1, frames + 1):
        if f not in skip:
            _save(folder / f"shot_{f:04d}.png", np.roll(photo, 24 * f, axis=1))
    image = bpy.data.images.load(str(folder / "shot_0001.png"))
    image.source = "SEQUENCE"
    return image


def test_a_sequence_comes_back_as_animated_maps(blank, tmp_path):
    seq = _sequence(tmp_path / "shot")
    out = tmp_path / "maps"
    assert batch(source="SEQUENCE", sequence=seq.name, output=str(out),
                 maps={"NORMAL", "MASK", "DEPTH"}) == {"FINISHED"}
    assert list(statuses(out).values()) == ["done"] * 4
    obj = bpy.context.active_object
    assert obj.name == "shot_0001" and tuple(obj.dimensions[:2]) == pytest.approx((1.0, 1.0))
    tree = obj.active_material.node_tree
    for name in ("Mapsmith Normals", "Mapsmith Mask", "Mapsmith Depth"):
        node = tree.nodes[name]
        assert node.image.source == "SEQUENCE" and node.image.colorspace_settings.is_data
        user = node.image_user
        assert user.frame_duration == 4 and user.use_auto_refresh and user.frame_offset == 0
        assert user.frame_start == bpy.context.scene.frame_start
        # Each frame the image user computes reads that frame's map (Blender finds the
        # number in "shot_0003_normal.png"); headless, nothing advances frame_current.
        for frame in (1, 3, 4):
            user.frame_current = frame
            shown = node.image.filepath_from_user(image_user=user)
            assert os.path.basename(shown).startswith(f"shot_{frame:04d}_")
            assert os.path.isfile(shown)
    assert tree.nodes["Mapsmith Mask"].outputs["Color"].links[0].to_socket.name == "Alpha"
    assert tree.nodes["Mapsmith Photo"].image == seq
    # The maps differ from frame to frame (the photo moves): an animated plane.
    first = cv2.imread(str(out / "shot_0001_mask.png"), cv2.IMREAD_UNCHANGED)
    assert not np.array_equal(first, cv2.imread(str(out / "shot_0003_mask.png"),
                                                cv2.IMREAD_UNCHANGED))

    # Saved and reopened, the material still shows the maps, frame by frame.
    blend = str(tmp_path / "animated.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend)
    tree = bpy.data.objects["shot_0001"].active_material.node_tree
    for name in ("Mapsmith Normals", "Mapsmith Mask", "Mapsmith Depth"):
        node = tree.nodes[name]
        assert node.image.source == "SEQUENCE" and node.image.colorspace_settings.is_data
        user = node.image_user
        assert user.frame_duration == 4 and user.use_auto_refresh
        user.frame_current = 3
        shown = node.image.filepath_from_user(image_user=user)
        assert os.path.basename(shown).startswith("shot_0003_") and os.path.isfile(shown)


def test_a_sequence_with_a_missing_frame_and_a_range(blank, tmp_path):
    seq = _sequence(tmp_path / "shot", frames=5, skip=(3,))
    out = tmp_path / "maps"
    batch(source="SEQUENCE", sequence=seq.name, output=str(out), maps={"MASK"},
          load_sequences=False)
    items, _saved = report_of(out)
    assert [i["status"] for i in items.values()] == ["done", "done", "failed", "done", "done"]
    assert "Frame 3 is missing" in items["shot_0003.png"]["message"]
    out2 = tmp_path / "range"
    batch(source="SEQUENCE", sequence=seq.name, output=str(out2), maps={"MASK"},
          frame_start=4, frame_end=5, load_sequences=False)
    assert list(statuses(out2)) == ["shot_0004.png", "shot_0005.png"]


# -- through the loopback services -------------------------------------------------------------
def test_services_paced(srv, photos, tmp_path):  # noqa: F811
    prefs().normals_provider = "CLIPDROP"
    pacing = mod("providers.pacing")
    # This server allows 2 normals a second; the client's pacer for it, 2 in 1.6 s (the
    # margin covers the time between the client's start and the server's clock, which on a
    # loaded machine reached 0.15 s with a 1.2 s pacer and made the gap below flaky).
    srv.rate_limits["normals"], srv.rate_period = 2, 1.0
    pacing._pacers[("normals", srv.url + NORMALS)] = pacing.Pacer(2, period=1.6)
    out = tmp_path / "maps"
    batch(source="FOLDER", folder=str(photos), output=str(out), maps={"NORMAL"})
    assert set(statuses(out).values()) == {"done"}
    calls = [r for r in srv.requests if r.path == NORMALS]
    assert [r.status for r in calls] == [200, 200, 200]  # never refused (no 429)
    assert calls[2].time - calls[0].time >= 1.1          # the third waited for the window


def test_services_with_a_failure_mid_batch(srv, photos, tmp_path):  # noqa: F811
    p = prefs()
    p.normals_provider, p.background_provider = "CLIPDROP", "BGREMOVAL"
    srv.fault(500, times=3, route=NORMALS)     # item 1: 500 and its retry; item 2: retried
    out = tmp_path / "maps"
    assert batch(source="FOLDER", folder=str(photos), output=str(out),
                 maps={"NORMAL", "MASK"}) == {"FINISHED"}
    items, _saved = report_of(out)
    first, second, third = items.values()                # astronaut, brick, coffee (sorted)
    assert first["status"] == "failed" and "ClipDrop" in first["message"]
    assert first["made"] == ["astronaut_mask.png"]       # its mask still made
    assert second["status"] == third["status"] == "done"
    assert second["providers"] == {"normals": "ClipDrop", "background": "Background Removal"}
    assert second["credits_used"] >= 1
    calls = [r for r in srv.requests if r.path == NORMALS]
    assert [r.status for r in calls] == [500, 500, 500, 200, 200]
    assert "credits left" in mod("preferences").last_credits["CLIPDROP"]   # for the next check
    assert cv2.imread(str(out / "coffee_normal.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_credits_warning_before_the_batch(srv, photos, tmp_path):  # noqa: F811
    prefs().normals_provider = "CLIPDROP"
    mod("preferences").last_credits["CLIPDROP"] = "2 credits left, 1 used"
    out = tmp_path / "maps"
    batch(source="FOLDER", folder=str(photos), output=str(out), maps={"NORMAL"})
    _items, saved = report_of(out)
    assert len(saved["warnings"]) == 1
    assert "2 credits left" in saved["warnings"][0] and "3 calls" in saved["warnings"][0]


def cancelled_at_the_second_item(out, finished=lambda: True, **options):
    """Run the batch and cancel it (as the panel's Cancel button does) once it reaches its
    second item; wait for the item in progress, the report and ``finished()``: the report."""
    # Answers cached by earlier tests would make each item instant, too quick to catch.
    bpy.ops.mapsmith.clear_cache()
    sessions = mod("blender.job_session")
    stop = threading.Event()

    def cancel_on_second_item():
        while not stop.is_set():
            for session in sessions.running("mapsmith.batch_maps"):
                if session.job.text.startswith("2/"):
                    session.cancel()
                    return
            time.sleep(0.002)

    canceller = threading.Thread(target=cancel_on_second_item, daemon=True)
    canceller.start()
    try:
        assert batch(output=str(out), maps={"NORMAL", "DEPTH", "MASK", "CUTOUT"},
                     **options) == {"CANCELLED"}
    finally:
        stop.set()
    ops = mod("operators.batch")
    for _ in range(600):                       # the item in progress finishes, then the report
        if not ops._FINISHING and (out / "batch_report.json").exists() and finished():
            break
        time.sleep(0.05)
    return report_of(out)


def test_cancel_stops_after_the_current_item(blank, photos, tmp_path):
    out = tmp_path / "maps"
    items, saved = cancelled_at_the_second_item(out, source="FOLDER", folder=str(photos))
    assert saved["stopped"]
    assert [i["status"] for i in items.values()] == ["done", "done", "not run (stopped)"]
    assert not (out / "coffee_normal.png").exists()
