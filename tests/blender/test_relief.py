"""mapsmith.depth_relief on a real portrait: geometry, material, failure, undo."""

import math
import time

import numpy as np
import pytest
from portrait import (  # noqa: F401
    image_bytes,
    linked,
    mod,
    offline,
    point_clipdrop_at_closed_port,
    portrait,
    snapshot,
)

import bpy

import bmesh
import mathutils


def _depth(image):
    rgb = (image_bytes(image)[..., :3] * 255).round().astype(np.uint8)
    return offline().depth(rgb).image


def _co(obj):
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def _mask(image):
    rgb = (image_bytes(image)[..., :3] * 255).round().astype(np.uint8)
    return offline().background(rgb, "MASK").image / np.float32(255)


@pytest.mark.parametrize("compression", ["LINEAR", "GRADIENT"])
def test_heights_follow_the_depth_map(portrait, compression):
    relief = mod("core.relief_mesh")
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, background="BASE",
                                  smoothing=0.0, relief_height=0.02, size=0.2, solid=False,
                                  compression=compression, detail=0.7)
    obj = bpy.data.objects["astronaut relief"]
    expected = relief.heights_only(_depth(portrait), 64, relief_height=0.02, smoothing=0.0,
                                   long_side=0.2, compression=compression, detail=0.7,
                                   alpha=_mask(portrait))
    rows, cols = expected.shape
    co = _co(obj)
    assert co.shape[0] == rows * cols == 64 * 64
    np.testing.assert_allclose(co[:, 2], expected.ravel(), atol=1e-6)
    assert co[:, 2].max() > 0.01                      # a real relief, not a flat plane
    # The image's top row is the mesh's +Y side: the head is up there.
    top, bottom = expected[: rows // 2].mean(), expected[rows // 2:].mean()
    assert np.isclose(co[co[:, 1] > 0, 2].mean(), top, rtol=0.1) or top == bottom


@pytest.mark.parametrize("resolution", [32, 200, 1024])
def test_vertex_count_follows_resolution(portrait, resolution):
    t0 = time.perf_counter()
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=resolution,
                                  background="BASE", solid=False)
    elapsed = time.perf_counter() - t0
    obj = bpy.context.active_object
    rows, cols = mod("core.relief_mesh").grid_shape((256, 256), resolution)
    assert len(obj.data.vertices) == rows * cols == resolution * resolution
    assert len(obj.data.polygons) == (rows - 1) * (cols - 1)
    print(f"\nrelief {resolution}x{resolution}: {elapsed:.2f} s")


def test_printable_relief_is_manifold_and_watertight(portrait):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=160, background="CUT",
                                  solid=True, thickness=0.004)
    obj = bpy.context.active_object
    bm = bmesh.new()
    bm.from_mesh(obj.data)
    try:
        assert len(bm.edges) > 0
        assert all(len(e.link_faces) == 2 for e in bm.edges)
        assert all(e.is_manifold for e in bm.edges)
        assert all(v.is_manifold for v in bm.verts)
        assert bm.calc_volume(signed=True) > 0        # closed, normals pointing outwards
    finally:
        bm.free()
    co = _co(obj)
    assert np.isclose(co[:, 2].min(), -0.004)


def test_relief_object_is_named_upright_at_the_cursor_with_the_photo(portrait):
    bpy.context.scene.cursor.location = (1.0, 2.0, 3.0)
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=48)
    obj = bpy.data.objects["astronaut relief"]
    assert bpy.context.active_object == obj and obj.select_get()
    assert tuple(obj.location) == pytest.approx((1.0, 2.0, 3.0))
    assert tuple(obj.rotation_euler) == pytest.approx((math.pi / 2, 0.0, 0.0))
    front = obj.matrix_world.to_3x3() @ mathutils.Vector((0, 0, 1))
    assert tuple(front) == pytest.approx((0, -1, 0), abs=1e-6)  # faces the front view
    assert obj.data.uv_layers.active is not None
    material = obj.active_material
    bsdf = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    tex, _ = linked(bsdf.inputs["Base Color"])
    assert tex.image == portrait
    assert portrait.colorspace_settings.name == "sRGB"


