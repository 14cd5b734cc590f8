"""Depth map -> relief mesh arrays, ready for ``foreach_set``. bpy-free, numpy only.

Conventions
-----------
Input depth follows ``providers/contract.py``: float (H, W) in 0..1, row 0 = top of the image,
1 = nearest to the camera, 0 = background. Values at or below ``background_level`` are
background.

The vertex grid has ``resolution`` vertices along the image's long side and the short side
in proportion (at least 2). The outer vertices sit on the image border, so the mesh is
exactly ``width`` long on the long side with the image's true aspect ratio, and each vertex
carries the exact area average of the depth in a cell one vertex spacing wide centred on
it (bilinear interpolation where the grid is finer than the image).

Output mesh (a :class:`ReliefMesh`):

- lies in the XY plane, centred on the origin in X and Y, image top towards +Y, front facing
  +Z; the relief rises from z = 0 (background) to ``strength * width`` (depth 1);
- the front is quads, one per grid cell. With ``background="CUT"`` a cell whose four corners
  are all foreground stays a quad, a cell with exactly three gets one triangle across the
  missing corner (a 45 degree chamfer instead of a staircase silhouette), others are dropped.
  Triangles appear only there. Foreground vertices where two faces would touch at a single
  point (a "bow-tie", as diagonal pixel contacts produce) are cut too, so the front is
  vertex-manifold and a rim can follow it;
- ``solid=True`` adds a flat back at z = -thickness (a mirror copy of the front's topology,
  reversed) and a vertical rim wall along every boundary loop of the front - the outer
  silhouette(s) and the holes - so the result is closed, edge- and vertex-manifold and
  consistently wound with normals pointing outwards, ready to 3D print. Every island the cut
  leaves is kept, each one closed on its own;
- UVs map the photo onto the front: u = 0..1 left to right, v = 0 at the bottom row and 1 at
  the top (Blender's convention). Back vertices reuse the UV of the front vertex they copy
  (the photo seen through the model, mirrored from behind), and the rim therefore shows the
  silhouette pixel stretched down the wall: no seams, no distortion on the front.

Vertex layout: front vertices first (``n_front`` of them, row-major grid order, unused grid
vertices removed, ``grid_index`` gives each one's flat index into the (rows, cols) grid),
then, when solid, their back copies in the same order (vertex ``i + n_front`` is below
vertex ``i``). Polygons: front (``n_front_polys``), then back (``n_back_polys``), then rim
(``n_rim_polys``) - handy for ``material_index``.

The Blender side (``blender/meshes.from_relief``) builds it with ``foreach_set`` only:
vertices ``co``, loops ``vertex_index``, polygons ``loop_start`` (``loop_total`` is
read-only in 4.x: sizes follow from the next start), UVs per loop, and
``update(calc_edges=True)``; edges are never added by hand.

Optionally ``mesh.polygons.foreach_set("material_index", ...)`` with the front / back / rim
ranges below, and ``mesh.shade_smooth()`` (4.1+) for the front. Checked with bpy 4.2:
validate() changes nothing, bmesh finds no non-manifold edge or vertex on a solid relief,
and its volume equals :func:`volume`.

Updating the heights of an existing relief whose topology did not change (same depth
mask, resolution and cut; only strength, smoothing or width changed)::

    z = heights_only(depth, resolution, strength, smoothing, width=width).ravel()
    co[:n_front, 2] = z[grid_index]

Scale: distances are metres (Blender units at the default unit scale). The default width,
0.2 m, is a portrait plaque that fits the bed of common desktop printers (>= 220 mm) and is
a plausible real-world object in a scene. Slicers read STL/OBJ numbers as millimetres, so
export with scale 1000 (or set the scene's unit scale to 0.001) when printing.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Tuple

import numpy as np

from . import images
from .errors import InputError

BACKGROUND_MODES = ("CUT", "BASE")

DEFAULT_RESOLUTION = 512
MAX_RESOLUTION = 4096  # 16.8 M vertices (33.6 M solid): beyond that Blender struggles
DEFAULT_WIDTH = 0.2  # metres, long side: see the module docstring
DEFAULT_STRENGTH = 0.1  # max relief height as a fraction of width: 20 mm on a 200 mm plaque
DEFAULT_SMOOTHING = 1.0  # Gaussian sigma in grid cells: removes provider noise, keeps detail
DEFAULT_THICKNESS = 0.004  # metres of back plate under the lowest point: stiff when printed

# A grid cell counts as foreground when at least this fraction of its image area is.
_COVERAGE_FOREGROUND = 0.5


@dataclasses.dataclass
class ReliefMesh:
    """Mesh arrays in the layout Blender's ``foreach_set`` wants (see the module docstring)."""

    co: np.ndarray  # float32 (V, 3)
    loop_vertex: np.ndarray  # int32 (L,)
    poly_start: np.ndarray  # int32 (P,) index of each polygon's first loop
    poly_size: np.ndarray  # int32 (P,) 3 or 4
    loop_uv: np.ndarray  # float32 (L, 2)
    grid_shape: Tuple[int, int]  # (rows, cols) of the vertex grid
    grid_index: np.ndarray  # int32 (n_front,) flat grid index of each front vertex
    n_front: int = 0  # front vertices; back copies (if solid) follow
    n_front_polys: int = 0
    n_back_polys: int = 0
    n_rim_polys: int = 0

    @property
    def num_vertices(self) -> int:
        return int(self.co.shape[0])

    @property
    def num_loops(self) -> int:
        return int(self.loop_vertex.shape[0])

    @property
    def num_polygons(self) -> int:
        return int(self.poly_start.shape[0])

    @property
    def num_triangles(self) -> int:
        return int(np.count_nonzero(self.poly_size == 3))

    @property
    def solid(self) -> bool:
        return self.n_back_polys > 0

    def polygon_loops(self):
        """Yield (size, loop starts) for each polygon size present (3, then 4)."""
        for size in (3, 4):
            sel = self.poly_size == size
            if np.any(sel):
                yield size, self.poly_start[sel]


