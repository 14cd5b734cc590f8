"""Node trees and materials for the operators' results (meshes and objects: ``meshes``).

Conventions follow Blender's own tools:

- Node Wrangler's principled setup: colour maps stay sRGB, data maps (normals, depth,
  masks) are Non-Color; normals go through a Normal Map node, heights through a
  Displacement node into the Material Output; related nodes sit in a labelled frame.
- Images as Planes: a plane sized to the image's aspect (height 1 m by default), facing
  the front view (-Y), alpha linked to the Principled BSDF and the material's
  ``surface_render_method`` chosen for the kind of transparency.

Everything is find-or-create by a fixed node name (``"Mapsmith ..."``), so running an
operator again updates the nodes it made instead of adding more. Image colour spaces are
set where the images are created (``pixels.new_image``), never here: changing the colour
space of an image that already holds pixels wipes or converts them.
"""

from __future__ import annotations

import numpy as np

import bpy

from . import datablocks, pixels

# Where the columns of a tree go, relative to the Principled BSDF.
_X_TEXTURE = -900.0
_X_CONVERTER = -450.0
_X_OUTPUT = 400.0
_ROW = 320.0

# ---------------------------------------------------------------------------------------------
# Our own data-blocks: owned by their source (``datablocks.own``), so a re-run finds and
# updates them and nothing else. ``source`` below is a ``sources.Source``: its ``stem`` names
# the results, its ``image`` (None for the last render) owns them.
# ---------------------------------------------------------------------------------------------

def tag(idb, source, role: str):
    return datablocks.own(idb, source.image, role)


def find_tagged(collection, source, role: str):
    """The data-block Mapsmith made for ``source`` in ``role`` (None if the user removed it)."""
    return datablocks.find_owned(collection, source.image, role)


def result_image(source, role: str, px: np.ndarray, *, non_color: bool,
                 float_buffer: bool = False, reuse: str = "") -> bpy.types.Image:
    """A packed image named "<stem> <role>" holding ``px`` (top row first).

    Packed, so it survives save + reopen (a generated image that is not comes back black).
    With ``reuse`` (a tag, e.g. "material normals"), the image Mapsmith made earlier for the
    same source and tag is updated in place when its size and kind still fit. Other images,
    the user's above all, are never touched.
    """
    height, width = px.shape[:2]
    image = find_tagged(bpy.data.images, source, reuse) if reuse else None
    if image is not None and (tuple(image.size) != (width, height)
                              or image.is_float != float_buffer
                              or image.colorspace_settings.is_data != non_color):
        image = None
    if image is None:
        name = datablocks.unique_name(bpy.data.images, f"{source.stem} {role}")
        image = pixels.new_image(name, px, non_color=non_color, float_buffer=float_buffer)
        tag(image, source, reuse or role)
    else:
        pixels.write(image, pixels.as_rgba_float(px))
    pixels.pack(image)                   # re-packed on reuse, or a reload brings back the old
    return image


# ---------------------------------------------------------------------------------------------
# Materials
# ---------------------------------------------------------------------------------------------

def node_tree(material: bpy.types.Material) -> bpy.types.ShaderNodeTree:
    """The material's node tree, creating it the way the UI's "Use Nodes" does (< 5.0)."""
    if material.node_tree is None or (bpy.app.version < (5, 0, 0) and not material.use_nodes):
        material.use_nodes = True
    return material.node_tree


def new_material(source, role: str) -> bpy.types.Material:
    name = datablocks.unique_name(bpy.data.materials, f"{source.stem} {role}")
    material = tag(bpy.data.materials.new(name), source, role)
    node_tree(material)
    return material


def material_for(source, role: str) -> bpy.types.Material:
    """Mapsmith's material for this source and role, found again on a re-run, else new."""
    return find_tagged(bpy.data.materials, source, role) or new_material(source, role)


def _find(tree, bl_idname: str, name: str | None = None):
    for node in tree.nodes:
        if node.bl_idname == bl_idname and (name is None or node.name == name):
            return node
    return None


