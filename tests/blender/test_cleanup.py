"""Texture cleanup in real Blender: paint a mask, apply through each provider, undo exactly.

The mask is "painted" by writing its pixels directly (simulated strokes need a 3D view and
crash headless without an undo push first; see ../shared/blender-headless.md). Undo steps are
pushed by hand where the UI would push them (an operator's UNDO flag does not push headless).
"""

import importlib
import importlib.util
import sys
import time

import numpy as np
import pytest
from blhelpers import PKG, ROOT, prefs

import bpy

_spec = importlib.util.spec_from_file_location(
    "mapsmith_fake_services", ROOT / "tests" / "servers" / "fake_services.py")
fake_services = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fake_services  # dataclasses look their module up there
_spec.loader.exec_module(fake_services)


def _mod(name):
    return importlib.import_module(f"{PKG}.{name}")


PROVIDERS = ["OFFLINE", "CLIPDROP", "ERASE"]


# -- helpers ---------------------------------------------------------------------------------
def buffer(image) -> np.ndarray:
    """float32 (H, W, 4), Blender's row order (bottom first)."""
    w, h = image.size
    buf = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(buf)
    return buf.reshape(h, w, 4)


def stored(image) -> np.ndarray:
    """The exact stored values: bytes for byte images, floats for float images."""
    b = buffer(image)
    return b if image.is_float else np.rint(b * 255).astype(np.uint8)


def textured_plane(image):
    """A UV-mapped plane whose material shows ``image`` through an active Image Texture node."""
    bpy.ops.mesh.primitive_plane_add(size=2)
    obj = bpy.context.active_object
    mat, node = textured_material(obj, image, "Painted")
    return obj, mat, node


def textured_material(obj, image, name):
    """A material showing ``image`` through its active Image Texture node, on ``obj``."""
    mat = bpy.data.materials.new(name)
    if not bpy.app.version >= (5, 0, 0):
        mat.use_nodes = True
    tree = mat.node_tree
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    node = tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    tree.nodes.active = node
    obj.data.materials.append(mat)
    return mat, node


