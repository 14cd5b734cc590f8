"""mapsmith.remove_background on a real portrait: cutout plane, shadow variant, mask, trim."""

import numpy as np
import pytest
from portrait import image_bytes, linked, mod, offline, portrait, snapshot  # noqa: F401

import bpy


def _rgb(image):
    return (image_bytes(image)[..., :3] * 255).round().astype(np.uint8)


def _bsdf(material):
    return next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")


def _refined(rgb, mode):
    """The offline answer and what the operator makes of it (core.cutout.refine with the
    face kept): islands and background pieces joined to her dropped (the flag strip)."""
    raw = offline().background(rgb, mode).image
    keep = mod("providers.offline.face").face_mask(rgb)
    return raw, mod("core.cutout").refine(rgb, raw, keep=keep)


@pytest.mark.parametrize("mode, method", [("CUTOUT", "DITHERED"), ("CUTOUT_SHADOW", "BLENDED")])
def test_cutout_plane_with_alpha_linked(portrait, mode, method):
    before = image_bytes(portrait)
    raw, expected = _refined(_rgb(portrait), mode)
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode=mode, trim=False)
    obj = bpy.data.objects["astronaut cutout"]
    image = bpy.data.images["astronaut cutout"]
    assert image.colorspace_settings.name == "sRGB"
    alpha = (image_bytes(image)[..., 3] * 255).round()
    assert np.abs(alpha - expected[..., 3]).max() <= 1
    assert 0 < (alpha > 127).mean() < 1
    flag = (slice(200, 256), slice(0, 8))              # the flag strip along her left sleeve
    assert (raw[flag][..., 3] > 0).mean() > 0.9 and (alpha[flag] > 0).mean() < 0.5
    material = obj.active_material
    bsdf = _bsdf(material)
    tex, socket = linked(bsdf.inputs["Alpha"])
    assert tex.image == image and socket.name == "Alpha"
    assert linked(bsdf.inputs["Base Color"])[0] == tex
    assert material.surface_render_method == method
    assert len(obj.data.polygons) == 1
    assert tuple(obj.dimensions)[:2] == pytest.approx((1.0, 1.0))
    assert np.array_equal(image_bytes(portrait), before)          # the photo is untouched


def test_mask_is_its_own_non_color_image(portrait):
    objects = len(bpy.data.objects)
    expected = _refined(_rgb(portrait), "MASK")[1]
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode="MASK")
    mask = bpy.data.images["astronaut mask"]
    assert mask.colorspace_settings.name == "Non-Color"
    got = (image_bytes(mask)[..., 0] * 255).round()
    assert np.abs(got - expected).max() <= 1
    assert len(bpy.data.objects) == objects


def test_trim_cuts_the_mesh_to_the_outline(portrait):
    expected = offline().background(_rgb(portrait), "CUTOUT").image[..., 3] > 127
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode="CUTOUT", trim=True,
                                       trim_resolution=64)
    obj = bpy.context.active_object
    mesh = obj.data
    assert len(mesh.polygons) > 100
    # Every vertex lies on the subject (UV -> mask pixel), and far fewer than the full grid.
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    mesh.uv_layers.active.data.foreach_get("uv", uv)
    uv = uv.reshape(-1, 2)
    h, w = expected.shape
    cols = np.clip((uv[:, 0] * (w - 1)).round().astype(int), 0, w - 1)
    rows = np.clip(((1 - uv[:, 1]) * (h - 1)).round().astype(int), 0, h - 1)
    # Allow for the outline: a grid cell's corner may sit a cell outside the mask.
    near = np.zeros_like(expected)
    r = 5
    for dy in range(-r, r + 1):
        near |= np.roll(expected, dy, axis=0)
    for dx in range(-r, r + 1):
        near |= np.roll(near, dx, axis=1)
    assert near[rows, cols].all()
    assert len(mesh.vertices) < 0.9 * 64 * 64
    covered = len(mesh.polygons) / (63 * 63)
    assert abs(covered - expected.mean()) < 0.1
    z = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", z)
    assert np.allclose(z.reshape(-1, 3)[:, 2], 0.0)                # flat


def test_failure_leaves_nothing_behind(portrait):
    from blhelpers import prefs
    from portrait import closed_port_url
    bpy.context.preferences.system.use_online_access = True
    prefs().bgremoval_api_key = "test-key"
    prefs().bgremoval_url = closed_port_url()
    prefs().max_retries = 0
    before = snapshot()
    with pytest.raises(RuntimeError):
        bpy.ops.mapsmith.remove_background(image=portrait.name, provider="BGREMOVAL")
    assert snapshot() == before


def test_undo_returns_to_before(portrait):
    bpy.ops.ed.undo_push(message="before cutout")
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode="CUTOUT")
    bpy.ops.ed.undo_push(message="cutout")
    assert "astronaut cutout" in bpy.data.objects
    bpy.ops.ed.undo()
    for coll in (bpy.data.objects, bpy.data.meshes, bpy.data.materials, bpy.data.images):
        assert "astronaut cutout" not in coll


def test_float_source_image_works_and_stays_untouched(portrait):
    from blhelpers import new_image
    rgb = (image_bytes(portrait)[..., :3] * 255).round().astype(np.uint8)
    linear = new_image("astronaut linear.exr", rgb, float_buffer=True)
    before = image_bytes(linear)
    bpy.ops.mapsmith.remove_background(image=linear.name, mode="CUTOUT")
    assert "astronaut linear cutout" in bpy.data.images
    assert np.array_equal(image_bytes(linear), before)


def test_cutout_edge_carries_the_subject_colour(portrait):
    rgb = _rgb(portrait)
    raw = offline().background(rgb, "CUTOUT").image
    soft = (raw[..., 3] > 12) & (raw[..., 3] < 243)
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode="CUTOUT", edge_colour=False)
    plain = (image_bytes(bpy.data.images["astronaut cutout"]) * 255).round()
    assert np.abs(plain[soft, :3] - rgb[soft]).max() <= 1       # the old background comes along
    bpy.ops.mapsmith.remove_background(image=portrait.name, mode="CUTOUT", despill=0.8)
    fixed = (image_bytes(bpy.data.images["astronaut cutout.001"]) * 255).round()
    expected = mod_cutout().refine(rgb, raw, despill=0.8)
    assert np.abs(fixed - expected).max() <= 1
    assert (np.abs(fixed[soft, :3] - rgb[soft]).max(axis=1) > 3).mean() > 0.3


def test_material_without_edge_colour_shows_the_photo_straight(portrait):
    bpy.ops.mapsmith.material_setup(image=portrait.name, edge_colour=False)
    bsdf = _bsdf(bpy.context.active_object.active_material)
    assert linked(bsdf.inputs["Base Color"])[0].image == portrait
    assert "astronaut edge colour" not in bpy.data.images


def mod_cutout():
    import importlib

    from blhelpers import PKG
    return importlib.import_module(f"{PKG}.core.cutout")
