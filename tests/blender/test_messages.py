"""Inputs that used to end in a traceback or a wrong message (issue 11, items 10 and 11).

The last render as the source (headless Render Result has no readable pixels: it is saved to
a temporary file and read back), an empty Render Result passed by name, and an offline
cleanup whose mask covers the whole texture. The remote-settings cases (a malformed URL,
timeout_s = NaN) are in test_remote_providers.py.
"""

import numpy as np
import pytest
from blhelpers import new_image

import bpy

RENDER_SIZE = (40, 30)


def message(err: RuntimeError) -> str:
    text = str(err).strip()
    return text[len("Error: "):] if text.startswith("Error: ") else text


def render_scene():
    """A camera looking at a red emissive plane on a grey world; Cycles, one sample."""
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = RENDER_SIZE
    scene.render.resolution_percentage = 100
    world = bpy.data.worlds.new("World")
    scene.world = world
    world.color = (0.2, 0.2, 0.2)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, 0.0, 3.0)
    scene.camera = cam
    bpy.ops.mesh.primitive_plane_add(size=1.0)
    mat = bpy.data.materials.new("Red")
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    tree = mat.node_tree
    tree.nodes.clear()
    emit = tree.nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (1.0, 0.0, 0.0, 1.0)
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(emit.outputs[0], out.inputs["Surface"])
    bpy.context.active_object.data.materials.append(mat)
    bpy.context.view_layer.objects.active = None


def new_results(before):
    return [i for i in bpy.data.images if i.name not in before and i.name != "Render Result"]


def test_image_empty_after_a_scripted_render_uses_the_render(blank):
    """The README: with no image in the context, the last render is the source."""
    render_scene()
    bpy.ops.render.render()
    assert not bpy.data.images["Render Result"].has_data   # why has_data cannot be the test
    before = {i.name for i in bpy.data.images}
    assert bpy.ops.mapsmith.remove_background(image="", provider="OFFLINE",
                                              mode="MASK") == {"FINISHED"}
    (mask,) = new_results(before)
    assert tuple(mask.size) == RENDER_SIZE


def test_render_result_by_name_after_a_scripted_render(blank):
    render_scene()
    bpy.ops.render.render()
    before = {i.name for i in bpy.data.images}
    assert bpy.ops.mapsmith.remove_background(image="Render Result", provider="OFFLINE",
                                              mode="MASK") == {"FINISHED"}
    (mask,) = new_results(before)
    assert tuple(mask.size) == RENDER_SIZE


@pytest.fixture
def empty_render_result(blank, tmp_path):
    """A file reopened after a render: the Render Result image is there, its pixels are not."""
    render_scene()
    bpy.ops.render.render()
    path = tmp_path / "rendered.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert "Render Result" in bpy.data.images
    return bpy.data.images["Render Result"]


def test_an_empty_render_result_by_name_says_render_first(empty_render_result):
    before = sorted(i.name for i in bpy.data.images)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.remove_background(image="Render Result", provider="OFFLINE")
    assert message(caught.value) == ('"Render Result" holds no render yet: render first (F12, '
                                     "or bpy.ops.render.render() in a script), or choose "
                                     "another image")
    assert sorted(i.name for i in bpy.data.images) == before


def test_an_empty_render_result_from_context_says_render_first(empty_render_result):
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.normal_map(image="", provider="OFFLINE")
    assert message(caught.value) == ("No image: open one in the Image Editor, select an Image "
                                     "Texture node, or render first")


def test_offline_cleanup_of_a_fully_masked_texture_says_what_to_do(blank):
    rgb = np.random.default_rng(3).integers(0, 256, (48, 64, 3), np.uint8)
    tex = new_image("wall", rgb)
    bpy.ops.mesh.primitive_plane_add(size=2)
    obj = bpy.context.active_object
    mat = bpy.data.materials.new("Painted")
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = tex
    mat.node_tree.nodes.active = node
    obj.data.materials.append(mat)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    mask = bpy.data.images[tex.name + " cleanup mask"]
    mask.pixels.foreach_set(np.ones(len(mask.pixels), np.float32))    # every texel painted
    before = np.empty(len(tex.pixels), np.float32)
    tex.pixels.foreach_get(before)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE")
    assert message(caught.value) == ("The mask covers the whole image: there is nothing to fill "
                                     "it from. Paint only over what should go, leaving some of "
                                     "the texture unpainted")
    after = np.empty(len(tex.pixels), np.float32)
    tex.pixels.foreach_get(after)
    assert np.array_equal(before, after)
