"""Depth map -> relief mesh arrays, ready for ``foreach_set``. bpy-free, numpy only.

Conventions
-----------
Input depth follows ``providers/contract.py``: float (H, W) in 0..1, row 0 = top of the image,
1 = nearest to the camera, 0 = background. The subject (foreground) comes from
:mod:`core.foreground`: a person mask (``alpha``) when given, else a hysteresis threshold
on the depth with clean-up (``background_level`` instead sets a plain threshold).

The vertex grid has ``resolution`` vertices along the image's long side and the short side
in proportion (at least 2). The outer vertices sit on the image border, so the mesh is
exactly ``long_side`` long on the long side with the image's true aspect ratio, and each
vertex carries the exact area average of the subject's depth in a cell one vertex spacing
wide centred on it (bilinear interpolation where the grid is finer than the image).

Heights: ``compression="GRADIENT"`` (default) compresses the depth's slopes
(:mod:`core.bas_relief`) and scales the result so the highest point is ``relief_height``;
``"LINEAR"`` makes height proportional to depth (depth 1 = ``relief_height``). ``engrave``
turns the heights downwards, into the plate.

Output mesh (a :class:`ReliefMesh`):

- lies in the XY plane, centred on the origin in X and Y, image top towards +Y, front facing
  +Z; the relief rises from z = 0 (background) to ``relief_height`` (or sinks to
  ``-relief_height`` when engraved);
- the front is quads, one per grid cell. With ``background="CUT"`` a cell whose four corners
  are all foreground stays a quad, a cell with exactly three gets one triangle across the
  missing corner, others are dropped. Triangles appear only there. Foreground vertices where
  two faces would touch at a single point (a "bow-tie", as diagonal pixel contacts produce)
  are cut too, so the front is vertex-manifold and a rim can follow it. The outline's
  vertices are then moved onto the sub-pixel contour of the subject's coverage
  (:mod:`core.contours`; never folding a face, never leaving a rim facet under
  ``MIN_RIM_EDGE`` cells);
- ``solid=True`` adds a flat back ``thickness`` below the lowest point and a vertical rim
  wall along every boundary loop of the front - the outer silhouette(s) and the holes - so
  the result is closed, edge- and vertex-manifold and consistently wound with normals
  pointing outwards, ready to 3D print. The back uses only copies of the boundary vertices,
  triangulated band by band between grid rows (``contours.grid_back_triangles``): a few
  triangles per outline vertex instead of a copy of the front. Every island the cut leaves
  is kept, each one closed on its own;
- UVs map the photo onto the front: u = 0..1 left to right, v = 0 at the bottom row and 1 at
  the top (Blender's convention). Back vertices reuse the UV of the front vertex they copy,
  and the rim therefore shows the silhouette pixel stretched down the wall.

Vertex layout: front vertices first (``n_front`` of them, row-major grid order, unused grid
vertices removed, ``grid_index`` gives each one's flat index into the (rows, cols) grid),
then, when solid, the back copies of the boundary vertices (``back_index`` gives the front
vertex each one is below). Polygons: front (``n_front_polys``), then back (``n_back_polys``,
triangles), then rim (``n_rim_polys``) - handy for ``material_index``.

The Blender side (``blender/meshes.from_relief``) builds it with ``foreach_set`` only:
vertices ``co``, loops ``vertex_index``, polygons ``loop_start`` (``loop_total`` is
read-only in 4.x: sizes follow from the next start), UVs per loop, and
``update(calc_edges=True)``; edges are never added by hand.

Updating the heights of an existing relief whose topology did not change (same subject,
resolution and cut; only heights changed)::

    z = heights_only(depth, resolution, relief_height=..., detail=...).ravel()
    co[:n_front, 2] = z[grid_index]

Scale: distances are metres (Blender units at the default unit scale). The defaults print on
a desktop printer with a 0.4 mm nozzle: a 200 mm plaque (fits beds >= 220 mm) in 0.5 mm
cells, 8 mm of relief on a 3 mm base, a height field with vertical walls (no supports).
Slicers read STL/OBJ numbers as millimetres, so export with scale 1000 (or set the scene's
unit scale to 0.001) when printing.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import bas_relief, contours, foreground, images
from .errors import InputError

BACKGROUND_MODES = ("CUT", "BASE")
COMPRESSIONS = bas_relief.COMPRESSIONS

NOZZLE = 0.0004  # metres: the usual FDM nozzle; the defaults print with it without supports
DEFAULT_RESOLUTION = 400  # 0.5 mm cells on the default plaque: every cell wider than NOZZLE
MAX_RESOLUTION = 4096  # 16.8 M vertices (33.6 M solid): beyond that Blender struggles
DEFAULT_LONG_SIDE = 0.2  # metres: see the module docstring
DEFAULT_RELIEF_HEIGHT = 0.008  # metres above the base: 8 mm on a 200 mm plaque
DEFAULT_SMOOTHING = 1.0  # Gaussian sigma in grid cells: removes provider noise, keeps detail
DEFAULT_THICKNESS = 0.003  # metres of back plate under the lowest point: >= 2 mm, stiff
DEFAULT_DETAIL = bas_relief.DEFAULT_DETAIL
DEFAULT_MIN_ISLAND = foreground.DEFAULT_MIN_ISLAND
MIN_RIM_EDGE = 0.85  # grid cells: rim facets at least this wide (0.42 mm on the default plaque)
SILHOUETTE_STEP = 0.08  # GRADIENT: the outline stands this fraction of the height proud

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
    grid_shape: tuple[int, int]  # (rows, cols) of the vertex grid
    grid_index: np.ndarray  # int32 (n_front,) flat grid index of each front vertex
    n_front: int = 0  # front vertices; back copies (if solid) follow
    n_front_polys: int = 0
    n_back_polys: int = 0
    n_rim_polys: int = 0
    back_index: np.ndarray = dataclasses.field(  # int32: front vertex each back one copies
        default_factory=lambda: np.zeros(0, np.int32))

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


def grid_shape(image_shape: tuple[int, int], resolution: int) -> tuple[int, int]:
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
    border pixel repeated. A window spans at most ``ceil(width) + 1`` pixels: each of those
    taps is one gather and one multiply-add of the output's size (float32, no running sum
    over the input); windows wider than ``_MAX_TAPS`` pixels use the running sum instead.
    """
    n = a.shape[axis]
    step = n / (n_out - 1)
    width = max(step, 1.0)
    centre = np.arange(n_out, dtype=np.float64) * step
    lo, hi = centre - width / 2.0, centre + width / 2.0
    first = np.floor(lo).astype(np.intp)
    taps = int(np.max(np.ceil(hi).astype(np.intp) - first))
    if taps > _MAX_TAPS:
        return _area_average_running(a, lo, hi, width, axis)
    shape = [1, 1]
    shape[axis] = n_out
    a = np.asarray(a, np.float32)
    out = term = None
    for j in range(taps):
        i = first + j
        weight = (np.minimum(hi, i + 1) - np.maximum(lo, i)).clip(0.0, None) / width
        term = np.take(a, np.clip(i, 0, n - 1), axis=axis, out=term)   # one scratch array
        term *= weight.astype(np.float32).reshape(shape)
        if out is None:
            out, term = term, None
        else:
            out += term
    return out


