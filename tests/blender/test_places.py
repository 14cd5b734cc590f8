"""Mapsmith where artists work: Shader Editor panel, Add > Mesh, Image menu, Texture Paint.

Headless Blender has no window to draw in, so the panels' and menus' ``draw`` run against a
recording stand-in for ``UILayout``: it records what would be shown and checks that every
operator and property drawn really exists (an unknown name raises, as Blender would log).
"""

import pytest
from blhelpers import PKG, disable, enable, load_astronaut

import bpy


class Layout:
    """Records operator / menu / label / prop calls; ``enabled`` follows the parent chain."""

    def __init__(self, log, parent=None):
        self.log, self.parent = log, parent
        self.enabled = self.active = True
        self.use_property_split = self.use_property_decorate = False
        self.operator_context = "INVOKE_DEFAULT"

    def _on(self):
        return self.enabled and (self.parent is None or self.parent._on())

    def _child(self, *_args, **_kw):
        return Layout(self.log, self)

    row = column = box = split = column_flow = grid_flow = _child

    def operator(self, idname, text=None, icon="NONE", **_kw):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()   # raises if unknown
        props = _Props(rna.properties.keys())
        self.log.append(("operator", idname, text, self._on(), props))
        return props

    def menu(self, idname, text=None, icon="NONE", **_kw):
        assert hasattr(bpy.types, idname), idname
        self.log.append(("menu", idname, text, self._on(), None))

    def label(self, text="", icon="NONE", **_kw):
        self.log.append(("label", text, None, self._on(), None))

    def prop(self, data, name, **_kw):
        assert name in data.bl_rna.properties.keys(), name
        self.log.append(("prop", name, None, self._on(), None))

    def separator(self, **_kw):
        pass


class _Props:
    def __init__(self, names):
        object.__setattr__(self, "_names", set(names))
        object.__setattr__(self, "values", {})

    def __setattr__(self, name, value):
        assert name in self._names, name
        self.values[name] = value


class _Drawn:
    """``self`` for a draw(): the recording layout, everything else from ``instance``."""

    def __init__(self, layout, instance=None):
        self.layout, self._instance = layout, instance

    def __getattr__(self, name):
        return getattr(self._instance, name)


def draw(cls, context, instance=None):
    """What ``cls.draw`` (a Panel, Menu, menu function or AddonPreferences) shows in
    ``context``; ``instance`` stands in for ``self`` (preferences)."""
    log = []
    getattr(cls, "draw", cls)(_Drawn(Layout(log), instance), context)
    return log


def operators(log):
    return [(entry[1], entry[2], entry[3], entry[4]) for entry in log if entry[0] == "operator"]


def labels(log):
    return [entry[1] for entry in log if entry[0] == "label"]


def places():
    from importlib import import_module
    return import_module(PKG + ".panels.places")


def area_as(kind, ui_type=None):
    """The first area of the window turned into ``kind``; (window, area, region) for a
    temp_override."""
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = kind
    if ui_type:
        area.ui_type = ui_type
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def textured_plane(image):
    bpy.ops.mesh.primitive_plane_add()
    obj = bpy.context.active_object
    mat = bpy.data.materials.new("photo")
    mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    mat.node_tree.nodes.active = node
    obj.data.materials.append(mat)
    return obj, mat, node


# -- registration -----------------------------------------------------------------------------
def _ours(menu):
    return [f for f in getattr(bpy.types, menu).draw._draw_funcs
            if getattr(f, "__module__", "").startswith(PKG)]


def test_entries_registered_and_every_menu_append_undone(blank):
    mod = places()
    for cls in mod.classes:
        assert hasattr(bpy.types, cls.__name__), cls.__name__
    for menu, _func in mod.MENU_ENTRIES:
        assert len(_ours(menu)) == 1, menu
    disable()
    try:
        for menu, _func in mod.MENU_ENTRIES:
            assert _ours(menu) == [], menu
        assert not hasattr(bpy.types, "MAPSMITH_PT_shader_editor")
    finally:
        enable()
    for menu, _func in places().MENU_ENTRIES:
        assert len(_ours(menu)) == 1, menu   # once again, not twice


# -- Add > Mesh > Relief from Image ----------------------------------------------------------
def test_add_mesh_has_relief_from_image(blank):
    (func,) = _ours("VIEW3D_MT_mesh_add")
    log = draw(func, bpy.context)
    assert ("menu", "MAPSMITH_MT_relief_from_image") in [e[:2] for e in log]
    assert bpy.types.MAPSMITH_MT_relief_from_image.bl_label == "Relief from Image"


def test_relief_from_image_lists_images_and_runs_on_the_one_picked(blank):
    menu = bpy.types.MAPSMITH_MT_relief_from_image
    # Nothing to work on: only Open Image...; Depth Relief itself is refused with the reason.
    assert [e[0] for e in operators(draw(menu, bpy.context))] == ["mapsmith.relief_from_file"]
    assert not bpy.ops.mapsmith.depth_relief.poll()
    with pytest.raises(RuntimeError, match="No image: open one in the Image Editor"):
        bpy.ops.mapsmith.depth_relief()

    load_astronaut(size=64)
    entries = operators(draw(menu, bpy.context))
    assert [(e[0], e[3].values) for e in entries] == [
        ("mapsmith.depth_relief", {"image": "astronaut.png"}), ("mapsmith.relief_from_file", {})]
    assert bpy.ops.mapsmith.depth_relief.poll()
    window, area, region = area_as("VIEW_3D")
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert bpy.ops.mapsmith.depth_relief(image="astronaut.png", resolution=32) == {"FINISHED"}
    assert "astronaut relief" in bpy.data.objects


