"""Texture maps in Blender (issue 16): Normal Map, Depth Relief and One-Click Material route by
``subject``; the maps make sense on scikit-image's real textures; a tileable texture's maps
and cleanup wrap around its edges."""

import numpy as np
import pytest
from blhelpers import load_astronaut, new_image
from portrait import image_bytes, linked, mod
from test_cleanup import disc, mask_of, paint, stored, textured_plane

import bpy

from mapsmith.tests.textures import mortar_mask, seamless


def grey_texture(name):
    from skimage import data
    grey = getattr(data, name)()
    return new_image(f"{name}.png", np.dstack([grey] * 3))


def top_first(image):
    """An image's RGBA, float, row 0 at the top."""
    return image_bytes(image)[::-1]


def decoded(image):
    """Unit vectors (H, W, 3), top row first, of a normal-map image."""
    return mod("core.normals").decode(np.rint(top_first(image)[..., :3] * 255).astype(np.uint8))


def test_auto_routes_by_subject_and_says_why(blank, capfd):
    brick = grey_texture("brick")
    astronaut = load_astronaut(size=128)
    assert bpy.ops.mapsmith.normal_map(image=brick.name) == {"FINISHED"}
    assert "texture maps: no person found" in capfd.readouterr().out
    bpy.context.view_layer.objects.active = None
    assert bpy.ops.mapsmith.normal_map(image=astronaut.name) == {"FINISHED"}
    out = capfd.readouterr().out
    assert "portrait maps: a face found" in out and "approximate depth" in out
    assert bpy.ops.mapsmith.depth_relief(image=brick.name, resolution=32) == {"FINISHED"}
    assert "texture maps: no person found" in capfd.readouterr().out
    with pytest.raises(RuntimeError, match="no subject"):   # today's portrait path
        bpy.ops.mapsmith.depth_relief(image=brick.name, resolution=32, subject="PORTRAIT")
    assert bpy.ops.mapsmith.depth_relief(image=astronaut.name, resolution=32,
                                         subject="PORTRAIT") == {"FINISHED"}
    assert "portrait maps (Subject: Portrait)" in capfd.readouterr().out
    assert bpy.ops.mapsmith.material_setup(image=astronaut.name,
                                           subject="TEXTURE") == {"FINISHED"}
    out = capfd.readouterr().out
    assert "texture maps (Subject: Texture)" in out and "Texture material" in out


def test_texture_normals_make_sense(blank):
    bpy.ops.mapsmith.normal_map(image=grey_texture("gravel").name, subject="TEXTURE")
    image = bpy.data.images["gravel normals"]
    assert image.colorspace_settings.is_data and image.packed_file is not None
    n = decoded(image)
    assert np.allclose(np.linalg.norm(n, axis=2), 1.0, atol=1e-5)
    mean = n.reshape(-1, 3).mean(axis=0)
    assert mean[2] > 0.8 and abs(mean[0]) < 0.05 and abs(mean[1]) < 0.05
    assert n[..., 2].std() > 0.02                       # not flat: the stones show


def test_flip_green_gives_directx(blank):
    brick = grey_texture("brick")
    bpy.ops.mapsmith.normal_map(image=brick.name, subject="TEXTURE")
    bpy.ops.mapsmith.normal_map(image=brick.name, subject="TEXTURE", flip_green=True)
    gl, dx = (decoded(bpy.data.images[n]) for n in ("brick normals", "brick normals.001"))
    assert np.allclose(gl[..., 1], -dx[..., 1], atol=0.02)
    assert np.allclose(gl[..., 0], dx[..., 0], atol=1e-6)