_MAX_TAPS = 16


def _area_average_running(a: np.ndarray, lo: np.ndarray, hi: np.ndarray, width: float,
                          axis: int) -> np.ndarray:
    """:func:`_area_average_axis` through the running sum (any window costs the same)."""
    n = a.shape[axis]
    pad = int(math.ceil(width / 2.0)) + 1
    widths = [(0, 0), (0, 0)]
    widths[axis] = (pad, pad)
    padded = np.pad(a, widths, mode="edge").astype(np.float64)
    run = np.cumsum(padded, axis=axis)
    zero_shape = list(run.shape)
    zero_shape[axis] = 1
    run = np.concatenate([np.zeros(zero_shape), run], axis=axis)  # run[i] = sum(padded[:i])

    def integral(x):  # integral of the padded pixels from 0 to x (pixel-edge coordinate)
        x = np.clip(x + pad, 0.0, n + 2 * pad - 1.0)
        i = np.floor(x).astype(np.intp)
        f = x - i
        f = f[:, None] if axis == 0 else f[None, :]
        return np.take(run, i, axis=axis) + f * np.take(padded, i, axis=axis)

    return ((integral(hi) - integral(lo)) / width).astype(np.float32)


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


def _sample(depth: np.ndarray, fg: np.ndarray, rows: int, cols: int):
    """Grid depth, foreground mask and foreground coverage (0..1) of every vertex's cell.

    Each vertex gets the mean depth of the *foreground* part of its cell, so vertices on
    the silhouette are not pulled towards 0 by the background they overlap; a vertex is
    foreground when at least half its cell is.
    """
    fg = fg.astype(np.float32)
    coverage = _sample_at_vertices(fg, rows, cols)
    weighted = _sample_at_vertices(depth * fg, rows, cols)
    mask = coverage >= _COVERAGE_FOREGROUND
    grid = np.zeros((rows, cols), np.float32)
    np.divide(weighted, coverage, out=grid, where=mask)
    return np.clip(grid, 0.0, 1.0), mask, coverage


