"""One-Click Material on a texture: a tiling PBR-style material from ``core.texture_maps``.

Node Wrangler's principled setup, for a texture: one Texture Coordinate -> Mapping (the
Tiling scale) drives every Image Texture (REPEAT); the colour is the texture itself (sRGB),
darkened in its crevices by the cavity map (a cheap ambient occlusion); the normal map and the
height are Non-Color images (their colour space set before their pixels, in
``pixels.new_image``); the height drives a Displacement node (midlevel 0.5: the texture's mean
level stays on the surface). Related nodes sit in labelled frames. Every image is packed
(``nodes.result_image``).

On a new plane sized to the texture (the operator's ``_plane``, with the placement options),
subdivided for true displacement; or, with On Active Object, on the active mesh through its
UV map.
"""

from __future__ import annotations

import numpy as np

import bpy

from ..core import normals as core_normals
from ..core.errors import SourceError
from . import nodes

ROLE = "texture material"        # "<image> texture material"
PLANE_ROLE = "texture plane"     # the plane "<image>" carrying it
AO_AMOUNT = 0.6                  # how much the cavity darkens the colour

# Columns left of the Principled BSDF (the image column is nodes' own -900).
_X_MAPPING = -1250.0
_X_COORDS = -1500.0
_X_CAVITY = -450.0


def prepare(op, context, source):
    """On the main thread: where the material goes; returns ``texture(maps, token)``, the
    worker's half (the arrays the images get)."""
    op._target_obj = None
    op._placed = None
    if op.on_active_object:
        obj = context.active_object
        problem = _target_problem(obj)
        if problem and op.subject == "TEXTURE":   # AUTO: only if it turns out a texture
            raise SourceError(problem)
        op._target_obj = (obj.name, obj.session_uid) if not problem else ("", -1, problem)
    else:
        op._placed = op.plane_placement(context, source.size)

    def texture(maps, token):
        token.progress(0.9, "building the material")
        return {"normals": core_normals.encode(maps.normals),
                "height": np.dstack([maps.height] * 3),
                "cavity": maps.cavity}

    return texture


def _node(tree, bl_idname, name, label, location):
    return nodes._node(tree, bl_idname, name, label, location)  # find-or-create by name


def _mix_multiply(tree, name, label, location):
    """A Mix node (colour, Multiply): inputs 0 Factor, 6 A and 7 B colours, output 2."""
    mix = _node(tree, "ShaderNodeMix", name, label, location)
    mix.data_type = "RGBA"
    mix.blend_type = "MULTIPLY"
    return mix