def test_relief_mortar_lower_than_brick_faces(blank):
    from skimage import data
    grey = data.brick()
    assert bpy.ops.mapsmith.depth_relief(image=grey_texture("brick").name, resolution=512,
                                         smoothing=0.0, subject="AUTO") == {"FINISHED"}
    obj = bpy.data.objects["brick relief"]
    n = len(obj.data.vertices)
    assert n == 512 * 512                              # the whole picture, no cutout
    co = np.empty(n * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    co = co.reshape(n, 3)
    x, y = co[:, 0], co[:, 1]
    col = np.rint((x - x.min()) / np.ptp(x) * 511).astype(int)
    row = np.rint((y.max() - y) / np.ptp(y) * 511).astype(int)
    z = np.zeros((512, 512), np.float32)
    z[row, col] = co[:, 2]
    mortar = mortar_mask(grey)
    assert z[mortar].mean() < z[~mortar].mean() - 0.15 * np.ptp(z)


def test_a_flat_picture_makes_no_relief_but_a_flat_material(blank):
    image = new_image("plain.png", np.full((64, 64, 3), 128, np.uint8))
    objects, images = len(bpy.data.objects), len(bpy.data.images)
    with pytest.raises(RuntimeError, match="no texture .it is one flat colour"):
        bpy.ops.mapsmith.depth_relief(image=image.name, subject="TEXTURE")
    assert (len(bpy.data.objects), len(bpy.data.images)) == (objects, images)
    assert bpy.ops.mapsmith.normal_map(image=image.name) == {"FINISHED"}
    n = decoded(bpy.data.images["plain normals"])
    assert np.allclose(n[..., 2], 1.0, atol=1e-3)          # flat: facing the viewer


def edge_jump(a, axis):
    """Mean step across the wrap-around edge, and the mean step between interior
    neighbours, along ``axis``."""
    first, last = np.take(a, 0, axis=axis), np.take(a, -1, axis=axis)
    return np.abs(first - last).mean(), np.abs(np.diff(a, axis=axis)).mean()


def test_tileable_maps_continue_across_the_edges(blank):
    from skimage import data
    tile = seamless(data.gravel()[:256, :256])
    image = new_image("tile.png", np.dstack([tile] * 3))
    assert bpy.ops.mapsmith.normal_map(image=image.name, subject="TEXTURE",
                                       tileable=True) == {"FINISHED"}
    n = decoded(bpy.data.images["tile normals"])
    for axis in (0, 1):
        jump, inner = edge_jump(n, axis)
        assert jump < 1.5 * inner, (axis, jump, inner)
    assert bpy.ops.mapsmith.material_setup(image=image.name, subject="TEXTURE",
                                           tileable=True) == {"FINISHED"}
    height = top_first(bpy.data.images["tile height"])[..., 0]
    for axis in (0, 1):
        jump, inner = edge_jump(height, axis)
        assert jump < 1.5 * inner, (axis, jump, inner)


def _texture_nodes(material):
    tree = material.node_tree
    bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    output = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    return tree, bsdf, output


def check_texture_material(material, stem, tiling):
    tree, bsdf, output = _texture_nodes(material)
    mix, _ = linked(bsdf.inputs["Base Color"])
    photo, _ = linked(mix.inputs[6])
    assert photo.image.name == f"{stem}.png" and not photo.image.colorspace_settings.is_data
    ao, _ = linked(mix.inputs[7])
    cavity, _ = linked(ao.inputs["Value"])
    nmap, _ = linked(bsdf.inputs["Normal"])
    normals, _ = linked(nmap.inputs["Color"])
    disp, _ = linked(output.inputs["Displacement"])
    height, _ = linked(disp.inputs["Height"])
    assert disp.inputs["Midlevel"].default_value == pytest.approx(0.5)
    assert height.image.is_float
    mapping = tree.nodes["Mapsmith Mapping"]
    assert tuple(mapping.inputs["Scale"].default_value)[:2] == pytest.approx((tiling, tiling))
    for tex in (photo, cavity, normals, height):
        assert tex.extension == "REPEAT"
        assert linked(tex.inputs["Vector"])[0] == mapping
        assert tex.image.packed_file is not None or tex is photo
        if tex is not photo:
            assert tex.image.colorspace_settings.is_data
            assert tex.parent is not None and tex.parent.label      # framed, labelled
    return {tex.image.name: image_bytes(tex.image) for tex in (cavity, normals, height)}


def test_texture_material_survives_save_and_reopen(blank, tmp_path):
    brick = grey_texture("brick")
    brick.pack()
    assert bpy.ops.mapsmith.material_setup(image=brick.name, subject="TEXTURE",
                                           tiling=3.0) == {"FINISHED"}
    material = bpy.data.materials["brick texture material"]
    obj = bpy.data.objects["brick"]
    assert obj.active_material == material
    assert obj.modifiers["Mapsmith Subdivision"].render_levels == 8
    assert material.displacement_method == "DISPLACEMENT"   # the normal map shades
    before = check_texture_material(material, "brick", 3.0)
    path = str(tmp_path / "texture.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    after = check_texture_material(bpy.data.materials["brick texture material"], "brick", 3.0)
    assert before.keys() == after.keys()
    for name in before:
        assert np.array_equal(before[name], after[name]), name
    # Run again: the same material and plane are updated, nothing is added.
    counts = (len(bpy.data.materials), len(bpy.data.objects), len(bpy.data.images))
    mod("blender.datablocks")  # the add-on is enabled again after opening
    assert bpy.ops.mapsmith.material_setup(image="brick.png", subject="TEXTURE",
                                           tiling=2.0) == {"FINISHED"}
    assert (len(bpy.data.materials), len(bpy.data.objects), len(bpy.data.images)) == counts


def test_texture_material_on_the_active_objects_uvs(blank):
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.active_object
    brick = grey_texture("brick")
    objects = len(bpy.data.objects)
    assert bpy.ops.mapsmith.material_setup(image=brick.name, subject="TEXTURE",
                                           on_active_object=True) == {"FINISHED"}
    assert len(bpy.data.objects) == objects
    assert cube.active_material.name == "brick texture material"
    nmap = cube.active_material.node_tree.nodes["Mapsmith Normal Map"]
    assert nmap.uv_map == cube.data.uv_layers[0].name
    bpy.ops.object.select_all(action="DESELECT")
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="needs an active mesh object"):
        bpy.ops.mapsmith.material_setup(image=brick.name, subject="TEXTURE",
                                        on_active_object=True)


def test_tileable_cleanup_fills_across_the_edge(blank):
    from skimage import data
    rgb = np.dstack([seamless(data.grass()[:128, :128])] * 3)
    tex = new_image("grass tile.png", rgb)
    tex.pack()
    textured_plane(tex)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    where = disc((256, 256), 1, 120, 6)       # a mark cut by the left edge ...
    where |= disc((256, 256), 256, 120, 6)    # ... and its other half by the right edge
    paint(mask_of(tex), where)
    original = stored(tex)
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", tileable=True,
                                          grow=2) == {"FINISHED"}
    after = stored(bpy.data.images["grass tile.png"])
    changed = np.any(after != original, axis=2)
    assert changed[where].mean() > 0.5
    assert changed[:, :10].any() and changed[:, -10:].any()      # both sides of the edge
    assert not changed[:, 20:-20].any()                         # texel-exact elsewhere
    assert not changed[:100].any() and not changed[140:].any()
    # One mark, sent as one region around it (across the edge), not the texture's width.
    cache = mod("providers.cache")
    answer, _note = cache.ANSWERS.get(cache.ANSWERS.asked[-1])
    assert answer.shape[1] < 200           # (without Tileable: all 256 columns)


