"""Meshes and objects for the operators' results, built with ``foreach_set`` only.

Placement follows Blender's Images as Planes: a plane sized to the image's aspect, new
objects at the 3D cursor, upright and facing the front view (-Y).
"""

from __future__ import annotations

import math

import numpy as np

import bpy


def build(name: str, co: np.ndarray, loop_vertex: np.ndarray, poly_start: np.ndarray,
          loop_uv: np.ndarray) -> bpy.types.Mesh:
    """A mesh from flat arrays: vertex coordinates (V, 3), each loop's vertex (L,), each
    polygon's first loop (P,) and each loop's UV (L, 2). Blender 4.x derives a polygon's
    size from the next one's start (``loop_total`` is read-only) and the edges itself."""
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(co))
    mesh.vertices.foreach_set("co", np.ascontiguousarray(co, np.float32).ravel())
    mesh.loops.add(len(loop_vertex))
    mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(loop_vertex, np.int32))
    mesh.polygons.add(len(poly_start))
    mesh.polygons.foreach_set("loop_start", np.ascontiguousarray(poly_start, np.int32))
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", np.ascontiguousarray(loop_uv, np.float32).ravel())
    mesh.update(calc_edges=True)
    return mesh


def from_relief(name: str, rm) -> bpy.types.Mesh:
    """A mesh from a :class:`core.relief_mesh.ReliefMesh`."""
    return build(name, rm.co, rm.loop_vertex, rm.poly_start, rm.loop_uv)


def plane(name: str, size_x: float, size_y: float) -> bpy.types.Mesh:
    """One quad centred on the origin in the XY plane, facing +Z, UVs covering the image."""
    hx, hy = size_x / 2.0, size_y / 2.0
    co = np.array([[-hx, -hy, 0], [hx, -hy, 0], [hx, hy, 0], [-hx, hy, 0]], np.float32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    return build(name, co, np.arange(4), np.zeros(1), uv)


def resize_plane(mesh: bpy.types.Mesh, size_x: float, size_y: float) -> None:
    """Scale a plane made by :func:`plane` (or any mesh) to a new size in place."""
    n = len(mesh.vertices)
    co = np.empty(n * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3)
    lo, hi = co[:, :2].min(axis=0), co[:, :2].max(axis=0)
    span = np.maximum(hi - lo, 1e-12)
    co[:, 0] = (co[:, 0] - lo[0]) / span[0] * size_x - size_x / 2.0
    co[:, 1] = (co[:, 1] - lo[1]) / span[1] * size_y - size_y / 2.0
    mesh.vertices.foreach_set("co", co.ravel())
    mesh.update()


def add_object(context, name: str, mesh: bpy.types.Mesh,
               material: bpy.types.Material | None = None) -> bpy.types.Object:
    """Link a new object at the 3D cursor, upright and facing the front view (-Y), like
    Images as Planes; it becomes the only selected and the active object."""
    obj = bpy.data.objects.new(name, mesh)
    if material is not None:
        mesh.materials.append(material)
    place_upright(context, obj)
    (context.collection or context.scene.collection).objects.link(obj)
    for other in context.view_layer.objects.selected:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    return obj


def place_upright(context, obj) -> None:
    obj.location = context.scene.cursor.location
    obj.rotation_euler = (math.pi / 2.0, 0.0, 0.0)   # local +Z (the front) -> world -Y


def smooth_shading(mesh: bpy.types.Mesh) -> None:
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    mesh.update()