def _node(tree, bl_idname: str, name: str, label: str = "", location=None):
    """Find-or-create a node by its fixed name."""
    node = tree.nodes.get(name)
    if node is None or node.bl_idname != bl_idname:
        node = tree.nodes.new(bl_idname)
        node.name = name
    if label:
        node.label = label
    if location is not None:
        _place(node, location)
    return node


def _place(node, location) -> None:
    # 4.4+ stores locations relative to the parent frame; location_absolute is the view's.
    if hasattr(node, "location_absolute"):
        node.location_absolute = location
    else:
        node.location = location


def principled(material: bpy.types.Material):
    """(Principled BSDF, Material Output) of the material, created and linked if missing."""
    tree = node_tree(material)
    output = next((n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial"
                   and n.is_active_output), None) or _find(tree, "ShaderNodeOutputMaterial")
    if output is None:
        output = tree.nodes.new("ShaderNodeOutputMaterial")
    surface = output.inputs["Surface"]
    bsdf = None
    if surface.is_linked and surface.links[0].from_node.bl_idname == "ShaderNodeBsdfPrincipled":
        bsdf = surface.links[0].from_node
    bsdf = bsdf or _find(tree, "ShaderNodeBsdfPrincipled")
    if bsdf is None:
        bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
        _place(bsdf, (output.location.x - 400.0, output.location.y))
    if not surface.is_linked:
        tree.links.new(bsdf.outputs["BSDF"], surface)
    return bsdf, output


def _origin(bsdf):
    loc = getattr(bsdf, "location_absolute", bsdf.location)
    return float(loc[0]), float(loc[1])


def image_node(tree, bsdf, image, *, name: str, label: str, row: int,
               extension: str = "EXTEND") -> bpy.types.ShaderNodeTexImage:
    """An Image Texture node for ``image``, in the texture column at ``row`` (0 = top).

    EXTEND (not REPEAT) so the photo's edge does not bleed across the plane's border.
    """
    x, y = _origin(bsdf)
    node = _node(tree, "ShaderNodeTexImage", name, label, (x + _X_TEXTURE, y - row * _ROW))
    node.image = image
    node.extension = extension
    node.interpolation = "Linear"
    return node


def _replace_link(tree, from_socket, to_socket):
    for link in list(to_socket.links):
        tree.links.remove(link)
    return tree.links.new(from_socket, to_socket)


def link_base_color(tree, bsdf, tex) -> None:
    _replace_link(tree, tex.outputs["Color"], bsdf.inputs["Base Color"])


def link_alpha(material, tree, bsdf, socket, *, blended: bool = False) -> None:
    """Alpha into the BSDF, with the render method that suits it.

    DITHERED (EEVEE's default) handles a cut-out subject with correct sorting, shadows and
    raytracing; BLENDED gives smooth semi-transparency (a soft shadow) at the cost of
    sorting. Cycles ignores both and always renders alpha exactly. ``blend_method`` is the
    pre-4.2 name, kept in step where it still exists (exporters still read it).
    """
    _replace_link(tree, socket, bsdf.inputs["Alpha"])
    if hasattr(material, "blend_method"):
        material.blend_method = "BLEND" if blended else "HASHED"
    material.surface_render_method = "BLENDED" if blended else "DITHERED"
    if hasattr(material, "use_transparency_overlap"):
        material.use_transparency_overlap = not blended


def unlink_alpha(material, tree, bsdf) -> None:
    for link in list(bsdf.inputs["Alpha"].links):
        tree.links.remove(link)
    material.surface_render_method = "DITHERED"


def link_normal_map(tree, bsdf, tex, *, strength: float = 1.0, uv_map: str = "",
                    row: int = 2, space: str = "TANGENT") -> bpy.types.ShaderNodeNormalMap:
    """Image (Non-Color) -> Normal Map (tangent space, or ``space``) -> BSDF Normal."""
    x, y = _origin(bsdf)
    nmap = _node(tree, "ShaderNodeNormalMap", "Mapsmith Normal Map", "Normal Map",
                 (x + _X_CONVERTER, y - row * _ROW))
    nmap.space = space
    nmap.uv_map = uv_map
    nmap.inputs["Strength"].default_value = strength
    _replace_link(tree, tex.outputs["Color"], nmap.inputs["Color"])
    _replace_link(tree, nmap.outputs["Normal"], bsdf.inputs["Normal"])
    return nmap


