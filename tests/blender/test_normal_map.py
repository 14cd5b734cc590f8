"""mapsmith.normal_map on a real portrait: the image, its colour space, the node wiring."""

import numpy as np
import pytest
from portrait import (  # noqa: F401
    image_bytes,
    linked,
    mod,
    offline,
    point_clipdrop_at_closed_port,
    portrait,
    rgb_of,
    snapshot,
)

import bpy


def _rgb(image):
    return (image_bytes(image)[..., :3] * 255).round().astype(np.uint8)


def _bsdf(material):
    return next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")


def _mesh_with_material():
    mesh = bpy.data.meshes.new("Card")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)], [], [(0, 1, 2, 3)])
    mesh.uv_layers.new(name="UVMap")
    material = bpy.data.materials.new("Skin")
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True       # always on (and deprecated) from 5.0
    mesh.materials.append(material)
    obj = bpy.data.objects.new("Card", mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj, material


def _check_wiring(material, image):
    bsdf = _bsdf(material)
    nmap, socket = linked(bsdf.inputs["Normal"])
    assert nmap.bl_idname == "ShaderNodeNormalMap" and socket.name == "Normal"
    assert nmap.space == "TANGENT"
    tex, socket = linked(nmap.inputs["Color"])
    assert tex.bl_idname == "ShaderNodeTexImage" and socket.name == "Color"
    assert tex.image == image
    assert tex.parent is not None and tex.parent.label == "Normal Map"
    return nmap


def test_wired_into_the_active_objects_material(portrait):
    obj, material = _mesh_with_material()
    bpy.ops.mapsmith.normal_map(image=portrait.name, from_depth=False, flip_green=False)
    image = bpy.data.images["astronaut normals"]
    assert image.colorspace_settings.name == "Non-Color"
    nmap = _check_wiring(material, image)
    assert nmap.uv_map == "UVMap"
    assert obj.active_material == material and len(bpy.data.objects) == 1


def test_pixels_are_the_providers_bytes_and_background_is_flat(portrait):
    expected = offline().normals(_rgb(portrait)).image[..., :3]
    bpy.ops.mapsmith.normal_map(image=portrait.name, from_depth=False, flip_green=False)
    got = rgb_of(bpy.data.images["astronaut normals"])
    # Colour space was set before the pixels: the bytes arrive unchanged.
    assert np.abs(got - expected).max() <= 1
    background = np.all(expected == (128, 128, 255), axis=-1)
    assert background.any()
    assert np.all(got[background] == (128, 128, 255))


def test_new_photo_plane_when_there_is_no_active_mesh(portrait):
    bpy.ops.mapsmith.normal_map(image=portrait.name, height=2.0)
    obj = bpy.context.active_object
    assert obj.name == "astronaut" and obj.type == "MESH"
    assert tuple(obj.dimensions)[:2] == pytest.approx((2.0, 2.0))   # square photo, 2 m tall
    material = obj.active_material
    tex, _ = linked(_bsdf(material).inputs["Base Color"])
    assert tex.image == portrait
    _check_wiring(material, bpy.data.images["astronaut normals"])


def test_flip_green_negates_y_only(portrait):
    bpy.ops.mapsmith.normal_map(image=portrait.name, flip_green=False)
    bpy.context.view_layer.objects.active = None
    bpy.ops.mapsmith.normal_map(image=portrait.name, flip_green=True)
    opengl = rgb_of(bpy.data.images["astronaut normals"])
    directx = rgb_of(bpy.data.images["astronaut normals.001"])
    assert np.array_equal(directx[..., 1], 255 - opengl[..., 1])
    assert np.array_equal(directx[..., [0, 2]], opengl[..., [0, 2]])


def test_from_depth_uses_core_normals(portrait):
    normals = mod("core.normals")
    depth = offline().depth(_rgb(portrait)).image
    expected = normals.normals_from_depth(depth, 1.5)
    bpy.ops.mapsmith.normal_map(image=portrait.name, from_depth=True, depth_strength=1.5)
    got = rgb_of(bpy.data.images["astronaut normals"])
    assert np.abs(got - expected).max() <= 1
    assert np.all(got[depth <= 0] == (128, 128, 255))
    assert (np.abs(got[depth > 0].astype(int) - (128, 128, 255)).sum(-1) > 8).mean() > 0.3


def test_failure_leaves_nothing_behind(portrait):
    point_clipdrop_at_closed_port()
    before = snapshot()
    with pytest.raises(RuntimeError):
        bpy.ops.mapsmith.normal_map(image=portrait.name, provider="CLIPDROP")
    assert snapshot() == before


def test_undo_returns_to_before(portrait):
    _obj, _material = _mesh_with_material()
    bpy.ops.ed.undo_push(message="before normals")
    bpy.ops.mapsmith.normal_map(image=portrait.name)
    bpy.ops.ed.undo_push(message="normals")
    assert "astronaut normals" in bpy.data.images
    bpy.ops.ed.undo()
    assert "astronaut normals" not in bpy.data.images
    material = bpy.data.materials["Skin"]          # look it up again: old references are stale
    assert not _bsdf(material).inputs["Normal"].is_linked
    assert "Mapsmith Normal Map" not in material.node_tree.nodes