def file_texture(tmp_path, size=256, name="wall.png"):
    """A texture loaded from a PNG file (so 'dirty' means something): noise + gradient."""
    from PIL import Image

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:size, 0:size]
    rgb = np.dstack([xx * 255 // size, yy * 255 // size, (xx + yy) * 127 // size]).astype(np.int32)
    rgb = np.clip(rgb + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    path = tmp_path / name
    Image.fromarray(rgb).save(path)
    return bpy.data.images.load(str(path))


def disc(shape, cx, cy, r) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r


def paint(mask_image, where: np.ndarray, value: float = 1.0) -> None:
    """White (or grey) into the mask where ``where`` (bottom-first rows) is set."""
    buf = buffer(mask_image)
    buf[where, :3] = value
    mask_image.pixels.foreach_set(buf.ravel())
    mask_image.update()


def mask_of(image):
    return bpy.data.images[image.name + " cleanup mask"]


def allowed_region(where: np.ndarray, grow: int) -> np.ndarray:
    """Texels the cleanup may touch: the painted mask grown by ``grow``, plus one texel of
    slack for the disc approximation."""
    masks = _mod("core.masks")
    return masks.grow(where.astype(np.uint8) * 255, grow + 1) > 0


def use_service(provider, server):
    p = prefs()
    if provider == "CLIPDROP":
        p.clipdrop_api_key = fake_services.CLIPDROP_KEY
        p.clipdrop_url = server.url
    elif provider == "ERASE":
        p.erase_api_key = fake_services.ERASE_KEY
        p.erase_url = server.url
    p.max_retries = 0


def cleanup_requests(server):
    return [r for r in server.requests if r.path in ("/cleanup/v1", "/api/edit/erase")]


# -- the paint session -----------------------------------------------------------------------
def test_paint_mask_starts_and_resumes_a_session(blank, tmp_path):
    tex = file_texture(tmp_path)
    before = stored(tex)
    obj, mat, node = textured_plane(tex)
    links_before = {(k.from_node.name, k.to_socket.identifier) for k in mat.node_tree.links}

    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    mask = mask_of(tex)
    assert tuple(mask.size) == tuple(tex.size)
    assert mask.colorspace_settings.name == "Non-Color" and not mask.is_float
    assert not buffer(mask)[..., :3].any()                   # black: nothing marked
    paint_settings = bpy.context.scene.tool_settings.image_paint
    assert obj.mode == "TEXTURE_PAINT"
    assert paint_settings.mode == "IMAGE" and paint_settings.canvas == mask
    brush = paint_settings.brush
    assert brush.name == "Mapsmith Cleanup Mask"
    assert tuple(brush.color) == (1.0, 1.0, 1.0) and brush.strength == 1.0
    falloff = getattr(brush, "curve_distance_falloff_preset", None) or brush.curve_preset
    assert falloff == "CONSTANT"
    # The preview: the mask (on the texture's UVs) mixes red over the texture's colour.
    tagged = [n for n in mat.node_tree.nodes if n.get("mapsmith_cleanup") == mask.name]
    assert len(tagged) == 3
    mix = next(n for n in tagged if n.type == "MIX")
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf_in = bsdf.inputs["Base Color"]
    assert bsdf_in.links[0].from_node == mix
    assert mat.node_tree.nodes.active == node                # apply still finds the texture
    assert np.array_equal(stored(tex), before)               # the texture is not the canvas

    paint(mask, disc(before.shape[:2], 100, 120, 10))
    bpy.ops.object.mode_set(mode="OBJECT")
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}   # resume
    assert mask_of(tex) == mask and buffer(mask)[..., 0].max() == 1.0
    assert len([i for i in bpy.data.images if i.get("mapsmith_cleanup_of")]) == 1
    assert len([n for n in mat.node_tree.nodes if n.get("mapsmith_cleanup")]) == 3

    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    assert obj.mode == "OBJECT"
    assert not [n for n in mat.node_tree.nodes if n.get("mapsmith_cleanup")]
    assert {(k.from_node.name, k.to_socket.identifier) for k in mat.node_tree.links} == links_before
    assert not buffer(mask)[..., :3].any()
    assert paint_settings.canvas is None
    assert np.array_equal(stored(tex), before)


def test_image_editor_paint_mode_for_flat_images(online, server, tmp_path):
    use_service("ERASE", server)
    tex = file_texture(tmp_path)
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = "IMAGE_EDITOR"
    space = area.spaces.active
    space.image = tex
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
        mask = mask_of(tex)
        assert space.image == mask and space.mode == "PAINT"
        paint(mask, disc((256, 256), 60, 60, 6))
        before = stored(tex)
        assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE") == {"FINISHED"}
        assert space.image == tex and space.mode == "VIEW"   # back on the texture
    changed = np.any(stored(tex) != before, axis=2)
    assert changed.any() and not changed[~allowed_region(disc((256, 256), 60, 60, 6), 4)].any()


# -- apply through each provider ---------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_apply_changes_only_masked_texels_and_one_undo_restores(online, server, tmp_path,
                                                                  provider):
    use_service(provider, server)
    tex = file_texture(tmp_path)
    obj, mat, node = textured_plane(tex)
    original = stored(tex)
    assert not tex.is_dirty
    bpy.ops.mapsmith.cleanup_paint_mask()
    bpy.ops.ed.undo_push(message="Paint Cleanup Mask")
    where = disc(original.shape[:2], 80, 170, 9) | disc(original.shape[:2], 100, 150, 5)
    paint(bpy.data.images[tex.name + " cleanup mask"], where)
    bpy.ops.ed.undo_push(message="stroke")

    name = tex.name  # references go stale across undo pushes: look data up by name
    assert bpy.ops.mapsmith.cleanup_apply(provider=provider, grow=3) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    tex = bpy.data.images[name]
    after = stored(tex)
    changed = np.any(after != original, axis=2)
    allowed = allowed_region(where, 3)
    assert not changed[~allowed].any(), "a texel outside the grown mask changed"
    assert np.array_equal(after[~allowed], original[~allowed])   # byte-identical, alpha too
    assert changed[where].mean() > 0.5                            # the marked texels did change
    assert tex.is_dirty
    mask = mask_of(tex)
    assert not buffer(mask)[..., :3].any()                        # cleared by default
    assert obj.mode == "OBJECT"
    assert not [n for n in mat.node_tree.nodes if n.get("mapsmith_cleanup")]
    if provider != "OFFLINE":
        reqs = cleanup_requests(server)
        assert len(reqs) == 1 and reqs[0].status == 200

    bpy.ops.ed.undo()                                             # ONE undo step
    tex = bpy.data.images[name]
    assert np.array_equal(stored(tex), original)
    mask = mask_of(tex)
    assert np.array_equal(buffer(mask)[..., 0] > 0, where)        # the painted mask is back
    assert bpy.context.active_object.mode == "TEXTURE_PAINT"      # and the paint session

    bpy.ops.ed.redo()
    tex = bpy.data.images[name]
    assert np.array_equal(stored(tex), after)
    assert not buffer(mask_of(tex))[..., :3].any()


def test_offline_can_keep_the_person_out_of_the_fill(blank, tmp_path):
    tex = file_texture(tmp_path)
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc(original.shape[:2], 100, 120, 10)
    paint(mask_of(tex), where)
    bpy.ops.object.mode_set(mode="OBJECT")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", exclude_person=True, grow=2) \
        == {"FINISHED"}
    after = stored(tex)
    allowed = allowed_region(where, 2)
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])


