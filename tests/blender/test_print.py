"""mapsmith.export_print and mapsmith.lithophane, checked from outside with trimesh.

trimesh (test venv only, tools/requirements-test.txt) reads the written files as a slicer
would: one watertight body, its back on Z = 0, centred, in millimetres.
"""

import math
import os

import numpy as np
import pytest
from blhelpers import prefs
from portrait import mod, portrait, snapshot  # noqa: F401

import bpy

trimesh = pytest.importorskip("trimesh")


def _co(obj):
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def _load(path):
    return trimesh.load(str(path), force="mesh")


def _extent(mesh):
    lo, hi = mesh.bounds
    return hi - lo


def _assert_on_bed(mesh):
    lo, hi = mesh.bounds
    assert lo[2] == pytest.approx(0.0, abs=1e-4)                 # lowest point on the bed
    assert (lo[:2] + hi[:2]) / 2 == pytest.approx((0.0, 0.0), abs=1e-3)   # centred


def _export(path, **kw):
    bpy.ops.mapsmith.export_print(filepath=str(path), **kw)
    return mod("operators.export_print").last_report


def _relief(portrait, **kw):
    options = dict(resolution=128, solid=True)
    options.update(kw)
    bpy.ops.mapsmith.depth_relief(image=portrait.name, **options)
    return bpy.context.active_object


def test_relief_exports_laid_flat_in_millimetres_and_leaves_the_object_alone(portrait, tmp_path):
    relief = _relief(portrait)
    co_before = _co(relief).copy()
    placement = (tuple(relief.location), tuple(relief.rotation_euler), tuple(relief.scale))
    before = snapshot()
    report = _export(tmp_path / "relief.stl")

    mesh = _load(tmp_path / "relief.stl")
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert mesh.body_count == report.bodies
    _assert_on_bed(mesh)
    # Laid on its back, not standing: the footprint is the relief's front view, in mm (the
    # object stands upright in the scene: 0.2 m tall along world Z).
    local = (co_before.max(axis=0) - co_before.min(axis=0)) * 1000.0
    np.testing.assert_allclose(_extent(mesh), local, rtol=1e-5, atol=1e-3)
    assert max(_extent(mesh)[:2]) == pytest.approx(200.0, abs=6.0)
    assert _extent(mesh)[2] < 30.0
    # The back plate lies on the bed: a large flat area at Z = 0, facing down.
    down = (mesh.triangles[:, :, 2].max(axis=1) < 1e-4) & (mesh.face_normals[:, 2] < -0.99)
    assert mesh.area_faces[down].sum() > 0.3 * local[0] * local[1]
    # The figures reported are the file's.
    assert report.size_mm == pytest.approx(tuple(_extent(mesh)), abs=1e-3)
    assert report.volume_cm3 == pytest.approx(mesh.volume / 1000.0, rel=1e-4)
    data = (tmp_path / "relief.stl").read_bytes()                  # binary STL
    count = int.from_bytes(data[80:84], "little")
    assert count == report.triangles == len(mesh.faces) and len(data) == 84 + 50 * count
    assert 0.0 < report.thinnest_wall_mm <= _extent(mesh)[2]
    # The user's object is as it was, nothing was left behind, the selection kept.
    assert np.array_equal(_co(relief), co_before)
    assert (tuple(relief.location), tuple(relief.rotation_euler), tuple(relief.scale)) == placement
    assert snapshot() == before
    assert bpy.context.active_object == relief and relief.select_get()
    assert os.listdir(tmp_path) == ["relief.stl"]


def test_largest_part_only_gives_one_body(portrait, tmp_path):
    _relief(portrait, resolution=256)
    report = _export(tmp_path / "one.stl", largest_part_only=True)
    mesh = _load(tmp_path / "one.stl")
    assert mesh.is_watertight and mesh.body_count == 1 == report.bodies
    _assert_on_bed(mesh)


def test_obj_and_ply_match_the_stl(portrait, tmp_path):
    _relief(portrait, resolution=64)
    _export(tmp_path / "r.stl")
    stl = _load(tmp_path / "r.stl")
    for fmt in ("OBJ", "PLY"):
        _export(tmp_path / "r", file_format=fmt)                   # extension added
        other = _load(tmp_path / f"r.{fmt.lower()}")
        assert other.is_watertight, fmt
        np.testing.assert_allclose(other.bounds, stl.bounds, atol=1e-3, err_msg=fmt)
        assert other.volume == pytest.approx(stl.volume, rel=1e-4)
    assert sorted(os.listdir(tmp_path)) == ["r.obj", "r.ply", "r.stl"]


def test_scene_orientation_and_scale_are_honoured(portrait, tmp_path):
    relief = _relief(portrait, resolution=64)
    relief.scale = (0.5, 0.5, 0.5)
    _export(tmp_path / "scene.stl", orientation="SCENE")
    mesh = _load(tmp_path / "scene.stl")
    local = _co(relief)
    span = (local.max(axis=0) - local.min(axis=0)) * 500.0       # half size, in mm
    # Upright in the scene (rotated 90 degrees about X): local Y is world Z.
    np.testing.assert_allclose(_extent(mesh), (span[0], span[2], span[1]), rtol=1e-5, atol=1e-3)
    _assert_on_bed(mesh)


