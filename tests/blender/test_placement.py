"""Photo plane placement like Images as Planes: align to the view or the camera, at the cursor
or the origin, sized by height, camera frame or pixels per unit; Shadeless / Emission.

The camera checks use Blender's own projection (bpy_extras.object_utils.world_to_camera_view),
and the Shadeless check renders with Cycles in a scene without any light.
"""

import math

import numpy as np
import pytest
from blhelpers import load_astronaut, new_image

import bpy

from bpy_extras.object_utils import world_to_camera_view
from mathutils import Euler, Vector


def corners(obj):
    """The plane's world-space corners."""
    return [obj.matrix_world @ v.co for v in obj.data.vertices]


def camera_scene(ortho=False):
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = 1920, 1080
    scene.render.resolution_percentage = 100
    data = bpy.data.cameras.new("cam")
    if ortho:
        data.type = "ORTHO"
        data.ortho_scale = 4.0
    cam = bpy.data.objects.new("cam", data)
    scene.collection.objects.link(cam)
    cam.location = (1.0, -8.0, 0.5)
    cam.rotation_euler = (math.radians(80), 0.0, math.radians(10))
    scene.camera = cam
    # The 3D cursor straight ahead of the camera, 6 units away.
    forward = cam.rotation_euler.to_quaternion() @ Vector((0, 0, -1))
    scene.cursor.location = Vector(cam.location) + 6.0 * forward
    bpy.context.view_layer.update()
    return scene, cam


def in_camera(scene, cam, obj):
    views = [world_to_camera_view(scene, cam, co) for co in corners(obj)]
    xs, ys, zs = [v.x for v in views], [v.y for v in views], [v.z for v in views]
    return (min(xs), max(xs)), (min(ys), max(ys)), zs


@pytest.mark.parametrize("ortho", [False, True])
def test_camera_aligned_plane_fits_the_camera_frame(blank, ortho):
    scene, cam = camera_scene(ortho)
    load_astronaut(size=64)                          # square photo in a 16:9 frame
    assert bpy.ops.mapsmith.remove_background(
        image="astronaut.png", align="CAMERA", size_mode="CAMERA", fill_mode="FIT") == {"FINISHED"}
    obj = bpy.data.objects["astronaut cutout"]
    assert obj.matrix_world.to_quaternion().rotation_difference(
        cam.matrix_world.to_quaternion()).angle == pytest.approx(0.0, abs=1e-5)
    (x0, x1), (y0, y1), zs = in_camera(scene, cam, obj)
    assert (y0, y1) == pytest.approx((0.0, 1.0), abs=1e-4)        # touches top and bottom
    assert (x0 + x1) / 2 == pytest.approx(0.5, abs=1e-4)           # centred
    assert x1 - x0 == pytest.approx(1080 / 1920, abs=1e-4)         # square on screen
    assert zs == pytest.approx([6.0] * 4, abs=1e-4)                # at the cursor's distance
    assert Vector(obj.location) == Vector(scene.cursor.location)


def test_fill_covers_the_whole_frame(blank):
    scene, cam = camera_scene()
    load_astronaut(size=64)
    assert bpy.ops.mapsmith.remove_background(
        image="astronaut.png", align="CAMERA", size_mode="CAMERA", fill_mode="FILL") == {"FINISHED"}
    (x0, x1), (y0, y1), _ = in_camera(scene, cam, bpy.data.objects["astronaut cutout"])
    assert (x0, x1) == pytest.approx((0.0, 1.0), abs=1e-4)
    assert y0 < -0.3 and y1 > 1.3                                  # the overhang


def test_pixels_per_unit_and_origin(blank):
    new_image("wide.png", np.full((50, 200, 3), 128, np.uint8))
    bpy.context.scene.cursor.location = (3.0, 2.0, 1.0)
    assert bpy.ops.mapsmith.material_setup(
        image="wide.png", size_mode="PIXELS", pixels_per_unit=100.0, at_cursor=False,
        use_cutout=False, use_normals=False, use_displacement=False) == {"FINISHED"}
    obj = bpy.data.objects["wide"]
    assert tuple(obj.dimensions)[:2] == pytest.approx((2.0, 0.5))
    assert tuple(obj.location) == (0.0, 0.0, 0.0)
    assert tuple(obj.rotation_euler) == pytest.approx((math.pi / 2, 0.0, 0.0))   # Front


def test_view_aligned_plane_faces_the_3d_view(blank):
    load_astronaut(size=64)
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = "VIEW_3D"
    region = next(r for r in area.regions if r.type == "WINDOW")
    r3d = area.spaces.active.region_3d
    r3d.view_rotation = Euler((math.radians(60), 0.0, math.radians(-35))).to_quaternion()
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert bpy.ops.mapsmith.normal_map(image="astronaut.png", align="VIEW",
                                           height=2.0) == {"FINISHED"}
    obj = bpy.data.objects["astronaut"]
    front = obj.matrix_world.to_quaternion() @ Vector((0, 0, 1))
    towards_viewer = r3d.view_rotation @ Vector((0, 0, 1))
    assert front.dot(towards_viewer) == pytest.approx(1.0, abs=1e-5)
    assert obj.dimensions.y == pytest.approx(2.0)


