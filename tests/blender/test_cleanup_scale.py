"""Texture cleanup at production scale, in real Blender from the built zip: marks grouped into
regions (counted and measured on the loopback services), UDIM tiles, and marks across UV
seams filled from the model's surface.
"""

import importlib
import os
import threading

import numpy as np
import pytest
from blhelpers import PKG
from test_cleanup import (
    buffer,
    cleanup_requests,
    mask_of,
    paint,
    stored,
    textured_material,
    textured_plane,
    use_service,
)

import bpy


def _mod(name):
    return importlib.import_module(f"{PKG}.{name}")


def big_texture(size=4096, name="big"):
    yy, xx = np.mgrid[0:size, 0:size]
    rgb = np.dstack([(xx // 16) % 256, (yy // 16) % 256, ((xx ^ yy) >> 4) % 256]).astype(np.uint8)
    tex = bpy.data.images.new(name, size, size, alpha=True)
    tex.pixels.foreach_set((np.dstack([rgb, np.full((size, size), 255, np.uint8)])
                            .astype(np.float32) / 255).ravel())
    tex.update()
    return tex


CORNERS = [(100, 120, 140, 150), (3950, 110, 3990, 140), (120, 3950, 150, 3990),
           (3940, 3960, 3990, 3990)]          # (x0, y0, x1, y1), buffer rows, ends exclusive


def painted_plane(size, name, boxes):
    """A plane showing a ``size``² texture whose cleanup mask marks ``boxes`` (x0, y0, x1, y1)."""
    tex = big_texture(size, name)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in boxes:
        where[y0:y1, x0:x1] = True
    paint(mask_of(tex), where)
    return tex, where


def corner_marks(size=4096):
    where = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in CORNERS:
        where[y0:y1, x0:x1] = True
    return where


# -- clusters --------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["CLIPDROP", "ERASE"])
def test_four_corner_marks_send_four_small_full_resolution_regions(online, server, provider,
                                                                  capfd):
    use_service(provider, server)
    tex = big_texture()
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = corner_marks()
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(provider=provider, grow=4) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    out = capfd.readouterr().out
    reqs = cleanup_requests(server)
    assert len(reqs) == 4 and all(r.status == 200 for r in reqs)
    image_field = "image_file" if provider == "CLIPDROP" else "image"
    mask_field = "mask_file" if provider == "CLIPDROP" else "mask"
    sizes = sorted(r.files[image_field].size for r in reqs)
    for req in reqs:
        assert req.files[image_field].size == req.files[mask_field].size
    for w, h in sizes:
        assert w * h < 0.005 * 4096 * 4096                        # small regions
        assert min(w, h) >= 30 + 2 * 4 + 2 * 64           # the whole context margin
    assert "sent 4 regions" in out
    # each region was sent at full resolution: the service got exactly the texels of its box
    boxes = sorted((x1 - x0, y1 - y0) for x0, y0, x1, y1 in _regions_of(out))
    assert boxes == sizes
    after = stored(bpy.data.images["big"])
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 5) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    for x0, y0, x1, y1 in CORNERS:
        assert np.any(after[y0:y1, x0:x1] != original[y0:y1, x0:x1])
    print(f"\n{provider}: 4 corner marks on 4096x4096 -> regions {sizes}")

    bpy.ops.ed.undo()                                             # ONE undo step: all four
    assert np.array_equal(stored(bpy.data.images["big"]), original)
    assert np.array_equal(buffer(mask_of(bpy.data.images["big"]))[..., 0] > 0, where)
    bpy.ops.ed.redo()
    assert np.array_equal(stored(bpy.data.images["big"]), after)


def _regions_of(message: str) -> list:
    """The region sizes the apply's message lists: "(sent 4 regions: 178x168, ...)"."""
    part = message.split("regions: ", 1)[1].split(")", 1)[0]
    return [(0, 0, int(w), int(h)) for w, h in (s.split("x") for s in part.split(", "))]


def test_cached_answers_are_reused_for_every_region(online, server):
    """Undo, then Apply again on the same marks: every region's answer comes from the cache,
    nothing is sent, and the result is the same."""
    use_service("ERASE", server)
    painted_plane(1024, "mid", [(60, 50, 80, 70), (880, 900, 900, 930)])
    bpy.ops.ed.undo_push(message="painted")
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    first = stored(bpy.data.images["mid"])
    assert len(cleanup_requests(server)) == 2
    bpy.ops.ed.undo()
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    assert len(cleanup_requests(server)) == 2                     # nothing new was sent
    assert np.array_equal(stored(bpy.data.images["mid"]), first)


def test_offline_inpaints_each_region_on_its_own(blank):
    cache = _mod("providers.cache")
    tex, where = painted_plane(2048, "offline", [(100, 100, 130, 120), (1880, 1900, 1900, 1920)])
    original = stored(tex)
    bpy.ops.object.mode_set(mode="OBJECT")
    misses = cache.ANSWERS.misses
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=2) == {"FINISHED"}
    assert cache.ANSWERS.misses - misses == 2                     # two inpaintings, not one
    after = stored(bpy.data.images["offline"])
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 3) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])