def test_lithophane_is_a_flat_watertight_plate_of_its_size(portrait, tmp_path):
    bpy.ops.mapsmith.lithophane(image=portrait.name, size=0.05)
    obj = bpy.data.objects["astronaut lithophane"]
    assert bpy.context.active_object == obj
    # One vertex every 0.2 mm (half the 0.4 mm nozzle): 251 a side on the front; the flat
    # back is triangulated from copies of the outline's 4 x 250 vertices only.
    assert len(obj.data.vertices) == 251 * 251 + 4 * 250
    report = _export(tmp_path / "litho.stl")
    mesh = _load(tmp_path / "litho.stl")
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.body_count == 1
    _assert_on_bed(mesh)
    np.testing.assert_allclose(_extent(mesh), (50.0, 50.0, 3.0), atol=1e-3)
    z = mesh.vertices[:, 2]
    front = z[z > 1e-4]
    assert front.min() == pytest.approx(0.8, abs=0.05)            # the lightest pixels
    assert front.max() == pytest.approx(3.0, abs=1e-4)             # the darkest, and the frame
    assert report.thinnest_wall_mm == pytest.approx(0.8, abs=0.15)  # an estimate: see printing
    assert report.watertight


def test_lithophane_thickness_follows_the_darkness(blank, tmp_path):
    """Left half white, right half black: thin on the left, thick on the right; negative
    swaps them."""
    from blhelpers import new_image
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :100] = 255
    image = new_image("halves.png", rgb)
    for tone, left, right in (("POSITIVE", 0.8, 3.0), ("NEGATIVE", 3.0, 0.8)):
        bpy.ops.mapsmith.lithophane(image=image.name, size=0.04, border=0.0, tone=tone)
        co = _co(bpy.context.active_object) * 1000.0
        front = co[: len(co) // 2]
        assert np.median(front[front[:, 0] < -5, 2]) == pytest.approx(left, abs=1e-3), tone
        assert np.median(front[front[:, 0] > 5, 2]) == pytest.approx(right, abs=1e-3), tone


def test_curved_lithophane_stands_on_its_edge(portrait, tmp_path):
    bpy.ops.mapsmith.lithophane(image=portrait.name, size=0.05, shape="CURVED",
                                curve_angle=math.radians(90.0))
    obj = bpy.context.active_object
    assert tuple(obj.rotation_euler) == (0.0, 0.0, 0.0)            # standing in the scene too
    _export(tmp_path / "curved.stl")
    mesh = _load(tmp_path / "curved.stl")
    assert mesh.is_watertight and mesh.body_count == 1 and mesh.volume > 0
    _assert_on_bed(mesh)
    radius = 50.0 / (math.pi / 2.0)                                # the back's arc is 50 mm
    x, y, z = _extent(mesh)
    assert z == pytest.approx(50.0, abs=1e-3)                      # the image's height, upright
    assert x == pytest.approx(2 * (radius + 3.0) * math.sin(math.pi / 4), abs=0.05)
    assert y == pytest.approx(radius + 3.0 - radius * math.cos(math.pi / 4), abs=0.05)


def test_export_refuses_bad_input_and_writes_nothing(portrait, tmp_path):
    target = tmp_path / "out.stl"
    with pytest.raises(RuntimeError, match="No mesh selected"):
        bpy.ops.mapsmith.export_print(filepath=str(target))
    _relief(portrait, resolution=48, solid=False)                  # an open surface
    with pytest.raises(RuntimeError, match=r"cannot be printed as it is: [\d,]+ open edges "
                                           r".*Make the relief Solid"):
        bpy.ops.mapsmith.export_print(filepath=str(target))
    assert os.listdir(tmp_path) == []
    _relief(portrait, resolution=48)                               # solid
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.mapsmith.export_print(filepath=str(tmp_path / "missing" / "out.stl"))
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.mapsmith.export_print(filepath=str(tmp_path / "a_file" / "out.stl"))
    with pytest.raises(RuntimeError, match="Cannot write"):
        bpy.ops.mapsmith.export_print(filepath="/proc/mapsmith-out.stl")
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


def test_too_large_for_the_bed_is_refused_then_fitted(portrait, tmp_path):
    target = tmp_path / "big.stl"
    target.write_bytes(b"an older file")
    big = _relief(portrait, resolution=48, size=2.0, thickness=0.04)   # a 2 m relief
    printing = mod("blender.printing")                             # what the dialog shows
    shown = printing.approx_size_mm(bpy.context, [big], printing.print_frame(big, "LOCAL"))
    assert not mod("core.mesh_check").fits(shown) and max(shown) > 1900.0
    with pytest.raises(RuntimeError, match=r"larger than the printer bed \(220 x 220 x 250 mm\)"
                                           r": turn on Fit to Bed to scale it to 11.\d%"):
        bpy.ops.mapsmith.export_print(filepath=str(target))
    assert target.read_bytes() == b"an older file"                 # untouched
    assert sorted(os.listdir(tmp_path)) == ["big.stl"]
    report = _export(target, fit_to_bed=True)
    mesh = _load(target)
    assert mesh.is_watertight
    assert max(_extent(mesh)) == pytest.approx(220.0, abs=1e-3)
    assert report.size_mm == pytest.approx(tuple(_extent(mesh)), abs=1e-3)
    # A larger printer in the preferences: it fits as it is.
    p = prefs()
    assert (p.bed_size_x, p.bed_size_y, p.bed_size_z) == (220.0, 220.0, 250.0)
    try:
        p.bed_size_x = p.bed_size_y = p.bed_size_z = 3000.0
        _export(target)
        assert max(_extent(_load(target))) == pytest.approx(2000.0, abs=60.0)
    finally:
        p.bed_size_x, p.bed_size_y, p.bed_size_z = 220.0, 220.0, 250.0


def test_a_16_bit_depth_answer_reaches_blender_at_full_precision(online, tmp_path):
    """A 16-bit depth answer stays 16-bit: the float depth image holds levels between the
    8-bit steps, and Image > Save As writes them as a 16-bit PNG (and OpenEXR)."""
    from blhelpers import load_astronaut
    from PIL import Image

    from mapsmith.tests.servers.fake_services import CLIPDROP_KEY, FakeServices
    photo = load_astronaut(size=96)
    with FakeServices() as services:
        services.depth_16bit = True
        p = prefs()
        p.clipdrop_url, p.clipdrop_api_key, p.max_retries = services.url, CLIPDROP_KEY, 0
        bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP", method="MODIFIERS",
                                      smoothing=0.0)
        p.clipdrop_url = ""
    depth = bpy.data.images["astronaut depth"]
    assert depth.is_float
    values = mod("blender.pixels").read(depth)[..., 0]
    inside = values[values > 0]
    assert np.abs(inside * 255 - np.round(inside * 255)).max() > 0.1   # off the 8-bit grid
    settings = bpy.context.scene.render.image_settings
    settings.file_format, settings.color_mode, settings.color_depth = "PNG", "BW", "16"
    depth.save_render(str(tmp_path / "depth16.png"))
    with Image.open(tmp_path / "depth16.png") as saved:
        assert saved.mode.startswith("I")                             # 16-bit grey
        levels = np.asarray(saved)
    assert np.unique(levels).size > 256
    settings.file_format, settings.color_depth = "OPEN_EXR", "32"
    depth.save_render(str(tmp_path / "depth.exr"))
    assert (tmp_path / "depth.exr").stat().st_size > 0