def link_displacement(material, tree, bsdf, output, tex, *, scale: float,
                      midlevel: float = 0.0, row: int = 3,
                      method: str = "BOTH") -> bpy.types.ShaderNodeDisplacement:
    """Height image -> Displacement -> Material Output; true displacement plus bump (or
    ``method``).

    Midlevel 0: depth 0 (the background) stays on the surface and the subject rises
    ``scale`` metres at depth 1, along the surface normal (towards the viewer).
    """
    x, y = _origin(bsdf)
    disp = _node(tree, "ShaderNodeDisplacement", "Mapsmith Displacement", "Displacement",
                 (x + _X_CONVERTER, y - row * _ROW))
    disp.space = "OBJECT"
    disp.inputs["Midlevel"].default_value = midlevel
    disp.inputs["Scale"].default_value = scale
    _replace_link(tree, tex.outputs["Color"], disp.inputs["Height"])
    _replace_link(tree, disp.outputs["Displacement"], output.inputs["Displacement"])
    material.displacement_method = method
    return disp


def add_normal_map(material, image, *, strength: float = 1.0, uv_map: str = "",
                   space: str = "TANGENT"):
    """Normal image (Non-Color) -> Normal Map -> the material's Principled BSDF, framed."""
    tree = node_tree(material)
    bsdf, _output = principled(material)
    tex = image_node(tree, bsdf, image, name="Mapsmith Normals", label="Normals", row=2)
    nmap = link_normal_map(tree, bsdf, tex, strength=strength, uv_map=uv_map, row=2,
                           space=space)
    frame(tree, "Mapsmith Normal Frame", "Normal Map", [tex, nmap])
    return tex, nmap


def add_displacement(material, image, *, scale: float, method: str = "BOTH"):
    """Height image (Non-Color) -> Displacement -> Material Output, framed."""
    tree = node_tree(material)
    bsdf, output = principled(material)
    tex = image_node(tree, bsdf, image, name="Mapsmith Depth", label="Depth", row=3)
    disp = link_displacement(material, tree, bsdf, output, tex, scale=scale, row=3,
                             method=method)
    frame(tree, "Mapsmith Displacement Frame", "Displacement", [tex, disp])
    return tex, disp


def remove_nodes(tree, *names: str) -> None:
    for name in names:
        node = tree.nodes.get(name)
        if node is not None:
            tree.nodes.remove(node)


def frame(tree, name: str, label: str, children) -> bpy.types.NodeFrame:
    """A labelled frame around ``children``, keeping their places in the view."""
    node = _node(tree, "NodeFrame", name, label)
    node.label_size = 16
    node.shrink = True
    for child in children:
        loc = tuple(getattr(child, "location_absolute", child.location))
        child.parent = node
        _place(child, loc)
    return node


def tidy_output(bsdf, output) -> None:
    x, y = _origin(bsdf)
    _place(output, (x + _X_OUTPUT, y))


# ---------------------------------------------------------------------------------------------
# The photo itself
# ---------------------------------------------------------------------------------------------

def photo_image(source) -> bpy.types.Image:
    """The source's Blender image; for the last render (no image to use), a packed copy."""
    if source.image is not None:
        return source.image
    return result_image(source, "photo", source.rgba, non_color=False, reuse="photo")


def photo_material(source, role: str, photo: bpy.types.Image, *, reuse: bool = False):
    """A material "<stem> <role>" showing ``photo`` as Base Color; with ``reuse``, the one
    Mapsmith made before for the same source and role is updated instead.

    Returns (material, tree, bsdf, output, photo texture node).
    """
    material = material_for(source, role) if reuse else new_material(source, role)
    tree = node_tree(material)
    bsdf, output = principled(material)
    tidy_output(bsdf, output)
    tex = image_node(tree, bsdf, photo, name="Mapsmith Photo", label="Photo", row=0)
    link_base_color(tree, bsdf, tex)
    bsdf.inputs["Roughness"].default_value = 0.6
    frame(tree, "Mapsmith Photo Frame", "Photo", [tex])
    return material, tree, bsdf, output, tex


