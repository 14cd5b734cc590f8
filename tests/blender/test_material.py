"""mapsmith.material_setup: one click, three provider calls, one self-contained material."""

import numpy as np
import pytest

import bpy

from portrait import (ID_COLLECTIONS, image_bytes, linked, point_clipdrop_at_closed_port,  # noqa: F401
                      portrait, snapshot)


def _bsdf(material):
    return next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")


def _output(material):
    return next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")


def _check_material(material, photo):
    bsdf, output = _bsdf(material), _output(material)
    assert linked(output.inputs["Surface"])[0] == bsdf
    tex, _ = linked(bsdf.inputs["Base Color"])
    assert tex.image == photo
    mask, _ = linked(bsdf.inputs["Alpha"])
    assert mask.image.name == "astronaut mask"
    assert mask.image.colorspace_settings.name == "Non-Color"
    assert material.surface_render_method == "DITHERED"
    nmap, _ = linked(bsdf.inputs["Normal"])
    assert nmap.bl_idname == "ShaderNodeNormalMap"
    normals, _ = linked(nmap.inputs["Color"])
    assert normals.image.name == "astronaut normals"
    assert normals.image.colorspace_settings.name == "Non-Color"
    disp, _ = linked(output.inputs["Displacement"])
    assert disp.bl_idname == "ShaderNodeDisplacement"
    depth, _ = linked(disp.inputs["Height"])
    assert depth.image.name == "astronaut depth" and depth.image.is_float
    assert depth.image.colorspace_settings.name == "Non-Color"
    assert disp.inputs["Midlevel"].default_value == 0.0
    assert material.displacement_method == "BOTH"
    labels = {n.label for n in material.node_tree.nodes if n.bl_idname == "NodeFrame"}
    assert labels == {"Photo", "Cutout", "Normal Map", "Displacement"}
    for image in (mask.image, normals.image, depth.image):
        assert image.packed_file is not None, image.name
    return mask.image, normals.image, depth.image


def test_one_click_material(portrait):
    before = image_bytes(portrait)
    bpy.ops.mapsmith.material_setup(image=portrait.name)
    obj = bpy.context.active_object
    assert obj.name == "astronaut"
    assert tuple(obj.dimensions)[:2] == pytest.approx((1.0, 1.0))
    assert [m.type for m in obj.modifiers] == ["SUBSURF"]
    mask, normals, depth = _check_material(obj.active_material, portrait)
    assert obj.active_material.name == "astronaut material"
    alpha = image_bytes(mask)[..., 0]
    assert 0.05 < (alpha > 0.5).mean() < 0.95
    assert np.array_equal(image_bytes(portrait), before)


def test_rerun_updates_instead_of_duplicating(portrait):
    bpy.ops.mapsmith.material_setup(image=portrait.name)
    obj = bpy.context.active_object
    first = {name: len(getattr(bpy.data, name)) for name in ID_COLLECTIONS}
    n_nodes = len(obj.active_material.node_tree.nodes)
    assert n_nodes == 12      # 4 frames; photo, mask, normals, depth; normal map, displacement;
    #                           BSDF and output
    pointers = {name: {i.as_pointer() for i in getattr(bpy.data, name)} for name in ID_COLLECTIONS}
    bpy.ops.mapsmith.material_setup(image=portrait.name, height=2.0, displacement=0.3)
    assert {name: len(getattr(bpy.data, name)) for name in ID_COLLECTIONS} == first
    assert {name: {i.as_pointer() for i in getattr(bpy.data, name)}
            for name in ID_COLLECTIONS} == pointers
    assert len(obj.active_material.node_tree.nodes) == n_nodes
    assert tuple(obj.dimensions)[:2] == pytest.approx((2.0, 2.0))
    disp = obj.active_material.node_tree.nodes["Mapsmith Displacement"]
    assert disp.inputs["Scale"].default_value == pytest.approx(0.3)
    _check_material(obj.active_material, portrait)


def test_saved_file_is_self_contained(portrait, tmp_path):
    bpy.ops.mapsmith.material_setup(image=portrait.name)
    portrait.pack()           # the test's own source image is generated: keep it too
    path = str(tmp_path / "portrait.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    for name in ("astronaut mask", "astronaut normals", "astronaut depth"):
        image = bpy.data.images[name]
        assert image.packed_file is not None
        assert image.colorspace_settings.name == "Non-Color"
        assert image.has_data or image.size[0] == 256
        assert tuple(image.size) == (256, 256)
    normals = image_bytes(bpy.data.images["astronaut normals"])
    assert np.abs(normals[0, 0, :3] * 255 - (128, 128, 255)).max() <= 1


def test_one_failing_provider_leaves_nothing_behind(portrait):
    point_clipdrop_at_closed_port()
    before = snapshot()
    with pytest.raises(RuntimeError, match="ClipDrop"):
        bpy.ops.mapsmith.material_setup(image=portrait.name, provider="CLIPDROP")
    assert snapshot() == before


def test_undo_returns_to_before(portrait):
    names = {k: [n for n, _ in v] for k, v in snapshot().items()}
    bpy.ops.ed.undo_push(message="before material")
    bpy.ops.mapsmith.material_setup(image=portrait.name)
    bpy.ops.ed.undo_push(message="material")
    bpy.ops.ed.undo()
    assert {k: [n for n, _ in v] for k, v in snapshot().items()} == names


def test_sub_panels_show_each_operators_options(portrait):
    for space in ("view3d", "image"):
        for op in ("depth_relief", "normal_map", "remove_background", "material_setup"):
            panel = getattr(bpy.types, f"MAPSMITH_PT_{space}_{op}")
            assert panel.bl_parent_id == f"MAPSMITH_PT_{space}"
    props = bpy.context.window_manager.operator_properties_last("mapsmith.material_setup")
    assert props.use_cutout and props.use_normals and props.use_displacement
    assert props.height == pytest.approx(1.0)