# -- UDIM ------------------------------------------------------------------------------------
def _tiled(tmp_path, numbers):
    from PIL import Image

    for n in numbers:
        rng = np.random.default_rng(n)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
            tmp_path / f"skin.{n}.png")
    tex = bpy.data.images.load(str(tmp_path / "skin.1001.png"))
    tex.source = "TILED"
    tex.filepath = str(tmp_path / "skin.<UDIM>.png")
    tex.reload()
    assert sorted(t.number for t in tex.tiles) == list(numbers)
    return tex


def test_python_reaches_only_udim_tile_1001(blank, tmp_path):
    """The evidence for refusing tiles 1002 and up: Image.pixels is tile 1001 whatever tile
    is active, and a UDIMTile has no pixels (if a Blender version adds them, this fails and
    the refusal can go)."""
    tex = _tiled(tmp_path, (1001, 1002))
    first = buffer(tex).copy()
    tex.tiles.active_index = 1
    assert tex.tiles.active.number == 1002
    assert np.array_equal(buffer(tex), first)
    assert not hasattr(tex.tiles[1], "pixels")
    assert not list(bpy.types.UDIMTile.bl_rna.functions)


def test_udim_beyond_tile_1001_is_refused_saying_why(blank, tmp_path):
    tex = _tiled(tmp_path, (1001, 1002))
    before = stored(tex)
    textured_plane(tex)
    with pytest.raises(RuntimeError, match="only tile 1001's pixels.*cannot clean tiles 1002"):
        bpy.ops.mapsmith.cleanup_paint_mask()
    assert not [i for i in bpy.data.images if i.name.endswith("cleanup mask")]
    assert np.array_equal(stored(tex), before)


def test_udim_with_tile_1001_only_is_cleaned_with_exact_undo(blank, tmp_path):
    tex = _tiled(tmp_path, (1001,))
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((64, 64), bool)
    where[20:26, 30:36] = True
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=1) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    tex = bpy.data.images["skin.1001.png"]
    after = stored(tex)
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 2) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images["skin.1001.png"]), original)


# -- across UV seams -------------------------------------------------------------------------
# The reference cube of tests/unit/test_uv_seams.py: a 2 m cube whose every face is its own UV
# island in a 4 x 3 cross layout (every edge a seam; -X and +Y meet on the cube but lie at the
# two ends of the image's strip), and a colour field smooth over its whole surface.
reference = importlib.import_module("mapsmith.tests.unit.test_uv_seams")
TEX_H, TEX_W = reference.HEIGHT, reference.WIDTH


def cube_unwrap():
    """The reference cube as quads: positions (8, 3), quads (6, 4), corner UVs (6, 4, 2)
    (its triangles come in pairs (0, 1, 2), (0, 2, 3) of each face)."""
    mesh = reference.cube()
    first, second = mesh.corners[0::2], mesh.corners[1::2]
    quads = np.concatenate([first, second[:, 2:]], axis=1)
    uvs = np.concatenate([mesh.uvs[0::2], mesh.uvs[1::2, 2:]], axis=1)
    return mesh.positions, quads, uvs


def cube_object(name, texture, mirrored_twin=False):
    positions, quads, uvs = cube_unwrap()
    if mirrored_twin:  # a mirrored copy in the same mesh sharing the UVs (mirrored halves)
        positions = np.concatenate([positions, positions * [-1, 1, 1] + [5, 0, 0]])
        quads = np.concatenate([quads, quads[:, ::-1] + 8])
        uvs = np.concatenate([uvs, uvs[:, ::-1]])
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(positions.tolist(), [], quads.tolist())
    layer = mesh.uv_layers.new(name="UVMap")
    order = np.array([loop.vertex_index for loop in mesh.loops]).reshape(-1, 4)
    assert np.array_equal(order, quads)
    layer.data.foreach_set("uv", uvs.reshape(-1).astype(np.float32))
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    textured_material(obj, texture, name)
    return obj


