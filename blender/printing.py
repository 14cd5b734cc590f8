"""Print export glue: evaluated meshes -> millimetre arrays, wall thickness, Blender's exporters.

The user's objects are only read. What is written comes from a temporary mesh and object,
built with ``foreach_set`` from the arrays the checks saw, exported with Blender's own
exporter (``wm.stl_export`` / ``wm.obj_export`` / ``wm.ply_export``, 4.2 to 5.x: same
parameters) into a temporary file beside the target, renamed over it only when complete,
and removed again whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import pathlib

import numpy as np

import bpy

from mathutils import Matrix, Vector

from ..core.errors import InputError
from ..core.mesh_check import Polygons
from . import meshes

FORMATS = ("STL", "OBJ", "PLY")
MAX_RAYS = 10_000    # faces sampled for the thinnest wall: about 0.6 s of ray casts
IGNORED_PERCENT = 1.0   # the thinnest samples left out: sharp ridges of surface detail


def mm_per_unit(context) -> float:
    """Millimetres in one Blender unit (1000 at the default unit scale of 1 m)."""
    return 1000.0 * context.scene.unit_settings.scale_length


def print_frame(active, orientation: str) -> Matrix:
    """World -> print axes. LOCAL: the active object's own axes (a Mapsmith relief or
    lithophane lies on its back, front up, however it stands in the scene); SCENE: the
    world's axes as the objects are placed."""
    if orientation == "LOCAL":
        return active.matrix_world.to_quaternion().to_matrix().to_4x4().inverted()
    return Matrix.Identity(4)


def gather(context, objects, frame: Matrix) -> Polygons:
    """The objects' evaluated meshes (modifiers applied) in print axes and millimetres,
    merged into one :class:`Polygons` (float64 coordinates)."""
    depsgraph = context.evaluated_depsgraph_get()
    scale = mm_per_unit(context)
    co_parts, loop_parts, start_parts, size_parts = [], [], [], []
    n_verts = n_loops = 0
    for obj in objects:
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            v, lo, p = len(mesh.vertices), len(mesh.loops), len(mesh.polygons)
            co = np.empty(v * 3, np.float32)
            mesh.vertices.foreach_get("co", co)
            loop_vertex = np.empty(lo, np.int32)
            mesh.loops.foreach_get("vertex_index", loop_vertex)
            start = np.empty(p, np.int32)
            mesh.polygons.foreach_get("loop_start", start)
            size = np.empty(p, np.int32)
            mesh.polygons.foreach_get("loop_total", size)
        finally:
            evaluated.to_mesh_clear()
        m = np.array(frame @ obj.matrix_world, dtype=np.float64)
        co = co.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]
        if np.linalg.det(m[:3, :3]) < 0:        # mirrored: keep the faces pointing out
            loop_vertex = _reverse_polygons(loop_vertex, start, size)
        co_parts.append(co * scale)
        loop_parts.append(loop_vertex.astype(np.int64) + n_verts)
        start_parts.append(start.astype(np.int64) + n_loops)
        size_parts.append(size)
        n_verts += v
        n_loops += lo
    return Polygons(np.concatenate(co_parts), np.concatenate(loop_parts),
                    np.concatenate(start_parts), np.concatenate(size_parts))


def approx_size_mm(context, objects, frame: Matrix):
    """Size (x, y, z) in mm of the objects' bounding boxes in print axes: cheap enough for
    draw() (no mesh is read; a rotated box can make it a little larger than the print)."""
    corners = np.array([list(frame @ obj.matrix_world @ Vector(c))
                        for obj in objects for c in obj.bound_box])
    return tuple(float(v) for v in np.ptp(corners, axis=0) * mm_per_unit(context))


def _reverse_polygons(loop_vertex, start, size):
    poly = np.repeat(np.arange(start.size), size)
    offset = np.arange(loop_vertex.size) - start[poly]
    return loop_vertex[start[poly] + size[poly] - 1 - offset]


@contextlib.contextmanager
def temporary_object(context, polys: Polygons):
    """A mesh object holding ``polys`` (coordinates as given), linked to the scene and the
    only selected object while the block runs; removed afterwards, and the selection and
    active object restored."""
    view_layer = context.view_layer
    selected = list(context.selected_objects)
    active = view_layer.objects.active
    mesh = meshes.build("Mapsmith print export", polys.co, polys.loop_vertex, polys.poly_start,
                        np.zeros((polys.loop_vertex.size, 2), np.float32))
    obj = bpy.data.objects.new("Mapsmith print export", mesh)
    try:
        context.scene.collection.objects.link(obj)
        for other in selected:
            other.select_set(False)
        obj.select_set(True)
        view_layer.objects.active = obj
        yield obj
    finally:
        bpy.data.objects.remove(obj)
        bpy.data.meshes.remove(mesh)
        for other in selected:
            with contextlib.suppress(ReferenceError, RuntimeError):
                other.select_set(True)
        view_layer.objects.active = active