def test_float_texture_keeps_stored_values_outside_the_mask(online, server):
    use_service("ERASE", server)
    rng = np.random.default_rng(7)
    hdr = rng.uniform(0.0, 4.0, (128, 128, 4)).astype(np.float32)   # beyond 1: HDR values
    tex = bpy.data.images.new("hdr", 128, 128, alpha=True, float_buffer=True)
    tex.pixels.foreach_set(hdr.ravel())
    tex.update()
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc((128, 128), 64, 64, 8)
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    after = stored(bpy.data.images["hdr"])
    allowed = allowed_region(where, 2)
    assert np.array_equal(after[~allowed], original[~allowed])    # exact floats
    assert np.any(after[where] != original[where])
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images["hdr"]), original)


def test_keep_mask_option(online, server, tmp_path):
    use_service("ERASE", server)
    tex = file_texture(tmp_path)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc((256, 256), 128, 128, 7)
    paint(mask_of(tex), where)
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", keep_mask=True) == {"FINISHED"}
    assert np.array_equal(buffer(mask_of(tex))[..., 0] > 0, where)


# -- large textures, empty masks, failures -----------------------------------------------------
@pytest.mark.parametrize("provider", ["CLIPDROP", "ERASE"])
def test_4k_texture_with_a_small_mask_sends_only_the_region(online, server, provider):
    use_service(provider, server)
    size = 4096
    yy, xx = np.mgrid[0:size, 0:size]
    rgb = np.dstack([(xx // 16) % 256, (yy // 16) % 256, ((xx ^ yy) >> 4) % 256]).astype(np.uint8)
    tex = bpy.data.images.new("big", size, size, alpha=True)
    tex.pixels.foreach_set((np.dstack([rgb, np.full((size, size), 255, np.uint8)])
                            .astype(np.float32) / 255).ravel())
    tex.update()
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((size, size), bool)
    where[3000:3040, 1000:1030] = True
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    t0 = time.perf_counter()
    assert bpy.ops.mapsmith.cleanup_apply(provider=provider, grow=4) == {"FINISHED"}
    elapsed = time.perf_counter() - t0
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    reqs = cleanup_requests(server)
    assert len(reqs) == 1
    image_field = "image_file" if provider == "CLIPDROP" else "image"
    mask_field = "mask_file" if provider == "CLIPDROP" else "mask"
    sent = reqs[0].files[image_field].size
    assert sent == reqs[0].files[mask_field].size
    assert sent[0] * sent[1] < 0.01 * size * size                 # the region, not 16.7 MP
    assert sent[0] >= 30 + 2 * 4 and sent[1] >= 40 + 2 * 4        # the grown mask fits in it
    print(f"\n{provider} 4096x4096, 30x40 mask: region {sent[0]}x{sent[1]}, apply "
          f"{elapsed:.2f} s")
    after = stored(bpy.data.images["big"])
    allowed = allowed_region(where, 4)
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])
    t0 = time.perf_counter()
    bpy.ops.ed.undo()
    print(f"undo {time.perf_counter() - t0:.2f} s")
    assert np.array_equal(stored(bpy.data.images["big"]), original)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_empty_mask_says_so_and_sends_nothing(online, server, tmp_path, provider):
    use_service(provider, server)
    tex = file_texture(tmp_path)
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    with pytest.raises(RuntimeError, match="mask .* is empty"):
        bpy.ops.mapsmith.cleanup_apply(provider=provider)
    assert server.requests == []
    assert np.array_equal(stored(tex), original)
    assert bpy.context.active_object.mode == "TEXTURE_PAINT"      # still painting


def test_no_mask_says_what_to_do(blank, tmp_path):
    tex = file_texture(tmp_path)
    textured_plane(tex)
    with pytest.raises(RuntimeError, match="no cleanup mask"):
        bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE")


@pytest.mark.parametrize("provider", ["CLIPDROP", "ERASE"])
def test_provider_failure_leaves_texture_and_scene_unchanged(online, server, tmp_path, provider):
    use_service(provider, server)
    p = prefs()
    if provider == "CLIPDROP":
        p.clipdrop_api_key = fake_services.BROKE_KEY              # 402: no credits
    else:
        p.erase_api_key = fake_services.BROKE_KEY
    tex = file_texture(tmp_path)
    obj, mat, _node = textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc((256, 256), 50, 50, 6)
    paint(mask_of(tex), where)
    nodes_before = sorted(n.name for n in mat.node_tree.nodes)
    images_before = sorted(i.name for i in bpy.data.images)
    with pytest.raises(RuntimeError, match="credits"):
        bpy.ops.mapsmith.cleanup_apply(provider=provider)
    assert [r.status for r in cleanup_requests(server)] == [402]
    assert np.array_equal(stored(tex), original)
    assert np.array_equal(buffer(mask_of(tex))[..., 0] > 0, where)   # the work is not lost
    assert obj.mode == "TEXTURE_PAINT"
    assert sorted(n.name for n in mat.node_tree.nodes) == nodes_before
    assert sorted(i.name for i in bpy.data.images) == images_before


def test_remote_provider_refused_while_online_access_is_off(blank, server, tmp_path):
    use_service("CLIPDROP", server)
    tex = file_texture(tmp_path)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    paint(mask_of(tex), disc((256, 256), 50, 50, 6))
    with pytest.raises(RuntimeError, match="online access"):
        bpy.ops.mapsmith.cleanup_apply(provider="CLIPDROP")
    assert server.requests == []


def test_two_applies_undo_one_at_a_time(online, server, tmp_path):
    use_service("ERASE", server)
    tex = file_texture(tmp_path)
    name = tex.name
    textured_plane(tex)
    states = [stored(tex)]
    for cx in (60, 180):
        bpy.ops.mapsmith.cleanup_paint_mask()
        bpy.ops.ed.undo_push(message="Paint Cleanup Mask")
        paint(mask_of(bpy.data.images[name]), disc((256, 256), cx, 100, 6))
        bpy.ops.ed.undo_push(message="stroke")
        assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE") == {"FINISHED"}
        bpy.ops.ed.undo_push(message="Apply Cleanup")
        states.append(stored(bpy.data.images[name]))
    assert not np.array_equal(states[1], states[2])
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images[name]), states[1])
    for _ in range(3):  # stroke, paint mask, then the first apply
        bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images[name]), states[0])
    for _ in range(4):
        bpy.ops.ed.redo()
    assert np.array_equal(stored(bpy.data.images[name]), states[2])


def test_undo_handlers_follow_the_add_on(blank):
    from blhelpers import disable, enable

    def ours():
        return [h for h in bpy.app.handlers.undo_post
                if getattr(h, "__module__", "").startswith(PKG)]

    assert len(ours()) == 1
    disable()
    try:
        assert ours() == []
    finally:
        enable()
    assert len(ours()) == 1
