"""Texture cleanup across UV seams: the model's surface, read from Blender for core.uv_seams.

:func:`surface_of` finds the mesh object that shows the texture (the active object first,
then the other selected ones), evaluates it (modifiers applied, as it renders) and reads its
loop triangles, vertex positions and active UV map with ``foreach_get`` into a
:class:`~..core.uv_seams.SurfaceMesh`. Only the triangles whose material uses the texture
count. When there is none (no selected object uses the texture, the mesh has no UV map) the
cleanup fills in image space, as before, and says why; an image no material shows (a photo
in the Image Editor) is simply filled in image space.
"""

from __future__ import annotations

import numpy as np

import bpy

from ..core.uv_seams import SurfaceMesh


def _uses(material, texture) -> bool:
    if material is None or material.node_tree is None:
        return False
    return any(node.type == "TEX_IMAGE" and node.image == texture
               for node in material.node_tree.nodes)


def _candidates(context) -> list:
    active = context.active_object
    objects = [active] if active is not None else []
    objects += [o for o in getattr(context, "selected_objects", ()) if o != active]
    return [o for o in objects if o.type == "MESH"]


def surface_of(context, texture) -> tuple[SurfaceMesh | None, str]:
    """The surface of the object showing ``texture`` and "" or None and why not."""
    for obj in _candidates(context):
        slots = [_uses(slot.material, texture) for slot in obj.material_slots]
        if not any(slots):
            continue
        if not obj.data.uv_layers:
            return None, f'"{obj.name}" has no UV map'
        depsgraph = context.evaluated_depsgraph_get()
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            return _read(mesh, np.array(slots, bool)), ""
        finally:
            evaluated.to_mesh_clear()
    if any(_uses(m, texture) for m in bpy.data.materials):
        return None, "no selected object uses the texture"
    return None, ""   # an image no material shows (a photo): nothing to say


def _read(mesh, slot_uses: np.ndarray) -> SurfaceMesh | None:
    layer = mesh.uv_layers.active
    if layer is None:
        return None
    mesh.calc_loop_triangles()
    count = len(mesh.loop_triangles)
    if count == 0:
        return None
    corners = np.empty(count * 3, np.int32)
    loops = np.empty(count * 3, np.int32)
    materials = np.empty(count, np.int32)
    mesh.loop_triangles.foreach_get("vertices", corners)
    mesh.loop_triangles.foreach_get("loops", loops)
    mesh.loop_triangles.foreach_get("material_index", materials)
    positions = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", positions)
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    layer.data.foreach_get("uv", uv)
    keep = slot_uses[np.clip(materials, 0, len(slot_uses) - 1)]
    if not keep.any():
        return None
    uvs = uv.reshape(-1, 2)[loops].reshape(count, 3, 2)
    return SurfaceMesh(positions.reshape(-1, 3), corners.reshape(count, 3)[keep], uvs[keep])