def test_displace_modifier_path(portrait):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, method="MODIFIERS", resolution=64,
                                  strength=0.1, size=0.2, background="CUT")
    obj = bpy.context.active_object
    assert [m.type for m in obj.modifiers] == ["SUBSURF", "DISPLACE"]
    displace = obj.modifiers[1]
    depth = displace.texture.image
    assert depth.name == "astronaut depth" and depth.colorspace_settings.name == "Non-Color"
    assert displace.texture_coords == "UV" and displace.mid_level == 0.0
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        z = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", z)
        z = z.reshape(-1, 3)[:, 2]
    finally:
        evaluated.to_mesh_clear()
    assert len(z) == 65 * 65
    # the same compression as the mesh: the peak is exactly Strength x Size
    assert z.max() == pytest.approx(0.02, rel=0.02) and z.min() >= -1e-6
    material = obj.active_material
    bsdf = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    node, socket = linked(bsdf.inputs["Alpha"])
    assert node.image == depth and socket.name == "Alpha"
    assert material.surface_render_method == "DITHERED"


def test_the_user_image_is_not_changed(portrait):
    before = image_bytes(portrait)
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=32)
    assert np.array_equal(image_bytes(portrait), before)


def test_failure_leaves_nothing_behind(portrait):
    point_clipdrop_at_closed_port()
    before = snapshot()
    with pytest.raises(RuntimeError):
        bpy.ops.mapsmith.depth_relief(image=portrait.name, provider="CLIPDROP")
    assert snapshot() == before


def test_a_failing_finish_rolls_back(portrait, monkeypatch):
    meshes = mod("blender.meshes")

    def broken(*args, **kwargs):
        raise ValueError("simulated failure while building")

    monkeypatch.setattr(meshes, "add_object", broken)
    before = snapshot()
    with pytest.raises(RuntimeError, match="simulated"):
        bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=32)
    assert snapshot() == before


def test_undo_returns_to_before(portrait):
    name = portrait.name
    before = snapshot()
    bpy.ops.ed.undo_push(message="before relief")
    bpy.ops.mapsmith.depth_relief(image=name, resolution=32)
    bpy.ops.ed.undo_push(message="relief")
    assert "astronaut relief" in bpy.data.objects
    bpy.ops.ed.undo()
    assert "astronaut relief" not in bpy.data.objects
    assert "astronaut relief" not in bpy.data.meshes
    assert name in bpy.data.images
    assert {k: [n for n, _ in v] for k, v in snapshot().items()} == \
        {k: [n for n, _ in v] for k, v in before.items()}


def test_solid_back_and_rim_get_a_plain_material(portrait):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, solid=True)
    obj = bpy.context.active_object
    names = [slot.material.name for slot in obj.material_slots]
    assert names == ["astronaut relief", "astronaut relief base"]
    index = np.empty(len(obj.data.polygons), np.int32)
    obj.data.polygons.foreach_get("material_index", index)
    normals = np.empty(len(obj.data.polygons) * 3, np.float32)
    obj.data.polygons.foreach_get("normal", normals)
    z = normals.reshape(-1, 3)[:, 2]                      # local +Z is the front
    assert (index[z > 0.5] == 0).all()                    # the relief's face: the photo
    assert (index[z < -0.99] == 1).all()                  # the flat back: plain
    assert (index == 1).sum() > (z < -0.99).sum()         # ... and the rim walls too
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, solid=True)
    assert sum(m.name.startswith("astronaut relief base") for m in bpy.data.materials) == 1


