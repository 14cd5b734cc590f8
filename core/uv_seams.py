"""Filling marks across UV seams: neighbours found on the model's surface, not in the image.

A mark painted over a UV seam lands in the texture as two blobs at the borders of two islands
that lie far apart in the image. Filled in image space, each blob takes its colour from
whatever is beside it in the image (its own island on one side, the empty gutter or another
island on the other), and on the model the cleaned spot shows a seam-shaped mark. Here every
texel's neighbours are found on the surface instead:

1. :func:`rasterise` maps each texel centre to the triangle under it and its barycentric
   coordinates (a texel-to-surface map).
2. For each texel, a one-texel step left, right, up and down is taken in its triangle's UV
   plane. A step that leaves the triangle is carried across the crossed edge into the
   3D-adjacent triangle (the two share the edge's vertices): the neighbouring triangle is
   unfolded about the shared edge into the plane of the first, the stepped point is expressed
   in its barycentric coordinates and mapped to *its* UVs, which across a seam are in another
   island. Inside an island this lands exactly where the image step would.
3. :func:`fill` solves the membrane (Laplace) equation on the marked texels with those
   neighbours (bilinear samples, off-surface texels excluded): each marked texel becomes the
   average of its four surface neighbours, so colour flows across the seam continuously.

The membrane is smooth: it restores colour gradients, shading and flat paint across a seam;
fine texture inside a mark is not synthesised (image-space patch filling does that within an
island). Marks that touch no seam need none of this.

Conventions: images are (H, W[, C]) with row 0 at the TOP; UVs are Blender's (u right, v up,
0..1 over the image). Texel centres are at ``((col + 0.5) / W, 1 - (row + 0.5) / H)``.
bpy-free, numpy only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import NEVER_CANCELLED, InputError

# A barycentric coordinate this far below 0 still counts as inside (texels on an edge).
INSIDE_EPS = -1e-6
MAX_SWEEPS = 20_000        # Jacobi sweeps at most (a 100-texel-wide mark needs about 10,000)
TOLERANCE = 1e-5           # stop when no value moves more than this in a sweep (0..1 colours)


@dataclasses.dataclass
class SurfaceMesh:
    """The triangles of a UV-mapped mesh: what :func:`fill` needs from Blender's loop
    triangles. ``corners`` index ``positions``; triangles sharing two corner indices are
    adjacent on the surface, whatever their UVs."""

    positions: np.ndarray   # float (V, 3)
    corners: np.ndarray     # int (T, 3) vertex indices per triangle corner
    uvs: np.ndarray         # float (T, 3, 2) UV per triangle corner

    def __post_init__(self):
        self.positions = np.asarray(self.positions, np.float64)
        self.corners = np.asarray(self.corners, np.int64)
        self.uvs = np.asarray(self.uvs, np.float64)
        t = len(self.corners)
        if (self.positions.ndim != 2 or self.positions.shape[1] != 3
                or self.corners.shape != (t, 3) or self.uvs.shape != (t, 3, 2) or t == 0):
            raise InputError("A surface mesh needs (V, 3) positions, (T, 3) corners and "
                             "(T, 3, 2) UVs with at least one triangle")
        if self.corners.min() < 0 or self.corners.max() >= len(self.positions):
            raise InputError("A triangle refers to a vertex the mesh does not have")


@dataclasses.dataclass
class SurfaceMap:
    """For each texel: the triangle under its centre (-1: none) and its barycentrics."""

    triangle: np.ndarray    # int32 (H, W)
    bary: np.ndarray        # float64 (H, W, 3)


# -- texel <-> UV ------------------------------------------------------------------------------

def texel_to_uv(rows, cols, height: int, width: int) -> np.ndarray:
    return np.stack([(np.asarray(cols) + 0.5) / width,
                     1.0 - (np.asarray(rows) + 0.5) / height], axis=-1)


def uv_to_texel(uv: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Float (row, col) of UV points: texel centres land on whole numbers."""
    return (1.0 - uv[..., 1]) * height - 0.5, uv[..., 0] * width - 0.5