def _check_common(relief_height, smoothing, long_side, compression="LINEAR", detail=0.0,
                  min_island=0.0):
    if not (math.isfinite(long_side) and long_side > 0):
        raise InputError(f"Size (the long side) must be greater than 0, not {long_side!r}")
    if not (math.isfinite(relief_height) and relief_height >= 0):
        raise InputError(f"Relief height must be 0 or more, not {relief_height!r}")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise InputError(f"Smoothing must be 0 or more, not {smoothing!r}")
    if compression not in COMPRESSIONS:
        raise InputError(f"Compression must be one of {', '.join(COMPRESSIONS)}, "
                         f"not {compression!r}")
    if not (math.isfinite(detail) and 0 <= detail <= 1):
        raise InputError(f"Detail must be from 0 to 1, not {detail!r}")
    if not (math.isfinite(min_island) and 0 <= min_island <= 1):
        raise InputError(f"Minimum island must be from 0 to 1, not {min_island!r}")


def _heights(depth: np.ndarray, resolution, *, relief_height, smoothing, long_side,
             compression, detail, engrave, background_level, alpha, min_island):
    """Front heights (rows, cols) in metres, the foreground mask and its coverage."""
    _check_common(relief_height, smoothing, long_side, compression, detail, min_island)
    rows, cols = grid_shape(depth.shape, resolution)
    alpha = None if alpha is None else fit_depth(alpha, depth.shape)
    shrink = int(max(depth.shape) // (2 * max(rows, cols)))
    if shrink >= 2:  # a grid much coarser than the image: the subject at twice its size
        small = (max(2, depth.shape[0] // shrink), max(2, depth.shape[1] // shrink))
        depth = images.resize(depth, *small)
        alpha = None if alpha is None else images.resize(alpha, *small)
    fg = foreground.foreground(depth, alpha=alpha, level=background_level,
                               min_island=min_island)
    grid, mask, coverage = _sample(depth, fg, rows, cols)
    smooth = images.masked_blur(grid, mask, float(smoothing))
    if compression == "GRADIENT" and relief_height > 0:
        z01 = bas_relief.compress(smooth * bas_relief.DEPTH_SPAN, mask, detail=detail,
                                  silhouette=SILHOUETTE_STEP)
    else:
        z01 = smooth
    z = (z01 * np.float32(-relief_height if engrave else relief_height)).astype(np.float32)
    return z, mask, coverage


def fit_depth(depth, shape) -> np.ndarray:
    """``depth`` as float32 (H, W) 0..1 brought to ``shape`` (the photo's (H, W)).

    A depth answer of another size but the same aspect ratio (within 2 %) is resized; one
    of another aspect cannot be laid over the photo and is refused with a message."""
    d = _as_depth(depth)
    h, w = int(shape[0]), int(shape[1])
    if d.shape == (h, w):
        return d
    if abs(d.shape[1] / d.shape[0] - w / h) > 0.02 * (w / h):
        raise InputError(f"The depth map is {d.shape[1]}x{d.shape[0]} pixels but the photo is "
                         f"{w}x{h}: their shapes differ, so the depth cannot be laid over the "
                         "photo. Use a depth map made from this photo")
    return np.clip(images.resize(d, h, w), 0.0, 1.0)


def heights_only(depth, resolution: int = DEFAULT_RESOLUTION, *,
                 relief_height: float = DEFAULT_RELIEF_HEIGHT,
                 smoothing: float = DEFAULT_SMOOTHING, long_side: float = DEFAULT_LONG_SIDE,
                 compression: str = "GRADIENT", detail: float = DEFAULT_DETAIL,
                 engrave: bool = False, background_level: float | None = None,
                 alpha=None, min_island: float = DEFAULT_MIN_ISLAND) -> np.ndarray:
    """The (rows, cols) float32 grid of front heights in metres, row 0 = top of the image.

    Exactly the z values :func:`depth_to_relief` gives its front vertices (background
    vertices are 0), so an existing relief can be updated in place through ``grid_index``.
    """
    return _heights(_as_depth(depth), resolution, relief_height=relief_height,
                    smoothing=smoothing, long_side=long_side, compression=compression,
                    detail=detail, engrave=engrave, background_level=background_level,
                    alpha=alpha, min_island=min_island)[0]


def displacement_image(depth, resolution: int = DEFAULT_RESOLUTION, *,
                       background: str = "CUT", **options) -> np.ndarray:
    """RGBA float32 (H, W, 4) for the Displace-modifier path, at the depth's own size:
    heights normalised so the peak is 1 (value x ``relief_height`` = metres; negative when
    engraved) in RGB, the foreground in alpha (all 1 with ``background="BASE"``).

    Same foreground and compression as the mesh; ``smoothing`` is in grid cells of
    ``resolution`` and converted to pixels here."""
    d = _as_depth(depth)
    h, w = d.shape
    smoothing = float(options.pop("smoothing", DEFAULT_SMOOTHING))
    _check_resolution(resolution)
    sigma = smoothing * max(h, w) / max(int(resolution) - 1, 1)
    kwargs = dict(long_side=DEFAULT_LONG_SIDE, compression="GRADIENT", detail=DEFAULT_DETAIL,
                  engrave=False, background_level=None, alpha=None,
                  min_island=DEFAULT_MIN_ISLAND)
    kwargs.update(options)
    z, mask, _ = _heights(d, max(h, w), relief_height=1.0, smoothing=sigma, **kwargs)
    z = images.resize(z, h, w) if z.shape != (h, w) else z
    fg = images.resize(mask.astype(np.float32), h, w) >= 0.5 if mask.shape != (h, w) else mask
    alpha = np.ones_like(z) if background == "BASE" else fg.astype(np.float32)
    return np.dstack([z, z, z, alpha]).astype(np.float32)


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


def _nonzero(mask: np.ndarray):
    """``np.nonzero`` of a sparse (rows, cols) mask (outline edges, triangles): only the rows
    that have any are scanned."""
    rows = np.flatnonzero(mask.any(axis=1))
    r, c = np.nonzero(mask[rows])
    return rows[r], c


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

    top_left = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)[:-1, :-1]

    def corners(cell_mask):
        base = top_left[cell_mask]                     # each cell's top-left grid vertex
        out = np.empty((base.size, 4), np.int32)
        # CCW from +Z (x right, y up = row up): BL, BR, TR, TL; a column at a time (a
        # broadcast over rows of 4 is 4x slower)
        for k, offset in enumerate((cols, cols + 1, 1, 0)):
            np.add(base, offset, out=out[:, k])
        return out

    quads = corners(quad)

    r, c = _nonzero(tri)
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
    hr, hc = _nonzero(h)
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
    vr, vc = _nonzero(v)
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
                    long_side: float = DEFAULT_LONG_SIDE,
                    relief_height: float = DEFAULT_RELIEF_HEIGHT,
                    compression: str = "GRADIENT", detail: float = DEFAULT_DETAIL,
                    engrave: bool = False, smoothing: float = DEFAULT_SMOOTHING,
                    background: str = "CUT", solid: bool = False,
                    thickness: float = DEFAULT_THICKNESS,
                    background_level: float | None = None, alpha=None,
                    min_island: float = DEFAULT_MIN_ISLAND,
                    smooth_outline: bool = True) -> ReliefMesh:
    """Build a relief mesh from a depth map (see the module docstring for the layout).

    - ``resolution``: vertices along the image's long side (2..MAX_RESOLUTION).
    - ``long_side``: size of the image's long side in metres.
    - ``relief_height``: metres from the base to the highest point (LINEAR: depth 1).
    - ``compression``: ``"GRADIENT"`` (bas-relief, :mod:`core.bas_relief`) or ``"LINEAR"``
      (height proportional to depth).
    - ``detail``: 0..1, fine detail kept against the overall shape (GRADIENT).
    - ``engrave``: cut the relief into the plate (heights go down from z = 0).
    - ``smoothing``: Gaussian sigma in grid cells, applied inside the foreground only.
    - ``background``: ``"CUT"`` removes the background (a face needs at least 3 foreground
      corners); ``"BASE"`` keeps the full rectangle with the background flat at z = 0.
    - ``solid``: add a flat back at ``thickness`` below the lowest point and a rim wall.
    - ``background_level``: a plain threshold (depth above it is foreground) instead of the
      automatic foreground; ``alpha``: a person mask (0..1, >= 0.5 is the subject) instead.
    - ``min_island``: pieces smaller than this fraction of the largest are dropped.
    - ``smooth_outline``: move the cut outline onto the sub-pixel contour (CUT only).

    Raises :class:`InputError` with a message fit for an artist on bad input, including a
    CUT that leaves nothing (a depth map without foreground).
    """
    if background not in BACKGROUND_MODES:
        raise InputError(f"Background must be one of {', '.join(BACKGROUND_MODES)}, "
                         f"not {background!r}")
    if solid and not (math.isfinite(thickness) and thickness > 0):
        raise InputError(f"Thickness must be greater than 0 for a solid relief, "
                         f"not {thickness!r}")
    depth = _as_depth(depth)
    z, mask, coverage = _heights(
        depth, resolution, relief_height=relief_height, smoothing=smoothing,
        long_side=long_side, compression=compression, detail=detail, engrave=engrave,
        background_level=background_level, alpha=alpha, min_island=min_island)
    rows, cols = z.shape

    if background == "CUT":
        fg = _clean_mask(mask)
    else:
        fg = np.ones((rows, cols), bool)
    quads, tris, boundary, used = _front_topology(fg)
    if quads.shape[0] + tris.shape[0] == 0:
        raise InputError("The depth map has no subject large enough to build a relief at this "
                         "resolution (everything is background, or flat at 0). Try "
                         "Background: Flat Base, a higher resolution, or another photo.")

    # Compact the used grid vertices.
    every = bool(used.all())                             # e.g. a flat base: remap is identity
    grid_index = (np.arange(rows * cols, dtype=np.int32) if every
                  else np.flatnonzero(used).astype(np.int32))
    n_front = int(grid_index.size)
    if every:
        remap = grid_index
    else:
        remap = np.full(rows * cols, -1, np.int32)
        remap[grid_index] = np.arange(n_front, dtype=np.int32)

    # Positions (in grid cells: row, col) and per-vertex UVs of the front.
    gr, gc = np.divmod(grid_index, cols)
    bnd = np.unique(boundary[:, 0])                      # flat grid indices, sorted
    if background == "CUT" and smooth_outline and bnd.size:
        rc = contours.smooth_grid_outline(np.stack([gr, gc], axis=1).astype(np.float64),
                                          coverage, remap, boundary, bnd, quads, tris, fg,
                                          MIN_RIM_EDGE)
        gr, gc = rc[:, 0], rc[:, 1]
    size_x, size_y = images.extent(*depth.shape, long_side)
    vertex_uv = np.empty((n_front, 2), np.float32)
    u, v = vertex_uv[:, 0], vertex_uv[:, 1]
    u[...] = gc / (cols - 1)
    v[...] = 1.0 - gr / (rows - 1)
    front_co = np.empty((n_front, 3), np.float32)
    front_co[:, 0] = (u - 0.5) * size_x
    front_co[:, 1] = (v - 0.5) * size_y
    front_co[:, 2] = z.ravel() if every else z.ravel()[grid_index]
    quads_f, tris_f = (quads, tris) if every else (remap[quads], remap[tris])

    # Polygons: front quads, front triangles, then back and rim.
    loop_parts = [quads_f.ravel(), tris_f.ravel()]
    size_parts = [np.full(quads.shape[0], 4, np.int32), np.full(tris.shape[0], 3, np.int32)]
    n_front_polys = quads.shape[0] + tris.shape[0]
    n_back = n_rim = 0
    co = front_co
    back_index = np.zeros(0, np.int32)
    if solid:
        # The back: only copies of the boundary vertices, triangulated row band by row band.
        back_index = remap[bnd]
        n_back_v = back_index.size
        back_co = front_co[back_index].copy()
        bottom = float(min(0.0, float(z[fg].min()) if fg.any() else 0.0))
        back_co[:, 2] = bottom - float(thickness)
        co = np.concatenate([front_co, back_co])
        vertex_uv = np.concatenate([vertex_uv, vertex_uv[back_index]])
        back_of = np.full(rows * cols, -1, np.int32)
        back_of[bnd] = n_front + np.arange(n_back_v, dtype=np.int32)
        back_tris = back_of[contours.grid_back_triangles(fg, bnd)][:, ::-1]   # facing -Z
        loop_parts.append(back_tris.ravel())
        size_parts.append(np.full(back_tris.shape[0], 3, np.int32))
        n_back = back_tris.shape[0]
        # Rim: a boundary edge a -> b of the front becomes the quad b, a, a', b' (primes are
        # back copies); it walks the shared edge b -> a, opposite to the front face, and
        # its normal points out of the solid.
        a, b = boundary[:, 0], boundary[:, 1]
        rim = np.stack([remap[b], remap[a], back_of[a], back_of[b]], axis=1)
        loop_parts.append(rim.ravel())
        size_parts.append(np.full(rim.shape[0], 4, np.int32))
        n_rim = rim.shape[0]

    filled = [part for part in loop_parts if part.size]
    loop_vertex = (filled[0] if len(filled) == 1 else np.concatenate(loop_parts)).astype(
        np.int32, copy=False)
    poly_size = np.concatenate(size_parts)
    # Each part's polygons have one size: their starts are a range, no running sum needed.
    starts, first = [], 0
    for part, sizes in zip(loop_parts, size_parts):
        if sizes.size:
            starts.append(np.arange(first, first + part.size, sizes[0], dtype=np.int32))
        first += part.size
    poly_start = np.concatenate(starts) if starts else np.zeros(0, np.int32)
    return ReliefMesh(
        co=np.ascontiguousarray(co, dtype=np.float32),
        loop_vertex=loop_vertex,
        poly_start=poly_start,
        poly_size=poly_size,
        loop_uv=_gather_pairs(vertex_uv, loop_vertex),
        grid_shape=(rows, cols),
        grid_index=grid_index,
        n_front=n_front,
        n_front_polys=int(n_front_polys),
        n_back_polys=int(n_back),
        n_rim_polys=int(n_rim),
        back_index=back_index.astype(np.int32),
    )


def _gather_pairs(pairs: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``pairs[index]`` for float32 (N, 2) ``pairs``, each pair moved as one 8-byte item: 5x
    faster than indexing the rows, without the 64-bit copy of ``index`` np.take makes."""
    pairs = np.ascontiguousarray(pairs, np.float32)
    return pairs.view(np.int64)[:, 0][index].view(np.float32).reshape(-1, 2)
