"""A small binary STL writer for relief meshes. bpy-free (numpy).

Slicers read STL numbers as millimetres: ``scale`` converts the mesh's units to them (1000 for
a relief built in metres, 1 for a lithophane built in millimetres). The file is written to a
temporary name beside the target and renamed into place (``map_files.write_atomic``).

Layout: an 80-byte header, the triangle count (uint32), then per triangle the facet normal
and three vertices (12 little-endian float32) and a 2-byte attribute count (0).
"""

from __future__ import annotations

import pathlib

import numpy as np

from .errors import InputError
from .map_files import write_atomic
from .mesh_check import triangles
from .relief_mesh import ReliefMesh

HEADER = b"Mapsmith binary STL, millimetres"

_FACET = np.dtype([("normal", "<f4", (3,)), ("v", "<f4", (3, 3)), ("attr", "<u2")])


def encode_stl(mesh: ReliefMesh, scale: float = 1.0) -> bytes:
    """Binary STL bytes of ``mesh`` (polygons fanned into triangles), coordinates x ``scale``."""
    tri = triangles(mesh)
    if tri.shape[0] == 0:
        raise InputError("The mesh has no faces: nothing to write to an STL file")
    p = mesh.co.astype(np.float64) * float(scale)
    v = p[tri]                                                    # (T, 3, 3)
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    facets = np.zeros(tri.shape[0], _FACET)
    facets["normal"] = n
    facets["v"] = v
    return (HEADER.ljust(80, b" ") + np.uint32(tri.shape[0]).astype("<u4").tobytes()
            + facets.tobytes())


def write_stl(path, mesh: ReliefMesh, scale: float = 1.0) -> pathlib.Path:
    path = pathlib.Path(path)
    write_atomic(path, encode_stl(mesh, scale))
    return path