def build(op, context, source, arrays) -> str:
    """The material (found again on a re-run and updated) on its plane or object."""
    material = nodes.material_for(source, ROLE)
    tree = nodes.node_tree(material)
    bsdf, output = nodes.principled(material)
    nodes.tidy_output(bsdf, output)
    x, y = nodes._origin(bsdf)
    bsdf.inputs["Roughness"].default_value = 0.7
    links = tree.links

    coords = _node(tree, "ShaderNodeTexCoord", "Mapsmith Texture Coordinate", "",
                   (x + _X_COORDS, y - 400.0))
    mapping = _node(tree, "ShaderNodeMapping", "Mapsmith Mapping", "Tiling",
                    (x + _X_MAPPING, y - 400.0))
    mapping.vector_type = "POINT"
    mapping.inputs["Scale"].default_value = (op.tiling, op.tiling, 1.0)
    links.new(coords.outputs["UV"], mapping.inputs["Vector"])
    nodes.frame(tree, "Mapsmith Tiling Frame", "Tiling", [coords, mapping])

    def textured(image, name, label, row):
        tex = nodes.image_node(tree, bsdf, image, name=name, label=label, row=row,
                               extension="REPEAT")
        links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
        return tex

    # Colour, darkened in the crevices by the cavity (0.5 flat -> 1, 0 -> black).
    photo = textured(nodes.photo_image(source), "Mapsmith Photo", "Colour", 0)
    cavity = nodes.result_image(source, "cavity", arrays["cavity"], non_color=True,
                                reuse="texture cavity")
    cav_tex = textured(cavity, "Mapsmith Cavity", "Cavity", 1)
    ao = _node(tree, "ShaderNodeMapRange", "Mapsmith Cavity AO", "Cavity to AO",
               (x + _X_CAVITY, y - 320.0))
    ao.clamp = True
    ao.inputs["From Min"].default_value = 0.0
    ao.inputs["From Max"].default_value = 0.5
    links.new(cav_tex.outputs["Color"], ao.inputs["Value"])
    mix = _mix_multiply(tree, "Mapsmith AO Mix", "Colour x AO", (x + _X_CAVITY, y))
    mix.inputs[0].default_value = AO_AMOUNT
    links.new(photo.outputs["Color"], mix.inputs[6])
    links.new(ao.outputs["Result"], mix.inputs[7])
    for link in list(bsdf.inputs["Base Color"].links):
        links.remove(link)
    links.new(mix.outputs[2], bsdf.inputs["Base Color"])
    nodes.frame(tree, "Mapsmith Photo Frame", "Colour and Cavity", [photo, cav_tex, ao, mix])

    target = _target(op)
    uv = "UVMap" if target is None else _render_uv(target)
    if op.use_normals:
        normal = nodes.result_image(source, "normal", arrays["normals"], non_color=True,
                                    reuse="texture normals")
        tex = textured(normal, "Mapsmith Normals", "Normals", 2)
        nmap = nodes.link_normal_map(tree, bsdf, tex, strength=op.normal_strength,
                                     uv_map=uv, row=2)
        nodes.frame(tree, "Mapsmith Normal Frame", "Normal Map", [tex, nmap])
    else:
        for link in list(bsdf.inputs["Normal"].links):
            links.remove(link)
        nodes.remove_nodes(tree, "Mapsmith Normals", "Mapsmith Normal Map",
                           "Mapsmith Normal Frame")
    if op.use_displacement:
        height = nodes.result_image(source, "height", arrays["height"], non_color=True,
                                    float_buffer=True, reuse="texture height")
        tex = textured(height, "Mapsmith Height", "Height", 3)
        # With the normal map shading the surface, the height only moves it (a bump as well
        # would shade the relief twice).
        disp = nodes.link_displacement(material, tree, bsdf, output, tex,
                                       scale=op.displacement, midlevel=0.5, row=3,
                                       method="DISPLACEMENT" if op.use_normals else "BOTH")
        nodes.frame(tree, "Mapsmith Displacement Frame", "Height", [tex, disp])
    else:
        for link in list(output.inputs["Displacement"].links):
            links.remove(link)
        nodes.remove_nodes(tree, "Mapsmith Height", "Mapsmith Displacement",
                           "Mapsmith Displacement Frame")

    if target is not None:
        if material.name not in target.data.materials:
            target.data.materials.append(material)
        target.active_material_index = list(target.data.materials).index(material)
        target.active_material = material
        where = f'"{target.name}" (UV map "{uv}")'
    else:
        where = f'"{op._plane(context, source, material, PLANE_ROLE).name}"'
    return f'Texture material "{material.name}" on {where}'


def _target_problem(obj) -> str:
    if obj is None or obj.type != "MESH":
        return ("On Active Object needs an active mesh object: select one, or turn On "
                "Active Object off for a new plane")
    if not obj.data.uv_layers:
        return (f'"{obj.name}" has no UV map: unwrap it first (UV > Unwrap), or turn On '
                "Active Object off for a new plane")
    return ""


def _target(op):
    if op._target_obj is None:
        return None
    if len(op._target_obj) == 3:
        raise SourceError(op._target_obj[2])
    name, uid = op._target_obj
    obj = bpy.data.objects.get(name)
    if obj is None or obj.session_uid != uid:
        obj = next((o for o in bpy.data.objects if o.session_uid == uid), None)
    if obj is None:
        raise SourceError(f'The object "{name}" was removed meanwhile: nothing was made. '
                          "Run it again")
    return obj


def _render_uv(obj) -> str:
    layers = obj.data.uv_layers
    render = next((uv for uv in layers if uv.active_render), None)
    return (render or layers[0]).name