# ---------------------------------------------------------------------------------------------
# Shading of a photo plane (Images as Planes' Principled / Shadeless / Emission)
# ---------------------------------------------------------------------------------------------

_SHADELESS_NODES = ("Mapsmith Shadeless", "Mapsmith Transparent", "Mapsmith Shadeless Mix")


def set_shader(material: bpy.types.Material, shader: str) -> None:
    """PRINCIPLED: the photo lit like any surface. EMISSION: lit, and glowing with the photo's
    colours (Principled's Emission). SHADELESS: only the photo's own colours, unlit (an
    Emission shader, mixed with Transparent by the alpha the BSDF gets), for reference planes.
    Switching back and forth leaves no stray nodes; the Principled BSDF and its maps stay."""
    tree = node_tree(material)
    bsdf, output = principled(material)
    photo = tree.nodes.get("Mapsmith Photo")
    remove_nodes(tree, *_SHADELESS_NODES)
    for link in list(bsdf.inputs["Emission Color"].links):
        tree.links.remove(link)
    bsdf.inputs["Emission Strength"].default_value = 0.0
    surface = output.inputs["Surface"]
    if shader != "SHADELESS" or photo is None:
        _replace_link(tree, bsdf.outputs["BSDF"], surface)
        if shader == "EMISSION" and photo is not None:
            tree.links.new(photo.outputs["Color"], bsdf.inputs["Emission Color"])
            bsdf.inputs["Emission Strength"].default_value = 1.0
        return
    x, y = _origin(bsdf)
    emit = _node(tree, "ShaderNodeEmission", "Mapsmith Shadeless", "Shadeless",
                 (x, y + 260.0))
    tree.links.new(photo.outputs["Color"], emit.inputs["Color"])
    alpha = bsdf.inputs["Alpha"]
    if not alpha.is_linked:
        _replace_link(tree, emit.outputs["Emission"], surface)
        return
    clear = _node(tree, "ShaderNodeBsdfTransparent", "Mapsmith Transparent", "",
                  (x, y + 380.0))
    mix = _node(tree, "ShaderNodeMixShader", "Mapsmith Shadeless Mix", "Shadeless",
                (x + 200.0, y + 320.0))
    tree.links.new(alpha.links[0].from_socket, mix.inputs["Fac"])
    tree.links.new(clear.outputs["BSDF"], mix.inputs[1])
    tree.links.new(emit.outputs["Emission"], mix.inputs[2])
    _replace_link(tree, mix.outputs["Shader"], surface)


def edge_colour(material, image) -> None:
    """Mix the cutout's edge colours (``image``: RGB the colours, alpha where they apply)
    over the photo into Base Color, leaving the photo's own node linked to the mix; with
    ``image`` None, the photo goes straight to Base Color again and the mix is removed."""
    tree = node_tree(material)
    bsdf, _output = principled(material)
    photo = tree.nodes.get("Mapsmith Photo")
    if image is None or photo is None:
        remove_nodes(tree, "Mapsmith Edge Colour", "Mapsmith Edge Mix")
        if photo is not None:
            link_base_color(tree, bsdf, photo)
        return
    x, y = _origin(bsdf)
    tex = image_node(tree, bsdf, image, name="Mapsmith Edge Colour", label="Edge Colour",
                     row=4)
    mix = _node(tree, "ShaderNodeMix", "Mapsmith Edge Mix", "Edge Colour",
                (x - 200.0, y + 100.0))
    mix.data_type = "RGBA"
    mix.blend_type = "MIX"
    sockets = {s.identifier: s for s in mix.inputs}
    _replace_link(tree, tex.outputs["Alpha"], sockets["Factor_Float"])
    _replace_link(tree, photo.outputs["Color"], sockets["A_Color"])
    _replace_link(tree, tex.outputs["Color"], sockets["B_Color"])
    result = next(s for s in mix.outputs if s.identifier == "Result_Color")
    _replace_link(tree, result, bsdf.inputs["Base Color"])
    frame(tree, "Mapsmith Cutout Frame", "Cutout", [tex])