def surface_points():
    """Each texel's 3D point on the cube (top-first rows), from the known unwrap."""
    mesh = reference.cube()
    return reference.surface_points(mesh, reference.uv_seams.rasterise(mesh, TEX_H, TEX_W))


def gradient_texture(name):
    """A byte texture painted with the smooth colour field through the texel-to-surface map
    (the gutter black), and the magenta scratch the artist will mark: along the -X / +Y
    edge, crossing it."""
    pts, on = surface_points()
    truth = np.where(on[..., None], np.clip(0.5 + pts @ reference.COLOUR_AXES, 0, 1), 0.0)
    truth = np.round(truth * 255) / 255
    scratch = reference.strip_along_edge(pts, on)
    damaged = truth.copy()
    damaged[scratch] = (1.0, 0.0, 1.0)
    tex = bpy.data.images.new(name, TEX_W, TEX_H, alpha=True)
    rgba = np.dstack([damaged, np.ones((TEX_H, TEX_W))])[::-1].astype(np.float32)
    tex.pixels.foreach_set(rgba.ravel())
    tex.update()
    return tex, truth[::-1], scratch[::-1]           # stored rows (bottom first)


def _level_error(tex, truth, where):
    return np.abs(buffer(tex)[..., :3][where] - truth[where]) * 255


def _render(obj, path):
    """A small Cycles render looking at the -X / +Y edge (the scratch)."""
    scene = bpy.context.scene
    cam = bpy.data.objects.get("seam camera")
    if cam is None:
        cam = bpy.data.objects.new("seam camera", bpy.data.cameras.new("seam camera"))
        scene.collection.objects.link(cam)
        cam.location = (-3.6, 3.6, 1.6)
        direction = -np.array(cam.location)
        from mathutils import Vector
        cam.rotation_euler = Vector(direction).to_track_quat("-Z", "Y").to_euler()
        light = bpy.data.objects.new("seam light", bpy.data.lights.new("seam light", "SUN"))
        light.rotation_euler = (0.6, -0.4, 0.9)
        light.data.energy = 4.0
        scene.collection.objects.link(light)
        scene.world = scene.world or bpy.data.worlds.new("World")
        scene.world.color = (0.6, 0.6, 0.6)
        scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 16
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = 320, 240
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def _compose(folder):
    """docs/images/cleanup_seam_before_after.png: the three renders side by side."""
    from PIL import Image, ImageDraw

    names = ("seam_damaged", "seam_image_fill", "seam_surface_fill")
    titles = ("marked: a scratch across a UV seam", "filled in image space",
              "filled from the model surface")
    shots = [Image.open(os.path.join(folder, f"{n}.png")).convert("RGB") for n in names]
    w, h = shots[0].size
    sheet = Image.new("RGB", (3 * w, h + 22), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (shot, title) in enumerate(zip(shots, titles)):
        sheet.paste(shot, (k * w, 22))
        draw.text((k * w + 6, 5), title, fill="black")
    sheet.save(os.path.join(folder, "cleanup_seam_before_after.png"))


def test_mark_across_a_uv_seam_matches_the_far_side(blank, capfd):
    """The scratch crosses the seam between -X and +Y: filled from the model's surface, its
    texels match the colours across the seam within a few levels; filled in image space (the
    same marks on a texture no selected object uses), they do not."""
    seam_tex, truth, scratch = gradient_texture("seam")
    plain_tex, _, _ = gradient_texture("plain")
    render_dir = os.environ.get("MAPSMITH_SEAM_RENDERS")  # a folder: renders the figure
    cube = cube_object("Cube", seam_tex)
    other = cube_object("Other", plain_tex)
    other.location = (20, 0, 0)
    original = stored(seam_tex)
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    if render_dir:
        _render(cube, os.path.join(render_dir, "seam_damaged.png"))

    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    paint(mask_of(seam_tex), scratch)
    bpy.ops.ed.undo_push(message="painted")
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=0) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    out = capfd.readouterr().out
    assert "texels at UV seams filled from the model's surface" in out
    seam_tex = bpy.data.images["seam"]
    after = stored(seam_tex)
    assert np.array_equal(after[~scratch], original[~scratch])        # nothing else changed
    err = _level_error(seam_tex, truth, scratch)

    # The same marks, filled in image space: no selected object uses "plain".
    bpy.context.view_layer.objects.active = other
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    paint(mask_of(plain_tex), scratch)
    bpy.ops.object.mode_set(mode="OBJECT")
    for obj in bpy.context.scene.objects:
        obj.select_set(False)
    bpy.context.view_layer.objects.active = None
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(image="plain", provider="OFFLINE", grow=0) \
        == {"FINISHED"}
    out = capfd.readouterr().out
    assert "no selected object uses the texture" in out and "filled in image space" in out
    plain_err = _level_error(bpy.data.images["plain"], truth, scratch)
    print(f"\nscratch across a UV seam ({int(scratch.sum())} texels): surface fill "
          f"{err.mean():.2f} levels (95 %: {np.percentile(err, 95):.1f}), image space "
          f"{plain_err.mean():.2f} (95 %: {np.percentile(plain_err, 95):.1f})")
    assert err.mean() < 3.0 and np.percentile(err, 95) < 8.0
    assert plain_err.mean() > 5 * err.mean()
    if render_dir:
        bpy.context.view_layer.objects.active = cube
        _render(cube, os.path.join(render_dir, "seam_surface_fill.png"))
        cube.data.materials[0].node_tree.nodes.active.image = bpy.data.images["plain"]
        _render(cube, os.path.join(render_dir, "seam_image_fill.png"))
        cube.data.materials[0].node_tree.nodes.active.image = bpy.data.images["seam"]
        _compose(render_dir)

    bpy.ops.ed.undo()                                                  # one step, exact
    assert np.array_equal(stored(bpy.data.images["seam"]), original)

    # Again from the answer cache: nothing is inpainted again, the surface fill (too slow for
    # the main thread) runs as a job, and the result is the same.
    cache = _mod("providers.cache")
    misses = cache.ANSWERS.misses
    cube = bpy.data.objects["Cube"]                                    # references went stale
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    capfd.readouterr()
    uv_seams, on_main = _mod("core.uv_seams"), []
    real_fill = uv_seams.fill

    def watched_fill(*args, **kwargs):
        on_main.append(threading.current_thread() is threading.main_thread())
        return real_fill(*args, **kwargs)

    uv_seams.fill = watched_fill
    try:
        assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=0) == {"FINISHED"}
    finally:
        uv_seams.fill = real_fill
    assert "(cached answer)" in capfd.readouterr().out
    assert cache.ANSWERS.misses == misses
    assert on_main == [False]                                          # a worker thread
    assert np.array_equal(stored(bpy.data.images["seam"]), after)