# --------------------------------------------------------------------------------------------
# Grid sampling and heights
# --------------------------------------------------------------------------------------------


def grid_shape(image_shape: Tuple[int, int], resolution: int) -> Tuple[int, int]:
    """(rows, cols) of the vertex grid: ``resolution`` along the long side, aspect kept."""
    h, w = int(image_shape[0]), int(image_shape[1])
    res = _check_resolution(resolution)
    if w >= h:
        return max(2, int(round(res * h / w))), res
    return res, max(2, int(round(res * w / h)))


def _check_resolution(resolution) -> int:
    res = int(resolution)
    if res != resolution or not 2 <= res <= MAX_RESOLUTION:
        raise InputError(f"Resolution must be a whole number from 2 to {MAX_RESOLUTION}, "
                         f"not {resolution!r}")
    return res


def _as_depth(depth) -> np.ndarray:
    """float32 (H, W) in 0..1 from float (NaN -> 0) or 8/16-bit integer depth."""
    d = np.asarray(depth)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[:, :, 0]
    if d.ndim != 2 or d.shape[0] < 2 or d.shape[1] < 2:
        raise InputError(f"A depth map must be a 2D image of at least 2x2 pixels, "
                         f"got shape {d.shape}")
    if np.issubdtype(d.dtype, np.integer):  # 8/16-bit depth images: full scale = 1
        return (d.astype(np.float32) / np.float32(np.iinfo(d.dtype).max)).clip(0.0, 1.0)
    d = d.astype(np.float32, copy=False)
    return np.clip(np.nan_to_num(d, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def _area_average_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Exact area average of the piecewise-constant pixels of ``a`` along one axis, over a
    window centred on each of ``n_out`` vertices spread from border to border.

    Vertex k sits at pixel-edge coordinate k * n / (n_out - 1) and averages a window one
    vertex spacing wide (at least one pixel: when upsampling, a one-pixel window is exactly
    linear interpolation between pixel centres). Windows overhanging the border see the
    border pixel repeated. Uses the running sum, so any window costs the same.
    """
    n = a.shape[axis]
    step = n / (n_out - 1)
    half = max(step, 1.0) / 2.0
    pad = int(math.ceil(half)) + 1
    widths = [(0, 0), (0, 0)]
    widths[axis] = (pad, pad)
    padded = np.pad(a, widths, mode="edge").astype(np.float64)
    run = np.cumsum(padded, axis=axis)
    zero_shape = list(run.shape)
    zero_shape[axis] = 1
    run = np.concatenate([np.zeros(zero_shape), run], axis=axis)  # run[i] = sum(padded[:i])

    def integral(x):  # integral of the padded pixels from 0 to x (pixel-edge coordinate)
        i = np.floor(x).astype(np.intp)
        f = x - i
        f = f[:, None] if axis == 0 else f[None, :]
        return np.take(run, i, axis=axis) + f * np.take(padded, i, axis=axis)

    if step >= 1.0:  # windows tile the axis: one integral per window edge
        edges = (np.arange(n_out + 1, dtype=np.float64) - 0.5) * step + pad
        out = np.diff(integral(edges), axis=axis) / step
    else:  # one-pixel windows overlap
        centres = np.arange(n_out, dtype=np.float64) * step + pad
        out = integral(centres + 0.5) - integral(centres - 0.5)
    return out.astype(np.float32)


def _sample_at_vertices(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Area average of ``a`` over a cell centred on each vertex.

    The vertices span the image from border to border: vertex (r, c) sits at image position
    (c * W / (cols - 1), r * H / (rows - 1)) in pixel-edge coordinates and its cell is one
    vertex spacing wide, so the depth a vertex carries is the depth under it, and UV (0, 0)
    to (1, 1) is exactly the image.
    """
    h, w = a.shape
    if w / cols >= h / rows:  # shrink the axis that shrinks most first: less work after
        return _area_average_axis(_area_average_axis(a, cols, 1), rows, 0)
    return _area_average_axis(_area_average_axis(a, rows, 0), cols, 1)


def _sample(depth: np.ndarray, rows: int, cols: int, background_level: float):
    """Grid depth and foreground mask.

    Each vertex gets the mean depth of the *foreground* part of its cell, so vertices on
    the silhouette are not pulled towards 0 by the background they overlap; a vertex is
    foreground when at least half its cell is.
    """
    fg = (depth > background_level).astype(np.float32)
    coverage = _sample_at_vertices(fg, rows, cols)
    weighted = _sample_at_vertices(depth * fg, rows, cols)
    mask = coverage >= _COVERAGE_FOREGROUND
    grid = np.zeros((rows, cols), np.float32)
    np.divide(weighted, coverage, out=grid, where=mask)
    return np.clip(grid, 0.0, 1.0), mask


def _check_common(strength, smoothing, width):
    if not (math.isfinite(width) and width > 0):
        raise InputError(f"Width must be greater than 0, not {width!r}")
    if not (math.isfinite(strength) and strength >= 0):
        raise InputError(f"Strength must be 0 or more, not {strength!r}")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise InputError(f"Smoothing must be 0 or more, not {smoothing!r}")


def _heights(depth: np.ndarray, resolution, strength, smoothing, width, background_level):
    """Front heights (rows, cols) in metres and the foreground mask; ``depth`` is checked."""
    _check_common(strength, smoothing, width)
    rows, cols = grid_shape(depth.shape, resolution)
    grid, mask = _sample(depth, rows, cols, float(background_level))
    smooth = images.masked_blur(grid, mask, float(smoothing))
    z = (smooth * np.float32(strength * width)).astype(np.float32)
    return z, mask


def heights_only(depth, resolution: int = DEFAULT_RESOLUTION, strength: float = DEFAULT_STRENGTH,
                 smoothing: float = DEFAULT_SMOOTHING, *, width: float = DEFAULT_WIDTH,
                 background_level: float = 0.0) -> np.ndarray:
    """The (rows, cols) float32 grid of front heights in metres, row 0 = top of the image.

    Exactly the z values :func:`depth_to_relief` gives its front vertices (background
    vertices are 0), so an existing relief can be updated in place through ``grid_index``.
    """
    return _heights(_as_depth(depth), resolution, strength, smoothing, width,
                    background_level)[0]


# --------------------------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------------------------


def _neighbours(fg: np.ndarray):
    """The 8 neighbours of every vertex (False outside the grid), as (rows, cols) views."""
    p = np.pad(fg, 1)
    return dict(
        NW=p[:-2, :-2], N=p[:-2, 1:-1], NE=p[:-2, 2:],
        W=p[1:-1, :-2], E=p[1:-1, 2:],
        SW=p[2:, :-2], S=p[2:, 1:-1], SE=p[2:, 2:],
    )


def _pinched(fg: np.ndarray) -> np.ndarray:
    """Foreground vertices where the front's faces would meet in two separate fans (a
    "bow-tie": surfaces touching at a single point), which is not manifold.

    A cell has a face when at least 3 of its 4 corners are foreground. Around a vertex the
    faces of two neighbouring cells share an edge exactly when both exist and the vertex
    between them along the grid line is foreground.
    """
    n = _neighbours(fg)
    i8 = lambda b: b.astype(np.int8)  # noqa: E731
    q_ne = fg & (i8(n["N"]) + i8(n["NE"]) + i8(n["E"]) >= 2)
    q_se = fg & (i8(n["E"]) + i8(n["SE"]) + i8(n["S"]) >= 2)
    q_sw = fg & (i8(n["S"]) + i8(n["SW"]) + i8(n["W"]) >= 2)
    q_nw = fg & (i8(n["W"]) + i8(n["NW"]) + i8(n["N"]) >= 2)
    faces = i8(q_ne) + i8(q_se) + i8(q_sw) + i8(q_nw)
    links = (i8(q_nw & q_ne & n["N"]) + i8(q_ne & q_se & n["E"])
             + i8(q_se & q_sw & n["S"]) + i8(q_sw & q_nw & n["W"]))
    fans = np.where(links == 4, 1, faces - links)
    return fans >= 2


def _clean_mask(fg: np.ndarray) -> np.ndarray:
    """Drop pinch vertices until there are none (usually one pass; each pass only shrinks
    the mask, so it terminates)."""
    fg = fg.copy()
    while True:
        bad = _pinched(fg)
        if not bad.any():
            return fg
        fg &= ~bad


def _front_topology(fg: np.ndarray):
    """Front faces and directed boundary edges in flat grid indices.

    Returns (quads (Q,4), tris (T,3), boundary (B,2), used (rows, cols) bool). Faces wind
    counter-clockwise seen from +Z: bottom-left, bottom-right, top-right, top-left.
    """
    rows, cols = fg.shape
    tl, tr, bl, br = fg[:-1, :-1], fg[:-1, 1:], fg[1:, :-1], fg[1:, 1:]
    count = tl.astype(np.int8) + tr + bl + br
    quad = count == 4
    tri = count == 3
    present = quad | tri

    def corners(cell_mask):
        r, c = np.nonzero(cell_mask)
        base = (r * cols + c).astype(np.int32)
        # CCW from +Z (x right, y up = row up): BL, BR, TR, TL
        return np.stack([base + cols, base + cols + 1, base + 1, base], axis=1)

    quads = corners(quad)

    r, c = np.nonzero(tri)
    tri_all = corners(tri)
    tri_fg = np.stack([bl[r, c], br[r, c], tr[r, c], tl[r, c]], axis=1)
    tris = tri_all[tri_fg].reshape(-1, 3)

    # Boundary edges, directed as the face that uses them traverses them.
    edges = []
    # horizontal edges (r, c)-(r, c+1): top side of cell (r, c), bottom side of cell (r-1, c)
    below = np.zeros((rows, cols - 1), bool)
    below[:-1] = present
    above = np.zeros((rows, cols - 1), bool)
    above[1:] = present
    h = fg[:, :-1] & fg[:, 1:] & (below ^ above)
    hr, hc = np.nonzero(h)
    a = (hr * cols + hc).astype(np.int32)
    b = a + 1
    flip = below[hr, hc]  # the cell below walks it TR -> TL, i.e. right to left
    edges.append(np.stack([np.where(flip, b, a), np.where(flip, a, b)], axis=1))
    # vertical edges (r, c)-(r+1, c): left side of cell (r, c), right side of cell (r, c-1)
    right = np.zeros((rows - 1, cols), bool)
    right[:, :-1] = present
    left = np.zeros((rows - 1, cols), bool)
    left[:, 1:] = present
    v = fg[:-1, :] & fg[1:, :] & (right ^ left)
    vr, vc = np.nonzero(v)
    a = (vr * cols + vc).astype(np.int32)
    b = a + cols
    down = right[vr, vc]  # the cell to the right walks it TL -> BL, i.e. downwards
    edges.append(np.stack([np.where(down, a, b), np.where(down, b, a)], axis=1))
    # the diagonal of every triangle: from the corner before the missing one to the one after
    missing = np.argmin(tri_fg, axis=1)
    k = np.arange(tri_all.shape[0])
    edges.append(np.stack([tri_all[k, (missing - 1) % 4], tri_all[k, (missing + 1) % 4]], axis=1))
    boundary = np.concatenate(edges).astype(np.int32)

    pp = np.pad(present, 1)
    used = fg & (pp[:-1, :-1] | pp[:-1, 1:] | pp[1:, :-1] | pp[1:, 1:])
    return quads, tris, boundary, used


# --------------------------------------------------------------------------------------------
# The mesh
# --------------------------------------------------------------------------------------------


def depth_to_relief(depth, *, resolution: int = DEFAULT_RESOLUTION,
                    width: float = DEFAULT_WIDTH, strength: float = DEFAULT_STRENGTH,
                    smoothing: float = DEFAULT_SMOOTHING, background: str = "CUT",
                    solid: bool = False, thickness: float = DEFAULT_THICKNESS,
                    background_level: float = 0.0) -> ReliefMesh:
    """Build a relief mesh from a depth map (see the module docstring for the layout).

    - ``resolution``: vertices along the image's long side (2..MAX_RESOLUTION).
    - ``width``: size of the long side in metres.
    - ``strength``: height of depth 1 as a fraction of ``width``.
    - ``smoothing``: Gaussian sigma in grid cells, applied inside the foreground only.
    - ``background``: ``"CUT"`` removes the background (a face needs at least 3 foreground
      corners); ``"BASE"`` keeps the full rectangle with the background flat at z = 0.
    - ``solid``: add a flat back at z = -``thickness`` and a rim wall, closing the mesh.
    - ``background_level``: depth values at or below it are background.

    Raises ``ValueError`` with a message fit for an artist on bad input, including a CUT
    that leaves nothing (a depth map without foreground).
    """
    if background not in BACKGROUND_MODES:
        raise InputError(f"Background must be one of {', '.join(BACKGROUND_MODES)}, "
                         f"not {background!r}")
    if solid and not (math.isfinite(thickness) and thickness > 0):
        raise InputError(f"Thickness must be greater than 0 for a solid relief, "
                         f"not {thickness!r}")
    depth = _as_depth(depth)
    z, mask = _heights(depth, resolution, strength, smoothing, width, background_level)
    rows, cols = z.shape

    if background == "CUT":
        fg = _clean_mask(mask)
    else:
        fg = np.ones((rows, cols), bool)
    quads, tris, boundary, used = _front_topology(fg)
    if quads.shape[0] + tris.shape[0] == 0:
        raise InputError("The depth map has no foreground large enough to build a relief "
                         "at this resolution (everything is background). Try "
                         "Background: Base, or a higher resolution.")

    # Compact the used grid vertices.
    grid_index = np.flatnonzero(used).astype(np.int32)
    n_front = int(grid_index.size)
    remap = np.full(rows * cols, -1, np.int32)
    remap[grid_index] = np.arange(n_front, dtype=np.int32)
    quads = remap[quads]
    tris = remap[tris]

    # Positions and per-vertex UVs of the front.
    size_x, size_y = images.extent(*depth.shape, width)
    gr, gc = np.divmod(grid_index, cols)
    u = (gc / (cols - 1)).astype(np.float32)
    v = (1.0 - gr / (rows - 1)).astype(np.float32)
    front_co = np.empty((n_front, 3), np.float32)
    front_co[:, 0] = (u - 0.5) * size_x
    front_co[:, 1] = (v - 0.5) * size_y
    front_co[:, 2] = z.ravel()[grid_index]
    vertex_uv = np.stack([u, v], axis=1)

    # Polygons: front quads, front triangles, then back (reversed) and rim.
    loop_parts = [quads.ravel(), tris.ravel()]
    size_parts = [np.full(quads.shape[0], 4, np.int32), np.full(tris.shape[0], 3, np.int32)]
    n_front_polys = quads.shape[0] + tris.shape[0]
    n_back = n_rim = 0
    co = front_co
    if solid:
        back_co = front_co.copy()
        back_co[:, 2] = -float(thickness)
        co = np.concatenate([front_co, back_co])
        vertex_uv = np.concatenate([vertex_uv, vertex_uv])
        off = np.int32(n_front)
        loop_parts += [(quads[:, ::-1] + off).ravel(), (tris[:, ::-1] + off).ravel()]
        size_parts += size_parts[:2]
        n_back = n_front_polys
        # Rim: a boundary edge a -> b of the front becomes the quad b, a, a', b' (primes are
        # back copies); it walks the shared edge b -> a, opposite to the front face, and
        # its normal points out of the solid.
        e = remap[boundary]
        a, b = e[:, 0], e[:, 1]
        rim = np.stack([b, a, a + off, b + off], axis=1)
        loop_parts.append(rim.ravel())
        size_parts.append(np.full(rim.shape[0], 4, np.int32))
        n_rim = rim.shape[0]

    loop_vertex = np.concatenate(loop_parts).astype(np.int32, copy=False)
    poly_size = np.concatenate(size_parts)
    poly_start = np.zeros_like(poly_size)
    np.cumsum(poly_size[:-1], out=poly_start[1:])
    return ReliefMesh(
        co=np.ascontiguousarray(co, dtype=np.float32),
        loop_vertex=loop_vertex,
        poly_start=poly_start,
        poly_size=poly_size,
        loop_uv=np.ascontiguousarray(vertex_uv[loop_vertex], dtype=np.float32),
        grid_shape=(rows, cols),
        grid_index=grid_index,
        n_front=n_front,
        n_front_polys=int(n_front_polys),
        n_back_polys=int(n_back),
        n_rim_polys=int(n_rim),
    )


# --------------------------------------------------------------------------------------------
# Checks (used by the tests; cheap enough to run on every export)
# --------------------------------------------------------------------------------------------


def _half_edges(mesh: ReliefMesh):
    """(origin, target, next) of every loop: the directed edge it starts."""
    lv = mesh.loop_vertex.astype(np.int64)
    poly_of_loop = np.repeat(np.arange(mesh.num_polygons), mesh.poly_size)
    start = mesh.poly_start[poly_of_loop]
    end = start + mesh.poly_size[poly_of_loop]
    nxt = np.arange(lv.size) + 1
    nxt[nxt == end] = start[nxt == end]
    return lv, lv[nxt], nxt


def check_manifold(mesh: ReliefMesh) -> dict:
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
    for _ in range(8):  # 2**8 steps: far more than any vertex's valence here
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


def _fan_triangles(mesh: ReliefMesh) -> np.ndarray:
    """(T, 3) vertex indices: every polygon fanned from its first loop."""
    tris = []
    for size, starts in mesh.polygon_loops():
        for k in range(1, size - 1):
            tris.append(np.stack([starts, starts + k, starts + k + 1], axis=1))
    if not tris:
        return np.zeros((0, 3), np.int64)
    return mesh.loop_vertex[np.concatenate(tris)]


fan_triangles = _fan_triangles   # public: the STL writer (core/stl.py) triangulates with it


def volume(mesh: ReliefMesh) -> float:
    """Signed volume by the divergence theorem: positive when normals point outwards.
    Meaningful for closed meshes; non-planar quads are split along their first diagonal."""
    tri = _fan_triangles(mesh)
    p = mesh.co.astype(np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def surface_area(mesh: ReliefMesh) -> float:
    tri = _fan_triangles(mesh)
    p = mesh.co.astype(np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())