def _barycentric_2d(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Barycentrics (..., 3) of 2D points ``p`` in triangles (a, b, c); NaN for degenerate
    triangles. Points outside get negative coordinates (extrapolation)."""
    v0, v1, v2 = b - a, c - a, p - a
    d00 = (v0 * v0).sum(-1)
    d01 = (v0 * v1).sum(-1)
    d11 = (v1 * v1).sum(-1)
    d20 = (v2 * v0).sum(-1)
    d21 = (v2 * v1).sum(-1)
    den = d00 * d11 - d01 * d01
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (d11 * d20 - d01 * d21) / den
        w = (d00 * d21 - d01 * d20) / den
    return np.stack([1.0 - v - w, v, w], axis=-1)


GRID = 64                  # the UV square is binned into GRID x GRID cells for lookups


def locate(mesh: SurfaceMesh, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The triangle under each UV point (N,) (-1: none) and the point's barycentrics (N, 3).
    Where islands overlap, the highest-numbered triangle wins. Triangles are binned by their
    UV bounding boxes into a coarse grid, so each point is tested against a few only."""
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    tri_out = np.full(len(uv), -1, np.int64)
    bary_out = np.zeros((len(uv), 3))
    lo = np.clip(np.floor(mesh.uvs.min(axis=1) * GRID), 0, GRID - 1).astype(np.int64)
    hi = np.clip(np.floor(mesh.uvs.max(axis=1) * GRID), 0, GRID - 1).astype(np.int64)
    spans = (hi - lo + 1).prod(axis=1)
    owner = np.repeat(np.arange(len(spans)), spans)          # (pairs,) triangle of each pair
    start = np.repeat(np.cumsum(spans) - spans, spans)
    k = np.arange(len(owner)) - start
    width = (hi - lo + 1)[owner, 0]
    cell = (lo[owner, 1] + k // width) * GRID + lo[owner, 0] + k % width
    order = np.argsort(cell, kind="stable")
    cell, owner = cell[order], owner[order]
    q = np.clip(np.floor(uv * GRID), 0, GRID - 1).astype(np.int64)
    qcell = q[:, 1] * GRID + q[:, 0]
    for c in np.unique(qcell):
        pts = np.nonzero(qcell == c)[0]
        cand = owner[np.searchsorted(cell, c):np.searchsorted(cell, c, side="right")]
        if cand.size == 0:
            continue
        tri_uv = mesh.uvs[cand]                                # (C, 3, 2)
        b = _barycentric_2d(uv[pts, None, :], tri_uv[None, :, 0], tri_uv[None, :, 1],
                            tri_uv[None, :, 2])               # (P, C, 3)
        inside = np.all(b >= INSIDE_EPS, axis=-1)
        last = inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)
        hit = inside.any(axis=1)
        tri_out[pts[hit]] = cand[last[hit]]
        bary_out[pts[hit]] = b[hit, last[hit]]
    return tri_out, bary_out


def rasterise(mesh: SurfaceMesh, height: int, width: int, *,
              rows: slice = slice(None), cols: slice = slice(None)) -> SurfaceMap:
    """The texel-to-surface map of the texels in ``rows`` x ``cols`` of a ``height`` x
    ``width`` texture (the window's shape; the whole texture by default)."""
    r0, r1, _ = rows.indices(height)
    c0, c1, _ = cols.indices(width)
    rr, cc = np.mgrid[r0:r1, c0:c1]
    tri, bary = locate(mesh, texel_to_uv(rr, cc, height, width))
    shape = rr.shape
    return SurfaceMap(tri.reshape(shape).astype(np.int32),
                      bary.reshape(shape + (3,)))


# -- surface neighbours ----------------------------------------------------------------------

def _edge_neighbours(corners: np.ndarray) -> np.ndarray:
    """(T, 3): the triangle across each edge (edge k is opposite corner k), -1 at a border or
    where more than two triangles share the edge (non-manifold: no unique way across)."""
    t = len(corners)
    a = corners[:, [1, 2, 0]]
    b = corners[:, [2, 0, 1]]
    key = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=-1).reshape(-1, 2)
    order = np.lexsort((key[:, 1], key[:, 0]))
    sk = key[order]
    same = np.all(sk[1:] == sk[:-1], axis=1)
    across = np.full(3 * t, -1, np.int64)
    pairs = np.nonzero(same)[0]
    # A key shared by exactly two half-edges (no third before or after).
    single = np.ones(len(pairs), bool)
    single &= ~np.isin(pairs - 1, pairs)
    single &= ~np.isin(pairs + 1, pairs)
    first, second = order[pairs[single]], order[pairs[single] + 1]
    across[first] = second // 3
    across[second] = first // 3
    return across.reshape(t, 3)