@pytest.mark.parametrize("solid", [False, True])
def test_the_face_is_smooth_and_back_and_rim_crisp(portrait, solid):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, solid=solid,
                                  background="BASE" if not solid else "CUT")
    mesh = bpy.context.active_object.data
    smooth = np.empty(len(mesh.polygons), bool)
    mesh.polygons.foreach_get("use_smooth", smooth)
    normals = np.empty(len(mesh.polygons) * 3, np.float32)
    mesh.polygons.foreach_get("normal", normals)
    z = normals.reshape(-1, 3)[:, 2]
    assert smooth[z > 0.5].all()                          # the face: smooth shading
    if solid:
        assert not smooth[z < -0.99].any()                # the flat back: crisp
        assert (~smooth).sum() > (z < -0.99).sum()        # ... and the rim walls too
    else:
        assert smooth.all()


def _trimesh(obj):
    import trimesh
    mesh = obj.data
    mesh.calc_loop_triangles()
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return trimesh.Trimesh(_co(obj) * 1000, tris.reshape(-1, 3), process=True)   # in mm


def test_default_solid_relief_prints(portrait):
    """The defaults print on a 0.4 mm nozzle: one watertight body, base >= 2 mm, the
    relief height as asked, every wall facet wider than the nozzle, no overhang (the front
    is a height field, the walls vertical), and a light back."""
    bpy.ops.mapsmith.depth_relief(image=portrait.name, solid=True)
    obj = bpy.context.active_object
    tm = _trimesh(obj)
    assert tm.is_watertight and tm.is_winding_consistent and tm.is_volume
    assert tm.body_count == 1
    co = _co(obj) * 1000
    props = bpy.context.window_manager.operator_properties_last("mapsmith.depth_relief")
    assert props.compression == "GRADIENT" and props.thickness >= 0.002
    assert co[:, 2].max() == pytest.approx(props.relief_height * 1000, rel=1e-3)
    assert co[:, 2].min() == pytest.approx(-props.thickness * 1000, rel=1e-3)
    # vertical walls: every face is either facing up (front), down (back) or sideways
    normals = tm.face_normals
    assert np.all((normals[:, 2] > 0.0) | (normals[:, 2] < -0.999) | (np.abs(normals[:, 2]) < 1e-3))
    walls = np.abs(normals[:, 2]) < 1e-3
    corners = tm.vertices[tm.faces[walls]]
    longest = np.linalg.norm(corners - corners[:, [1, 2, 0]], axis=2).max(axis=1)
    narrowness = 2.0 * tm.area_faces[walls] / longest      # the triangle's smallest height
    assert narrowness.min() >= 0.4
    # light: the back is triangulated from its outline, not a copy of the front grid
    down = normals[:, 2] < -0.999
    assert down.sum() < 0.1 * (normals[:, 2] > 0).sum()


def test_strength_is_an_alias_of_relief_height(portrait):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, strength=0.05, size=0.3)
    assert _co(bpy.context.active_object)[:, 2].max() == pytest.approx(0.015, rel=1e-3)
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, strength=0.05,
                                  relief_height=0.004)         # relief_height wins
    assert _co(bpy.context.active_object)[:, 2].max() == pytest.approx(0.004, rel=1e-3)


def test_engrave_cuts_into_the_plate(portrait):
    bpy.ops.mapsmith.depth_relief(image=portrait.name, resolution=64, engrave=True,
                                  background="BASE", solid=True, relief_height=0.005,
                                  thickness=0.002)
    z = _co(bpy.context.active_object)[:, 2]
    assert z.max() == pytest.approx(0.0, abs=1e-7)
    assert z.min() == pytest.approx(-0.007, rel=1e-3)


def test_a_photo_without_a_subject_gets_a_message_and_nothing_is_made(blank):
    from blhelpers import new_image
    image = new_image("empty wall", np.full((64, 64, 3), 128, np.uint8))
    before = snapshot()
    with pytest.raises(RuntimeError, match="no subject"):
        bpy.ops.mapsmith.depth_relief(image=image.name)
    assert snapshot() == before