def test_several_objects_keep_their_arrangement(portrait, tmp_path):
    first = _relief(portrait, resolution=48, size=0.05)
    second = _relief(portrait, resolution=48, size=0.05)
    second.location.x += 0.08                                      # 80 mm to the right
    first.select_set(True)
    bpy.context.view_layer.objects.active = first
    report = _export(tmp_path / "two.stl")
    mesh = _load(tmp_path / "two.stl")
    width = (_co(first)[:, 0].max() - _co(first)[:, 0].min()) * 1000.0
    assert mesh.body_count == report.bodies >= 2 and mesh.is_watertight
    assert _extent(mesh)[0] == pytest.approx(80.0 + width, abs=1e-2)
    # Both lie on their backs: 8 mm of relief on a 3 mm base, where standing they are 50 mm.
    assert _extent(mesh)[2] < 15.0
    _assert_on_bed(mesh)


def test_lithophane_bad_options_change_nothing(portrait):
    before = snapshot()
    with pytest.raises(RuntimeError, match="must be greater than the minimum thickness"):
        bpy.ops.mapsmith.lithophane(image=portrait.name, min_thickness=0.003,
                                    max_thickness=0.002)
    with pytest.raises(RuntimeError, match="leaves no room for the picture"):
        bpy.ops.mapsmith.lithophane(image=portrait.name, size=0.01, border=0.005)
    assert snapshot() == before


def test_lithophane_needs_no_provider_and_works_offline(portrait):
    assert not bpy.app.online_access
    props = bpy.ops.mapsmith.lithophane.get_rna_type().properties
    assert "provider" not in props
    assert (props["min_thickness"].default, props["max_thickness"].default) == \
        pytest.approx((0.0008, 0.003))
    assert set(props["tone"].enum_items.keys()) == {"POSITIVE", "NEGATIVE"}
    assert set(props["shape"].enum_items.keys()) == {"FLAT", "CURVED"}
    bpy.ops.mapsmith.lithophane(image=portrait.name, size=0.02)
    obj = bpy.context.active_object
    assert obj.name == "astronaut lithophane" and obj.active_material.name == "astronaut lithophane"
    assert tuple(obj.rotation_euler) == pytest.approx((math.pi / 2, 0.0, 0.0))  # upright, facing -Y