def thinnest_wall(context, obj, max_rays: int = MAX_RAYS) -> float:
    """An estimate of the thinnest wall, in the object's units (mm here).

    From the centre of each face (all of them, or ``max_rays`` spread evenly over them) a
    ray goes along the inward normal to the first surface it meets: the wall's thickness
    there (the 3D-Print Toolbox's thickness test). The thinnest 1 % of the samples are left
    out: single sharp ridges of surface detail (a
    lithophane's pixel-sized peaks) measure across themselves and would hide the plate's
    real minimum, while a genuinely thin part bigger than that still shows. A thin spot
    narrower than the sampling can be missed on a very large mesh. It is an estimate: a
    0.8 mm lithophane plate measures 0.7 to 0.9 mm (slanted paths read thick, the 1 %
    cut-off can land on a ridge).
    """
    from mathutils.bvhtree import BVHTree

    mesh = obj.data
    n = len(mesh.polygons)
    centre = np.empty(n * 3, np.float32)
    normal = np.empty(n * 3, np.float32)
    area = np.empty(n, np.float32)
    mesh.polygons.foreach_get("center", centre)
    mesh.polygons.foreach_get("normal", normal)
    mesh.polygons.foreach_get("area", area)
    centre, normal = centre.reshape(-1, 3), normal.reshape(-1, 3)
    pick = np.flatnonzero(area > 1e-9)
    if pick.size > max_rays:
        pick = pick[np.linspace(0, pick.size - 1, max_rays).astype(np.int64)]
    tree = BVHTree.FromObject(obj, context.evaluated_depsgraph_get())
    span = float(np.ptp(centre, axis=0).max()) if n else 0.0
    eps = max(span * 1e-6, 1e-4)      # start just inside: never on the face itself
    found = []
    for i in pick.tolist():
        direction = Vector(-normal[i])
        origin = Vector(centre[i]) + direction * eps
        travelled = eps
        for _ in range(4):            # a hit on the face itself (a warped quad): go on past it
            hit, _normal, index, dist = tree.ray_cast(origin, direction, span * 2.0 + 1.0)
            if hit is None or index != i:
                break
            origin = hit + direction * eps
            travelled += dist + eps
        if hit is not None and index != i:
            found.append(travelled + dist)
    if not found:
        return float("inf")
    return float(np.percentile(found, IGNORED_PERCENT))


def check_writable(path: pathlib.Path) -> pathlib.Path:
    """The temporary file to export into, beside ``path``; raises with a clear message when
    the folder cannot be written."""
    if not path.name or path.is_dir():
        raise InputError(f'"{path}" is a folder: give a file name to export to')
    if not path.parent.is_dir():
        raise InputError(f'The folder "{path.parent}" does not exist: choose another place '
                         "to export to. Nothing was written")
    tmp = path.with_name(f".{path.stem}.mapsmith-partial-{os.getpid()}{path.suffix}")
    try:
        with open(tmp, "wb"):
            pass
    except OSError as err:
        raise InputError(f'Cannot write to "{path.parent}" ({err.strerror}): choose another '
                         "folder. Nothing was written") from None
    return tmp


def _run_exporter(fmt: str, filepath: str) -> None:
    common = dict(filepath=filepath, check_existing=False, export_selected_objects=True,
                  global_scale=1.0, forward_axis="Y", up_axis="Z", apply_modifiers=False)
    if fmt == "STL":
        bpy.ops.wm.stl_export(ascii_format=False, use_scene_unit=False, **common)
    elif fmt == "OBJ":      # Z up like the STL: what 3D-printing slicers read
        bpy.ops.wm.obj_export(export_uv=False, export_normals=False, export_materials=False,
                              export_triangulated_mesh=True, **common)
    elif fmt == "PLY":
        bpy.ops.wm.ply_export(ascii_format=False, export_uv=False, export_normals=False,
                              export_colors="NONE", export_attributes=False,
                              export_triangulated_mesh=True, **common)
    else:
        raise InputError(f"Unknown file format {fmt!r}: use one of {', '.join(FORMATS)}")


def export(context, obj, path: pathlib.Path, fmt: str) -> None:
    """Export the (temporary, only selected) object to ``path`` through a temporary file, so
    a failure leaves no partial file and an existing one untouched."""
    tmp = check_writable(path)
    try:
        _run_exporter(fmt, str(tmp))
        if tmp.stat().st_size == 0:
            raise InputError(f"Blender's {fmt} exporter wrote nothing to \"{path}\": "
                             "nothing was written")
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f'Cannot write "{path}" ({err.strerror}): choose another place. '
                         "Nothing was written") from None
    except RuntimeError as err:
        raise InputError(f"Blender's {fmt} exporter failed ({err}): nothing was written") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def lithophane_material(source, mm_per_bu: float = 1000.0) -> bpy.types.Material:
    """White plastic that shows the picture when lit from behind (Cycles): a
    translucent surface over an absorbing volume, so light fades with the thickness it
    crosses, as in white PLA (about half the light through 0.8 mm, a tenth through 3 mm)."""
    from . import nodes

    material = nodes.material_for(source, "lithophane")
    tree = nodes.node_tree(material)
    tree.nodes.clear()
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    output.location = (300, 0)
    translucent = tree.nodes.new("ShaderNodeBsdfTranslucent")
    translucent.location = (-200, 100)
    diffuse = tree.nodes.new("ShaderNodeBsdfDiffuse")
    diffuse.location = (-200, -50)
    mix = tree.nodes.new("ShaderNodeMixShader")
    mix.location = (50, 50)
    mix.inputs["Fac"].default_value = 0.3           # mostly light through, some reflected
    volume = tree.nodes.new("ShaderNodeVolumeAbsorption")
    volume.location = (50, -150)
    volume.inputs["Color"].default_value = (0.35, 0.33, 0.3, 1.0)   # slightly warm plastic
    volume.inputs["Density"].default_value = 1.1 * mm_per_bu   # 0.75 absorbed per mm
    tree.links.new(translucent.outputs[0], mix.inputs[1])
    tree.links.new(diffuse.outputs[0], mix.inputs[2])
    tree.links.new(mix.outputs[0], output.inputs["Surface"])
    tree.links.new(volume.outputs[0], output.inputs["Volume"])
    material.diffuse_color = (0.92, 0.9, 0.86, 1.0)
    return material
