"""Is a mesh ready to print? Placement on the bed and the checks a slicer cares about. bpy-free.

A mesh comes in as the flat arrays Blender's ``foreach_get`` gives (:class:`Polygons`), in
millimetres. :func:`lay_on_bed` puts it where a slicer expects it: lowest point at Z = 0,
centred on the origin in X and Y (slicers put the file's origin at the bed's centre, or
centre what they load). :func:`inspect` then reports what an artist needs before printing:
size, volume, triangle count, separate bodies, and whether it is watertight and manifold.
The watertight and manifold test (:func:`check_manifold`, below; the relief's tests use it
too) works on any polygon mesh in this layout.

The thinnest wall needs ray casts, which Blender's BVH tree does fast: the Blender layer
measures it (``blender/printing.py``) and :func:`summary` puts it into words.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import relief_mesh
from .errors import InputError

DEFAULT_BED_MM = (220.0, 220.0, 250.0)   # a common desktop printer (Prusa MK-class, Ender 3)
NOZZLE_MM = 0.4                          # the usual nozzle: thinner walls may not print


@dataclasses.dataclass
class Polygons:
    """Polygon mesh arrays: vertex positions (V, 3), each loop's vertex (L,), each polygon's
    first loop and size (P,). The attribute names match ``relief_mesh.ReliefMesh``, so its
    checks run on either."""

    co: np.ndarray
    loop_vertex: np.ndarray
    poly_start: np.ndarray
    poly_size: np.ndarray

    @property
    def num_vertices(self) -> int:
        return int(self.co.shape[0])

    @property
    def num_polygons(self) -> int:
        return int(self.poly_start.shape[0])

    @property
    def num_triangles(self) -> int:
        """Triangles once every n-gon is split (what an STL file holds)."""
        return int(np.sum(self.poly_size.astype(np.int64) - 2))

    def polygon_loops(self):
        """Yield (size, loop starts) for each polygon size present."""
        for size in np.unique(self.poly_size):
            yield int(size), self.poly_start[self.poly_size == size]


@dataclasses.dataclass
class Report:
    size_mm: tuple[float, float, float]
    volume_cm3: float
    triangles: int
    bodies: int
    manifold: dict                      # relief_mesh.check_manifold's answer
    thinnest_wall_mm: float | None = None

    @property
    def watertight(self) -> bool:
        return bool(self.manifold["watertight"])


def lay_on_bed(co: np.ndarray) -> np.ndarray:
    """float64 copy of ``co`` moved so the lowest point is at Z = 0 and the bounding box is
    centred on the origin in X and Y."""
    co = np.asarray(co, dtype=np.float64)
    if co.size == 0:
        raise InputError("The mesh has no vertices: nothing to print")
    lo, hi = co.min(axis=0), co.max(axis=0)
    shift = np.array([-(lo[0] + hi[0]) / 2.0, -(lo[1] + hi[1]) / 2.0, -lo[2]])
    return co + shift


def size_of(co: np.ndarray) -> tuple[float, float, float]:
    span = np.asarray(co, dtype=np.float64).max(axis=0) - np.asarray(co).min(axis=0)
    return float(span[0]), float(span[1]), float(span[2])


def fit_factor(size_mm, bed_mm=DEFAULT_BED_MM) -> float:
    """The uniform scale (at most 1) that makes ``size_mm`` fit ``bed_mm`` (x, y, z)."""
    factors = [b / s for s, b in zip(size_mm, bed_mm) if s > 0]
    return min([1.0] + factors)


def fits(size_mm, bed_mm=DEFAULT_BED_MM, tolerance: float = 1e-6) -> bool:
    return all(s <= b * (1.0 + tolerance) for s, b in zip(size_mm, bed_mm))


def body_labels(mesh: Polygons) -> np.ndarray:
    """Each vertex's connected part (vertices joined by the polygons' edges), as a slicer
    sees them: the smallest vertex index of the part. Union-find with pointer jumping in
    numpy: a few dozen passes for millions of loops."""
    n = mesh.num_vertices
    lv = mesh.loop_vertex.astype(np.int64)
    # Each loop's vertex joined to the first vertex of its polygon: enough to link them all.
    first = np.repeat(lv[mesh.poly_start], mesh.poly_size)
    parent = np.arange(n, dtype=np.int64)
    while True:
        pa, pb = parent[lv], parent[first]
        moved = pa != pb
        if not moved.any():
            return parent
        lo, hi = np.minimum(pa[moved], pb[moved]), np.maximum(pa[moved], pb[moved])
        np.minimum.at(parent, hi, lo)
        while True:                      # compress: every vertex points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def count_bodies(mesh: Polygons) -> int:
    """Connected parts (see :func:`body_labels`); loose vertices do not count."""
    if mesh.num_polygons == 0:
        return 0
    return int(np.unique(body_labels(mesh)[mesh.loop_vertex]).size)


def largest_body(mesh: Polygons) -> tuple[Polygons, int, float]:
    """The part with the most faces alone (vertices compacted), how many other parts were
    left out, and the fraction of the faces they had."""
    labels = body_labels(mesh)
    poly_label = labels[mesh.loop_vertex[mesh.poly_start]]
    parts, counts = np.unique(poly_label, return_counts=True)
    best = parts[int(np.argmax(counts))]
    dropped = 1.0 - float(counts.max()) / float(counts.sum())
    keep = poly_label == best
    size = mesh.poly_size[keep]
    loops = np.repeat(mesh.poly_start[keep], size) + (
        np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size))
    loop_vertex = mesh.loop_vertex[loops]
    used, remap = np.unique(loop_vertex, return_inverse=True)
    start = np.zeros_like(size)
    np.cumsum(size[:-1], out=start[1:])
    return (Polygons(mesh.co[used], remap.astype(np.int64), start, size), int(parts.size - 1),
            dropped)


def inspect(mesh: Polygons) -> Report:
    """Size, volume (cm3, from the divergence theorem, so meaningful when watertight),
    triangle count, bodies and the manifold checks of a mesh in millimetres."""
    if mesh.num_polygons == 0:
        raise InputError("The mesh has no faces: nothing to print")
    checks = check_manifold(mesh)
    return Report(size_mm=size_of(mesh.co), volume_cm3=volume(mesh) / 1000.0,
                  triangles=mesh.num_triangles, bodies=count_bodies(mesh), manifold=checks)


def problems(report: Report) -> str:
    """Why the mesh cannot be printed as it is ('' when it can): open edges, edges or
    vertices shared by too many faces, faces pointing inwards."""
    m = report.manifold
    found = []
    if m["boundary_edges"]:
        found.append(f"{m['boundary_edges']:,} open edges (holes)")
    if m["nonmanifold_edges"]:
        found.append(f"{m['nonmanifold_edges']:,} edges shared by more than two faces")
    if m["nonmanifold_vertices"]:
        found.append(f"{m['nonmanifold_vertices']:,} vertices where parts touch at a point")
    if m["misoriented_edges"]:
        found.append(f"{m['misoriented_edges']:,} edges between faces facing opposite ways")
    if not found and report.volume_cm3 < 0:
        found.append("its faces point inwards")
    return ", ".join(found)


def summary(report: Report) -> str:
    """One line for the status bar: size, volume, thinnest wall, triangles."""
    x, y, z = report.size_mm
    text = (f"{x:.1f} x {y:.1f} x {z:.1f} mm, {report.volume_cm3:.1f} cm3, "
            f"{report.triangles:,} triangles")
    if report.thinnest_wall_mm is not None and math.isfinite(report.thinnest_wall_mm):
        text += f", thinnest wall {report.thinnest_wall_mm:.2f} mm"
    if report.bodies > 1:
        text += f", {report.bodies} separate parts"
    return text


# -- watertight, manifold, volume: any ReliefMesh-like polygon mesh -----------------------

def _half_edges(mesh: relief_mesh.ReliefMesh):
    """(origin, target, next) of every loop: the directed edge it starts."""
    lv = mesh.loop_vertex.astype(np.int64)
    poly_of_loop = np.repeat(np.arange(mesh.num_polygons), mesh.poly_size)
    start = mesh.poly_start[poly_of_loop]
    end = start + mesh.poly_size[poly_of_loop]
    nxt = np.arange(lv.size) + 1
    nxt[nxt == end] = start[nxt == end]
    return lv, lv[nxt], nxt


def check_manifold(mesh: relief_mesh.ReliefMesh) -> dict:
    """Edge and vertex manifoldness and winding consistency.

    Returned keys:

    - ``edges``: undirected edges; ``boundary_edges``: used by one face;
      ``nonmanifold_edges``: used by more than two;
    - ``misoriented_edges``: directed edges that appear more than once (two faces walking a
      shared edge the same way: inconsistent winding);
    - ``nonmanifold_vertices``: vertices whose faces form more than one fan (bow-ties), or
      more than one boundary gap;
    - ``unused_vertices``: vertices no face refers to;
    - ``closed`` (every edge used exactly twice), ``consistent`` (no misoriented edge),
      ``manifold`` (no non-manifold edge or vertex), ``watertight`` (all three);
    - ``euler``: V - E + F.
    """
    nv = mesh.num_vertices
    o, t, nxt = _half_edges(mesh)
    directed = o * nv + t
    undirected = np.minimum(o, t) * nv + np.maximum(o, t)
    _, ucount = np.unique(undirected, return_counts=True)
    d_sorted = np.sort(directed)
    dup_directed = int(np.count_nonzero(d_sorted[1:] == d_sorted[:-1]))

    # Twin of each half-edge (its reverse), when unique.
    order = np.argsort(directed, kind="stable")
    reverse = t * nv + o
    pos = np.searchsorted(directed[order], reverse)
    pos = np.minimum(pos, directed.size - 1)
    has_twin = directed[order][pos] == reverse
    twin = np.where(has_twin, order[pos], -1)

    # Rotate around each origin vertex: h = a->b, twin b->a, the loop after it is a->c.
    h = np.arange(o.size)
    rot = np.where(has_twin, nxt[np.maximum(twin, 0)], h)  # chain ends are fixed points
    label = h.copy()
    jump = rot.copy()
    for _ in range(int(np.log2(max(o.size, 2))) + 1):  # 2**k steps: more than any valence
        label = np.minimum(label, label[jump])
        jump = jump[jump]
    chain = ~has_twin[jump]  # walked into a boundary half-edge: an open fan
    fan_id = np.where(chain, jump, label)
    fans = np.unique(o * (o.size + 1) + fan_id)
    fans_per_vertex = np.bincount(fans // (o.size + 1), minlength=nv)
    nonmanifold_vertices = int(np.count_nonzero(fans_per_vertex > 1))
    unused = int(np.count_nonzero(fans_per_vertex == 0))

    boundary = int(np.count_nonzero(ucount == 1))
    nonmanifold = int(np.count_nonzero(ucount > 2))
    closed = boundary == 0 and nonmanifold == 0
    consistent = dup_directed == 0
    manifold = nonmanifold == 0 and nonmanifold_vertices == 0
    return dict(
        edges=int(ucount.size), boundary_edges=boundary, nonmanifold_edges=nonmanifold,
        misoriented_edges=dup_directed, nonmanifold_vertices=nonmanifold_vertices,
        unused_vertices=unused, closed=closed, consistent=consistent, manifold=manifold,
        watertight=closed and consistent and manifold,
        euler=int(nv - ucount.size + mesh.num_polygons),
    )


def triangles(mesh: relief_mesh.ReliefMesh) -> np.ndarray:
    """(T, 3) vertex indices: every polygon fanned from its first loop (for STL-like use)."""
    tris = []
    for size, starts in mesh.polygon_loops():
        for k in range(1, size - 1):
            tris.append(np.stack([starts, starts + k, starts + k + 1], axis=1))
    if not tris:
        return np.zeros((0, 3), np.int64)
    return mesh.loop_vertex[np.concatenate(tris)]


def volume(mesh: relief_mesh.ReliefMesh) -> float:
    """Signed volume by the divergence theorem: positive when normals point outwards.
    Meaningful for closed meshes; non-planar quads are split along their first diagonal."""
    tri = triangles(mesh)
    p = mesh.co.astype(np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def surface_area(mesh: relief_mesh.ReliefMesh) -> float:
    tri = triangles(mesh)
    p = mesh.co.astype(np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())