def _step_across(mesh: SurfaceMesh, across: np.ndarray, tri: np.ndarray, bary: np.ndarray,
                 target_uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UV (N, 2) of the surface point one step from ``bary`` in ``tri`` towards
    ``target_uv`` (a point in tri's UV plane), carried into the adjacent triangle when the
    step leaves ``tri``; and whether such a point exists (False at a mesh border)."""
    uv = mesh.uvs[tri]                                            # (N, 3, 2)
    b = _barycentric_2d(target_uv, uv[:, 0], uv[:, 1], uv[:, 2])  # in tri, extrapolated
    inside = np.all(b >= INSIDE_EPS, axis=1)
    out_uv = target_uv.copy()
    valid = inside.copy()
    leave = np.nonzero(~inside & np.all(np.isfinite(b), axis=1))[0]
    if leave.size == 0:
        return out_uv, valid
    t = tri[leave]
    bl = b[leave]
    k = np.argmin(bl, axis=1)                  # the crossed edge: opposite the most negative
    other = across[t, k]
    ok = other >= 0
    leave, t, bl, k, other = leave[ok], t[ok], bl[ok], k[ok], other[ok]
    if leave.size == 0:
        return out_uv, valid
    x = mesh.positions[mesh.corners[t]]        # (M, 3, 3) corners of tri in 3D
    p3 = (bl[:, :, None] * x).sum(axis=1)      # the stepped point, in tri's plane
    idx = np.arange(len(t))
    va = mesh.corners[t, (k + 1) % 3]          # the shared edge's two vertices
    vb = mesh.corners[t, (k + 2) % 3]
    a3, b3 = mesh.positions[va], mesh.positions[vb]
    c3 = x[idx, k]                             # tri's own third vertex
    oc = mesh.corners[other]                   # (M, 3)
    d_slot = np.argmax((oc != va[:, None]) & (oc != vb[:, None]), axis=1)
    a_slot = np.argmax(oc == va[:, None], axis=1)
    b_slot = np.argmax(oc == vb[:, None], axis=1)
    d3 = mesh.positions[oc[idx, d_slot]]
    # A 2D frame in tri's plane: e1 along the shared edge, e2 towards tri's third vertex.
    e1 = b3 - a3
    length = np.linalg.norm(e1, axis=1, keepdims=True)
    e1 = e1 / np.maximum(length, 1e-30)
    ca = c3 - a3
    e2 = ca - (ca * e1).sum(1, keepdims=True) * e1
    e2 = e2 / np.maximum(np.linalg.norm(e2, axis=1, keepdims=True), 1e-30)

    def flat(points):
        rel = points - a3
        return np.stack([(rel * e1).sum(1), (rel * e2).sum(1)], axis=1)

    da = d3 - a3
    dx = (da * e1).sum(1)
    dy = -np.linalg.norm(da - dx[:, None] * e1, axis=1)   # unfolded: opposite side to tri
    b2 = _barycentric_2d(flat(p3), np.zeros((len(t), 2)),
                         np.stack([length[:, 0], np.zeros(len(t))], axis=1),
                         np.stack([dx, dy], axis=1))      # weights of (a, b, d)
    b2 = np.clip(np.nan_to_num(b2, nan=1.0 / 3.0), 0.0, None)  # a second crossing: clamp
    b2 /= np.maximum(b2.sum(axis=1, keepdims=True), 1e-30)
    ouv = mesh.uvs[other]
    new_uv = (b2[:, :1] * ouv[idx, a_slot] + b2[:, 1:2] * ouv[idx, b_slot]
              + b2[:, 2:] * ouv[idx, d_slot])
    out_uv[leave] = new_uv
    valid[leave] = True
    return out_uv, valid


def neighbour_weights(mesh: SurfaceMesh, height: int, width: int, rows: np.ndarray,
                      cols: np.ndarray, tri: np.ndarray, bary: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """For texels (rows[i], cols[i]) lying on triangle ``tri[i]`` at barycentrics ``bary[i]``:
    the texels their four surface neighbours are sampled from (N, 16 flat indices into the
    texture) and the weights (N, 16, each row summing to 1; 0 for samples off the surface).
    A texel with no usable neighbour gets all-zero weights."""
    h, w = height, width
    tri = np.asarray(tri, np.int64)
    if np.any(tri < 0):
        raise InputError("neighbour_weights: every texel must lie on the surface")
    bary = np.asarray(bary, np.float64)
    across = _edge_neighbours(mesh.corners)
    uv = (bary[:, :, None] * mesh.uvs[tri]).sum(axis=1)
    steps = np.array([[1.0 / w, 0.0], [-1.0 / w, 0.0], [0.0, 1.0 / h], [0.0, -1.0 / h]])
    index = np.zeros((len(tri), 16), np.int64)
    weight = np.zeros((len(tri), 16), np.float64)
    valid = np.zeros((len(tri), 16), bool)
    for s, step in enumerate(steps):
        target, ok = _step_across(mesh, across, tri, bary, uv + step)
        fr, fc = uv_to_texel(target, h, w)
        r0, c0 = np.floor(fr).astype(np.int64), np.floor(fc).astype(np.int64)
        ar, ac = fr - r0, fc - c0
        for j, (dr, dc, wt) in enumerate(((0, 0, (1 - ar) * (1 - ac)), (0, 1, (1 - ar) * ac),
                                          (1, 0, ar * (1 - ac)), (1, 1, ar * ac))):
            rr = np.clip(r0 + dr, 0, h - 1)
            cc = np.clip(c0 + dc, 0, w - 1)
            index[:, 4 * s + j] = rr * w + cc
            weight[:, 4 * s + j] = wt
            valid[:, 4 * s + j] = ok
    # Samples whose texel centre is off the surface (gutter, another island's margin) drop.
    used = np.unique(index[valid & (weight > 0)])
    on_surface = np.zeros(h * w, bool)
    on_surface[used] = locate(mesh, texel_to_uv(used // w, used % w, h, w))[0] >= 0
    weight = np.where(valid & on_surface[index], weight, 0.0)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.where(total > 1e-12, weight / np.maximum(total, 1e-12), 0.0)
    return index, weight


# -- the fill ----------------------------------------------------------------------------------

def fill(image: np.ndarray, mask: np.ndarray, mesh: SurfaceMesh, *,
         cancel=NEVER_CANCELLED) -> tuple[np.ndarray, np.ndarray]:
    """Fill the marked texels of ``image`` that lie on the surface with a membrane continued
    across UV seams. Returns the filled float image and the texels it filled (bool (H, W));
    marked texels off the surface (the gutter) are left to the caller. Nothing outside the
    mask changes."""
    img = np.asarray(image, np.float64)
    hole = np.asarray(mask) > 0
    if img.shape[:2] != hole.shape:
        raise InputError(f"The mask is {hole.shape[1]}x{hole.shape[0]} but the texture is "
                         f"{img.shape[1]}x{img.shape[0]}")
    h, w = hole.shape
    out = img.copy()
    targets = np.zeros_like(hole)
    rows, cols = np.nonzero(hole)
    if rows.size == 0:
        return out.astype(np.float32), targets
    tri, bary = locate(mesh, texel_to_uv(rows, cols, h, w))
    on = tri >= 0
    rows, cols, tri, bary = rows[on], cols[on], tri[on], bary[on]
    targets[rows, cols] = True
    if rows.size == 0:
        return out.astype(np.float32), targets
    index, weight = neighbour_weights(mesh, h, w, rows, cols, tri, bary)
    flat = out.reshape(h * w, -1)
    unknown = rows * w + cols
    # A first guess: the mean colour of the known surface texels the marked ones touch.
    known = (~hole.reshape(-1)[index]) & (weight > 0)
    seed_w = (weight * known).sum(1, keepdims=True)
    seed = (flat[index] * (weight * known)[..., None]).sum(1) / np.maximum(seed_w, 1e-12)
    fallback = flat[index[known]].mean(axis=0) if known.any() else flat[unknown].mean(axis=0)
    flat[unknown] = np.where(seed_w > 0, seed, fallback)
    stuck = weight.sum(axis=1) == 0           # no neighbour at all: keep the guess
    for sweep in range(MAX_SWEEPS):
        new = (flat[index] * weight[..., None]).sum(axis=1)
        new[stuck] = flat[unknown][stuck]
        change = np.abs(new - flat[unknown]).max()
        flat[unknown] = new
        if change < TOLERANCE:
            break
        if sweep % 200 == 0:
            cancel.check()
    return out.astype(np.float32), targets
