"""Issue 11 items 1 and 3: every image Mapsmith makes survives save + reopen, and results
belong to the source data-block, not to its name's stem."""

import numpy as np
import pytest
from blhelpers import load_astronaut, new_image
from portrait import image_bytes, portrait  # noqa: F401

import bpy

RUNS = [
    ("normal_map", {}),
    ("remove_background", {"mode": "CUTOUT"}),
    ("remove_background", {"mode": "CUTOUT_SHADOW"}),
    ("remove_background", {"mode": "MASK"}),
    ("depth_relief", {"method": "MODIFIERS", "resolution": 32}),
    ("material_setup", {}),
]


def _save_and_reopen(path):
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))


@pytest.mark.parametrize("op, kwargs", RUNS,
                         ids=[f"{op}-{kw.get('mode', kw.get('method', ''))}" for op, kw in RUNS])
def test_every_result_image_survives_save_and_reopen(portrait, tmp_path, op, kwargs):
    before = set(bpy.data.images.keys())
    assert getattr(bpy.ops.mapsmith, op)(image=portrait.name, **kwargs) == {"FINISHED"}
    made = {name: (image_bytes(bpy.data.images[name]), bpy.data.images[name].is_float)
            for name in bpy.data.images.keys() if name not in before}
    assert made
    portrait.pack()           # the test's own source is a generated image: keep it too
    _save_and_reopen(tmp_path / "saved.blend")
    for name, (pixels, is_float) in made.items():
        image = bpy.data.images.get(name)
        assert image is not None, f"{name} was dropped on save"
        assert image.packed_file is not None, name
        got = image_bytes(image)
        assert got.shape == pixels.shape, name
        assert np.abs(got - pixels).max() <= (2e-3 if is_float else 0.5 / 255), name
        assert pixels[..., :3].max() > 0.0, name       # not a black image to begin with


def _photo_of(obj):
    return obj.active_material.node_tree.nodes["Mapsmith Photo"].image


def test_images_with_the_same_stem_keep_their_own_results(blank, tmp_path):
    from PIL import Image
    from skimage import data
    png = load_astronaut("face.png", size=96)
    wide = np.asarray(Image.fromarray(data.astronaut()).resize((144, 96)))
    jpg = new_image("face.jpg", wide)
    bpy.ops.mapsmith.material_setup(image="face.png")
    plane_png = bpy.context.active_object
    material_png = plane_png.active_material
    bpy.ops.mapsmith.material_setup(image="face.jpg")
    plane_jpg = bpy.context.active_object
    assert plane_jpg != plane_png and plane_jpg.active_material != material_png
    assert (plane_png.name, material_png.name) == ("face", "face material")
    assert (plane_jpg.name, plane_jpg.active_material.name) == ("face.001", "face material.001")
    assert _photo_of(plane_png) == png and _photo_of(plane_jpg) == jpg
    assert tuple(plane_png.dimensions)[:2] == pytest.approx((1.0, 1.0))    # not resized
    assert tuple(plane_jpg.dimensions)[:2] == pytest.approx((1.5, 1.0))
    nodes = material_png.node_tree.nodes
    assert nodes["Mapsmith Normals"].image.name == "face normals"
    assert plane_jpg.active_material.node_tree.nodes["Mapsmith Normals"].image.name == \
        "face normals.001"

    # Ownership follows the image through a rename and a save + reopen.
    png.name = "renamed.png"
    png.pack()
    jpg.pack()
    _save_and_reopen(tmp_path / "stems.blend")
    counts = (len(bpy.data.materials), len(bpy.data.objects), len(bpy.data.images))
    bpy.ops.mapsmith.material_setup(image="renamed.png", height=2.0)
    assert (len(bpy.data.materials), len(bpy.data.objects), len(bpy.data.images)) == counts
    plane_png = bpy.data.objects["face"]
    assert tuple(plane_png.dimensions)[:2] == pytest.approx((2.0, 2.0))
    assert _photo_of(plane_png) == bpy.data.images["renamed.png"]
    assert tuple(bpy.data.objects["face.001"].dimensions)[:2] == pytest.approx((1.5, 1.0))


def test_the_render_does_not_take_over_an_image_named_render(blank):
    image = load_astronaut("Render.png", size=64)
    bpy.ops.mapsmith.material_setup(image="Render.png")
    plane = bpy.context.active_object
    material = plane.active_material

    scene = bpy.context.scene
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.0, -3.0, 0.0)
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.render.resolution_x, scene.render.resolution_y = 48, 32
    bpy.ops.render.render()
    # A 48 x 32 render is too small for Auto to find the face: ask for the portrait route.
    assert bpy.ops.mapsmith.material_setup(image="Render Result",
                                           subject="PORTRAIT") == {"FINISHED"}
    render_plane = bpy.context.active_object
    assert render_plane != plane and render_plane.active_material != material
    assert render_plane.name == "Render.001"
    assert render_plane.active_material.name == "Render material.001"
    assert _photo_of(render_plane).name == "Render photo"
    assert _photo_of(plane) == image
    assert tuple(plane.dimensions)[:2] == pytest.approx((1.0, 1.0))
    assert tuple(render_plane.dimensions)[:2] == pytest.approx((1.5, 1.0))
    # Running on the render again updates the render's own material and plane.
    counts = (len(bpy.data.materials), len(bpy.data.objects))
    bpy.ops.mapsmith.material_setup(image="Render Result", subject="PORTRAIT")
    assert (len(bpy.data.materials), len(bpy.data.objects)) == counts