@pytest.mark.parametrize("tileable", [True, False])
def test_tileable_cleanup_takes_context_from_the_opposite_edge(blank, tileable):
    """A red band along the right edge: a mark at the left edge is sent to the provider with
    the band as its context (its neighbour across the edge) only when the texture wraps."""
    from skimage import data
    cache = mod("providers.cache")
    grey = data.grass()[:256, :256]
    rgb = np.dstack([grey] * 3)
    rgb[:, -12:] = (200, 30, 30)
    tex = new_image("banded.png", rgb)
    tex.pack()
    textured_plane(tex)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    where = disc((256, 256), 2, 120, 6)
    paint(mask_of(tex), where)
    original = stored(tex)
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", tileable=tileable,
                                          grow=1) == {"FINISHED"}
    after = stored(bpy.data.images["banded.png"]).astype(int)
    changed = np.any(after != original, axis=2)
    assert changed[where].mean() > 0.8
    assert not changed[:, 20:-20].any()                 # texel-exact away from the mark
    answer, _note = cache.ANSWERS.get(cache.ANSWERS.asked[-1])   # the region, filled
    red_columns = ((answer[..., 0].astype(int) - answer[..., 1]) > 100).all(axis=0)
    assert red_columns.sum() == (12 if tileable else 0)
    if tileable:                     # the band sits just left of the mark, as it wraps
        first = int(np.argmax(red_columns))
        assert np.all(red_columns[first:first + 12])


def test_tileable_cleanup_of_several_marks_undoes_in_one_step(blank):
    """Two marks cut by the edges (one by left/right, one by top/bottom) and one inside:
    cleaned wrapped, and one undo gives back every texel exactly."""
    from skimage import data
    rgb = np.dstack([seamless(data.gravel()[:128, :128])] * 3)
    tex = new_image("gravel tile.png", rgb)
    tex.pack()
    name = tex.name
    textured_plane(tex)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Paint Cleanup Mask")
    where = disc((256, 256), 0, 60, 5) | disc((256, 256), 256, 60, 5)
    where |= disc((256, 256), 180, 0, 5) | disc((256, 256), 180, 256, 5)
    where |= disc((256, 256), 120, 150, 5)
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="stroke")
    original = stored(tex)
    assert bpy.ops.mapsmith.cleanup_apply("EXEC_DEFAULT", True, provider="OFFLINE",
                                          tileable=True, grow=1) == {"FINISHED"}
    after = stored(bpy.data.images[name])
    changed = np.any(after != original, axis=2)
    assert changed[where].mean() > 0.8
    grown = np.zeros_like(where)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            grown |= np.roll(where, (dy, dx), axis=(0, 1))
    assert not changed[~grown].any()          # only at the marks, wrapped around the edges
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images[name]), original)