def test_mesh_without_uvs_falls_back_to_image_space(blank, capfd):
    tex, _truth, scratch = gradient_texture("flat")
    cube = cube_object("Cube", tex)
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    paint(mask_of(tex), scratch)
    bpy.ops.object.mode_set(mode="OBJECT")
    cube.data.uv_layers.remove(cube.data.uv_layers[0])
    original = stored(tex)
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=0) == {"FINISHED"}
    out = capfd.readouterr().out
    assert '"Cube" has no UV map' in out and "filled in image space" in out
    after = stored(bpy.data.images["flat"])
    assert np.array_equal(after[~scratch], original[~scratch])
    assert np.any(after[scratch] != original[scratch])


def test_overlapping_uv_islands_fall_back_to_image_space(blank, capfd):
    tex, _truth, scratch = gradient_texture("twin")
    cube = cube_object("Twin", tex, mirrored_twin=True)
    bpy.context.view_layer.objects.active = cube
    cube.select_set(True)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    paint(mask_of(tex), scratch)
    bpy.ops.ed.undo_push(message="painted")
    original = stored(tex)
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=0) == {"FINISHED"}
    out = capfd.readouterr().out
    assert "UV islands overlap under the mark: filled in image space" in out
    assert "filled from the model's surface" not in out
    after = stored(bpy.data.images["twin"])
    assert np.array_equal(after[~scratch], original[~scratch])
    assert np.any(after[scratch] != original[scratch])


def test_udim_tile_missing_on_disk_says_so(blank, tmp_path):
    tex = _tiled(tmp_path, (1001,))
    (tmp_path / "skin.1001.png").unlink()
    tex.reload()
    textured_plane(tex)
    with pytest.raises(RuntimeError, match="Tile 1001 of .* has no pixels .*file missing"):
        bpy.ops.mapsmith.cleanup_paint_mask()
    assert not [i for i in bpy.data.images if i.name.endswith("cleanup mask")]