def test_relief_from_image_offers_the_active_texture_first(blank):
    image = load_astronaut(size=64)
    textured_plane(image)
    entries = operators(draw(bpy.types.MAPSMITH_MT_relief_from_image, bpy.context))
    assert entries[0][1] == "astronaut.png (active)" and entries[0][3].values == {"image": ""}


# -- poll: the real source, resolved without reading pixels ----------------------------------
def test_poll_refuses_when_no_image_can_serve(blank):
    """A file whose only image is a movie is not a source (the old poll took any image)."""
    movie = bpy.data.images.new("clip", 8, 8)
    movie.source = "MOVIE"
    assert not bpy.ops.mapsmith.normal_map.poll()
    with pytest.raises(RuntimeError, match="No image: open one"):
        bpy.ops.mapsmith.normal_map()
    window, area, region = area_as("IMAGE_EDITOR")
    area.spaces.active.image = movie
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert not bpy.ops.mapsmith.normal_map.poll()
        with pytest.raises(RuntimeError, match='"clip" is a movie image; use a still image'):
            bpy.ops.mapsmith.normal_map()
    still = bpy.data.images.new("still", 8, 8)
    assert bpy.ops.mapsmith.normal_map.poll()      # a script may name it: image="still"
    bpy.data.images.remove(still)
    assert not bpy.ops.mapsmith.remove_background.poll()


# -- Shader Editor -----------------------------------------------------------------------------
def test_shader_editor_panel_acts_on_the_active_image_texture_node(blank):
    image = load_astronaut(size=64)
    _obj, mat, node = textured_plane(image)
    other = bpy.data.images.new("other", 16, 16)      # not the node's: must not be used
    window, area, _region = area_as("NODE_EDITOR", "ShaderNodeTree")
    space = area.spaces.active
    space.node_tree = mat.node_tree
    panel = bpy.types.MAPSMITH_PT_shader_editor
    region = next(r for r in area.regions if r.type == "UI")
    with bpy.context.temp_override(window=window, area=area, region=region):
        ctx = bpy.context
        assert panel.poll(ctx)
        mat.node_tree.nodes.active = mat.node_tree.nodes["Principled BSDF"]
        log = draw(panel, ctx)
        assert all(not e[2] for e in operators(log))
        assert "Select an Image Texture node that holds a photo" in labels(log)

        mat.node_tree.nodes.active = node
        log = draw(panel, ctx)
        assert labels(log)[0] == "astronaut.png"
        drawn = {e[0] for e in operators(log) if e[2]}
        assert {"mapsmith.depth_relief", "mapsmith.normal_map", "mapsmith.remove_background",
                "mapsmith.material_setup", "mapsmith.cleanup_paint_mask"} <= drawn
        assert bpy.ops.mapsmith.remove_background(mode="MASK") == {"FINISHED"}
    assert "astronaut mask" in bpy.data.images and "other mask" not in bpy.data.images
    del other


def test_shader_editor_panel_only_in_shader_trees(blank):
    window, area, region = area_as("NODE_EDITOR", "GeometryNodeTree")
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert not bpy.types.MAPSMITH_PT_shader_editor.poll(bpy.context)


# -- Image Editor's Image menu ---------------------------------------------------------------
def test_image_menu_entry_acts_on_the_shown_image(blank):
    (func,) = _ours("IMAGE_MT_image")
    log = draw(func, bpy.context)
    assert ("menu", "MAPSMITH_MT_image") in [e[:2] for e in log]

    image = load_astronaut(size=64)
    window, area, region = area_as("IMAGE_EDITOR")
    with bpy.context.temp_override(window=window, area=area, region=region):
        log = draw(bpy.types.MAPSMITH_MT_image, bpy.context)
        assert not any(e[2] for e in operators(log))
        assert "Open an image in this editor first" in labels(log)
        area.spaces.active.image = image
        log = draw(bpy.types.MAPSMITH_MT_image, bpy.context)
        assert all(e[2] for e in operators(log)) and len(operators(log)) == 5


# -- Texture Paint ----------------------------------------------------------------------------
def test_texture_paint_panel_has_the_cleanup(blank):
    panel = bpy.types.MAPSMITH_PT_texture_paint
    assert (panel.bl_space_type, panel.bl_category, panel.bl_context) == (
        "VIEW_3D", "Tool", ".imagepaint")
    entries = operators(draw(panel, bpy.context))
    assert [e[0] for e in entries] == ["mapsmith.cleanup_paint_mask", "mapsmith.cleanup_apply",
                                       "mapsmith.cleanup_discard"]


def test_open_image_builds_a_relief_from_a_file(blank, tmp_path):
    from PIL import Image
    from skimage import data
    path = tmp_path / "portrait.png"
    Image.fromarray(data.astronaut()).resize((64, 64)).save(path)
    assert bpy.ops.mapsmith.relief_from_file(filepath=str(path)) == {"FINISHED"}
    assert "portrait relief" in bpy.data.objects
    assert bpy.data.images["portrait.png"].filepath == str(path)


def test_open_image_refuses_what_is_not_an_image_and_keeps_nothing(blank, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(RuntimeError, match="not an image Blender can read"):
        bpy.ops.mapsmith.relief_from_file(filepath=str(path))
    with pytest.raises(RuntimeError, match="No file"):
        bpy.ops.mapsmith.relief_from_file(filepath=str(tmp_path / "gone.png"))
    assert not bpy.data.images and not bpy.data.objects


def test_portrait_capabilities_say_portrait_in_one_line(installed):
    for name in ("depth_relief", "normal_map", "remove_background", "material_setup",
                 "relief_from_file"):
        description = getattr(bpy.ops.mapsmith, name).get_rna_type().description
        assert "portrait" in description.lower(), name
        assert "\n" not in description, name