def test_align_to_view_without_a_3d_view_says_so_before_anything(blank):
    load_astronaut(size=64)
    with pytest.raises(RuntimeError, match="Align to View needs a 3D View"):
        bpy.ops.mapsmith.remove_background(image="astronaut.png", align="VIEW")
    with pytest.raises(RuntimeError, match="no active camera"):
        bpy.ops.mapsmith.remove_background(image="astronaut.png", size_mode="CAMERA")
    assert set(bpy.data.images.keys()) == {"astronaut.png"} and not bpy.data.objects


def _surface_node(material):
    output = next(n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    return output.inputs["Surface"].links[0].from_node


def test_shader_choices_switch_cleanly(blank):
    load_astronaut(size=64)
    kw = dict(image="astronaut.png", use_normals=False, use_displacement=False)
    assert bpy.ops.mapsmith.material_setup(shader="SHADELESS", **kw) == {"FINISHED"}
    material = bpy.data.materials["astronaut material"]
    mix = _surface_node(material)
    assert mix.bl_idname == "ShaderNodeMixShader"                     # cutout kept: by alpha
    assert {mix.inputs[1].links[0].from_node.bl_idname,
            mix.inputs[2].links[0].from_node.bl_idname} == {"ShaderNodeBsdfTransparent",
                                                             "ShaderNodeEmission"}
    assert bpy.ops.mapsmith.material_setup(shader="EMISSION", **kw) == {"FINISHED"}
    bsdf = _surface_node(material)
    assert bsdf.bl_idname == "ShaderNodeBsdfPrincipled"
    assert bsdf.inputs["Emission Color"].links[0].from_node.name == "Mapsmith Photo"
    assert bsdf.inputs["Emission Strength"].default_value == 1.0
    assert not any(n.name.startswith("Mapsmith Shadeless") for n in material.node_tree.nodes)
    assert bpy.ops.mapsmith.material_setup(shader="PRINCIPLED", **kw) == {"FINISHED"}
    assert not bsdf.inputs["Emission Color"].is_linked
    assert bsdf.inputs["Emission Strength"].default_value == 0.0
    assert len([o for o in bpy.data.objects if o.type == "MESH"]) == 1


def _render_mean(tmp_path, name):
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 4
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 32
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(tmp_path / name)
    bpy.ops.render.render(write_still=True)
    from PIL import Image
    with Image.open(tmp_path / name) as im:
        return np.asarray(im.convert("RGB"), np.float32).mean(axis=(0, 1))


def test_shadeless_reference_plane_shows_the_photo_without_any_light(blank, tmp_path):
    """No lamp, no world: a Principled plane renders black, a Shadeless one the photo."""
    scene, cam = camera_scene()
    scene.world = None                     # no world light at all (5.0's new worlds glow grey)
    colour = np.array([200, 120, 40], np.uint8)
    new_image("swatch.png", np.broadcast_to(colour, (32, 32, 3)).copy())
    kw = dict(image="swatch.png", align="CAMERA", size_mode="CAMERA", fill_mode="FILL",
              use_cutout=False, use_normals=False, use_displacement=False)
    assert bpy.ops.mapsmith.material_setup(shader="PRINCIPLED", **kw) == {"FINISHED"}
    assert _render_mean(tmp_path, "lit.png").max() < 10
    assert bpy.ops.mapsmith.material_setup(shader="SHADELESS", **kw) == {"FINISHED"}
    assert _render_mean(tmp_path, "shadeless.png") == pytest.approx(colour, abs=3)


@pytest.mark.parametrize("name", ["remove_background", "material_setup", "normal_map"])
def test_placement_options_are_drawn_for_each_size_mode(blank, name):
    from test_places import Layout
    cls = getattr(bpy.types, f"MAPSMITH_OT_{name}")
    props = bpy.context.window_manager.operator_properties_last(f"mapsmith.{name}")
    shown = {}
    for mode in ("HEIGHT", "CAMERA", "PIXELS"):
        props.size_mode = mode
        log = []
        cls.draw_options(Layout(log), props)
        shown[mode] = {entry[1] for entry in log if entry[0] == "prop"}
    common = {"align", "at_cursor", "size_mode", "shader"}
    assert common | {"height"} <= shown["HEIGHT"]
    assert common | {"fill_mode"} <= shown["CAMERA"] and "height" not in shown["CAMERA"]
    assert common | {"pixels_per_unit"} <= shown["PIXELS"]


def test_trimmed_cutout_follows_the_size(blank):
    load_astronaut(size=64)
    assert bpy.ops.mapsmith.remove_background(
        image="astronaut.png", trim=True, trim_resolution=32, size_mode="PIXELS",
        pixels_per_unit=16.0) == {"FINISHED"}
    obj = bpy.data.objects["astronaut cutout"]
    co = np.array([v.co[:] for v in obj.data.vertices])
    # 64 px at 16 px per unit: a 4 x 4 plane, trimmed to the person inside it.
    assert co[:, 0].min() >= -2.0 - 1e-4 and co[:, 0].max() <= 2.0 + 1e-4
    assert co[:, 1].min() >= -2.0 - 1e-4 and co[:, 1].max() <= 2.0 + 1e-4
    assert co[:, 1].max() - co[:, 1].min() > 2.0          # the astronaut fills most of it
