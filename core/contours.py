"""Outlines and flat backs for a cut relief: the rim follows a sub-pixel contour, not the
grid, and the back is triangulated from the outline.

bpy-free, numpy only. The cut front's boundary is a closed loop of grid vertices (with 45
degree chamfers); seen in raking light its walls are stacked plates facing 4 directions. Each
boundary vertex is moved onto the 0.5 level set of the soft foreground coverage (a
Newton step along the coverage's gradient: the sub-pixel outline that marching squares would
trace), then the loop is smoothed along itself (Taubin's lambda|mu steps, which do not
shrink it). Every move is bounded to well under one grid cell, and the caller checks that no
face folds over, so the mesh keeps its topology: watertight stays watertight.
"""

from __future__ import annotations

import numpy as np

from . import images

MAX_OUT = 0.7     # largest move outwards, in grid cells
MAX_IN = 0.35     # largest move inwards
_SOFT_SIGMA = 0.8  # blur of the coverage before taking its level set, in grid cells


def level_set_targets(coverage: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """For grid vertices at (row, col) ``rc`` (B, 2) int, the nearest point (B, 2) float of
    the 0.5 level set of ``coverage`` (rows, cols) along its gradient, moves bounded."""
    soft = images.blur(coverage, _SOFT_SIGMA).astype(np.float64)
    gr, gc = np.gradient(soft)
    r, c = rc[:, 0], rc[:, 1]
    g = np.stack([gr[r, c], gc[r, c]], axis=1)
    norm = np.linalg.norm(g, axis=1)
    ok = norm > 1e-6
    t = np.zeros(len(rc))
    t[ok] = (soft[r, c][ok] - 0.5) / norm[ok]
    t = np.clip(t, -MAX_IN, MAX_OUT)
    direction = np.zeros_like(g)
    direction[ok] = -g[ok] / norm[ok, None]        # coverage falls outwards
    return rc + t[:, None] * direction


def smooth_loops(points: np.ndarray, succ: np.ndarray, pred: np.ndarray,
                 iterations: int = 3) -> np.ndarray:
    """Taubin smoothing of closed loops: ``points`` (B, 2) with loop neighbours ``succ``,
    ``pred`` given as indices into ``points``."""
    p = points.copy()
    for _ in range(iterations):
        for factor in (0.5, -0.53):
            p = p + factor * (0.5 * (p[succ] + p[pred]) - p)
    return p


def even_out(points: np.ndarray, succ: np.ndarray, pred: np.ndarray,
             iterations: int = 4) -> np.ndarray:
    """Slide loop vertices along the loop (never across it) towards the middle of their
    neighbours: even spacing, so no wall facet is much narrower than its neighbours."""
    p = points.copy()
    for _ in range(iterations):
        tangent = p[succ] - p[pred]
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
        shift = np.einsum("ij,ij->i", 0.5 * (p[succ] + p[pred]) - p, tangent)
        p = p + 0.5 * shift[:, None] * tangent
    return p


def smooth_outline(coverage: np.ndarray, rc: np.ndarray, succ: np.ndarray,
                   pred: np.ndarray) -> np.ndarray:
    """New (row, col) float positions (B, 2) of boundary grid vertices ``rc`` (B, 2) whose
    loop neighbours are ``succ``/``pred`` (indices into ``rc``): on the level set, smoothed,
    each within MAX_OUT / MAX_IN of its grid position."""
    target = level_set_targets(coverage, rc)
    p = even_out(smooth_loops(target, succ, pred), succ, pred)
    move = p - rc
    dist = np.linalg.norm(move, axis=1)
    limit = np.where(np.einsum("ij,ij->i", move, target - rc) >= 0, MAX_OUT, MAX_IN)
    scale = np.minimum(1.0, limit / np.maximum(dist, 1e-12))
    return rc + move * scale[:, None]


# -- the relief grid's outline and back -----------------------------------------------------
def grid_back_triangles(fg: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """Triangles (T, 3) of flat grid indices covering the front's cells, using only the
    ``needed`` vertices (the boundary's, sorted flat indices), wound like the front.

    Each row band of cells splits into runs of cells that share full vertical edges; a run
    is a convex polygon whose vertices lie on the band's two grid lines (a run ends in a
    square or a chamfer; only its ends and the boundary vertices on its lines are needed),
    zipped into triangles between its bottom and top chains. Neighbouring bands use the same
    vertices on their shared line, so the back is conforming, and its border is exactly the
    front's boundary: the rim closes it.
    """
    rows, cols = fg.shape
    tl, tr, bl, br = fg[:-1, :-1], fg[:-1, 1:], fg[1:, :-1], fg[1:, 1:]
    count = tl.astype(np.int8) + tr + bl + br
    present = count >= 3
    # cells c and c+1 of a band are in one run when both exist and share a full edge
    joined = present[:, :-1] & present[:, 1:] & fg[:-1, 1:-1] & fg[1:, 1:-1]
    start = present.copy()
    start[:, 1:] &= ~joined
    end = present.copy()
    end[:, :-1] &= ~joined
    sr, sc = np.nonzero(start)
    er, ec = np.nonzero(end)                          # same order: row-major, one per run
    # chain ranges on the band's bottom line (r + 1) and top line (r)
    b_lo = np.where(bl[sr, sc], sc, sc + 1)
    b_hi = np.where(br[er, ec], ec + 1, ec)
    t_lo = np.where(tl[sr, sc], sc, sc + 1)
    t_hi = np.where(tr[er, ec], ec + 1, ec)
    nb_lo = np.searchsorted(needed, (sr + 1) * cols + b_lo)
    nb_hi = np.searchsorted(needed, (sr + 1) * cols + b_hi, side="right")
    nt_lo = np.searchsorted(needed, sr * cols + t_lo)
    nt_hi = np.searchsorted(needed, sr * cols + t_hi, side="right")
    m, n = nb_hi - nb_lo, nt_hi - nt_lo                 # chain lengths (>= 1 each)
    runs = np.arange(sr.size)

    def advances(lo, length, kind):
        """One event per step along a chain: (run, x of the vertex reached, kind, from)."""
        k = np.maximum(length - 1, 0)
        run = np.repeat(runs, k)
        step = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        frm = np.repeat(lo, k) + step
        return run, needed[frm + 1] % cols, np.full(run.size, kind), frm

    rb, xb, kb, fb = advances(nb_lo, m, 0)
    rt, xt, kt, ft = advances(nt_lo, n, 1)
    run = np.concatenate([rb, rt])
    x = np.concatenate([xb, xt])
    kind = np.concatenate([kb, kt])
    frm = np.concatenate([fb, ft])
    order = np.lexsort((kind, x, run))
    run, kind, frm = run[order], kind[order], frm[order]
    # position along each chain when the event happens: chain start + steps taken before
    first = np.r_[0, np.flatnonzero(np.diff(run)) + 1]
    group_start = np.repeat(first, np.diff(np.r_[first, run.size]))
    cb = np.cumsum(kind == 0) - (kind == 0)
    ct = np.cumsum(kind == 1) - (kind == 1)
    cb -= cb[group_start]
    ct -= ct[group_start]
    i = nb_lo[run] + cb                                   # current bottom vertex
    j = nt_lo[run] + ct                                   # current top vertex
    bottom_step = kind == 0
    tri = np.where(bottom_step[:, None],
                   np.stack([needed[i], needed[np.minimum(i + 1, needed.size - 1)],
                             needed[j]], axis=1),
                   np.stack([needed[i], needed[np.minimum(j + 1, needed.size - 1)],
                             needed[j]], axis=1))
    return tri.astype(np.int64)


def smooth_grid_outline(rc, coverage, remap, boundary, bnd, quads, tris, fg, min_edge):
    """Front vertex positions (n_front, 2) (row, col) with the boundary moved onto the
    smoothed sub-pixel contour; moves that would fold a front face or a back triangle over,
    or leave a rim edge shorter than ``min_edge`` cells, are undone (halved, then reverted).

    ``rc`` (n_front, 2) grid positions of the front vertices; ``coverage`` the subject's
    coverage per grid vertex; ``remap`` flat grid index -> front index; ``boundary`` the
    front's directed boundary edges and ``bnd`` their sorted vertices (flat grid indices);
    ``quads``, ``tris`` the front faces (flat grid indices); ``fg`` the cut mask."""
    idx = remap[bnd]                                    # boundary vertices, front indices
    pos_of = np.full(rc.shape[0], -1, np.int64)
    pos_of[idx] = np.arange(idx.size)
    a, b = remap[boundary[:, 0]], remap[boundary[:, 1]]
    succ = np.empty(idx.size, np.int64)
    pred = np.empty(idx.size, np.int64)
    succ[pos_of[a]] = pos_of[b]
    pred[pos_of[b]] = pos_of[a]
    grid_rc = rc[idx]
    moved = smooth_outline(coverage, grid_rc.astype(np.int64), succ, pred)
    # Only faces with a boundary vertex can change: pick those before splitting the quads.
    on_boundary = np.zeros(rc.shape[0], bool)
    on_boundary[idx] = True

    def touching(faces):
        faces = remap[faces]
        return faces[on_boundary[faces].any(axis=1)]

    q = touching(quads)
    faces = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]], q[:, [0, 1, 3]],
                            q[:, [1, 2, 3]], touching(tris),
                            touching(grid_back_triangles(fg, bnd))])
    out = rc.copy()

    def bad_vertices():
        """Positions (into idx) of vertices of folded faces or too short rim edges."""
        out[idx] = moved
        bad = np.unique(faces[_folded(out, faces)])
        short = np.linalg.norm(out[a] - out[b], axis=1) < min_edge
        bad = np.union1d(bad, np.r_[a[short], b[short]])
        found = pos_of[bad]
        return found[found >= 0]

    for _ in range(4):
        undo = bad_vertices()
        if not undo.size:
            break
        moved[undo] = grid_rc[undo] + 0.5 * (moved[undo] - grid_rc[undo])
    undo = bad_vertices()
    while undo.size:                  # grid positions are always valid: fall back to them
        if np.array_equal(moved[undo], grid_rc[undo]):
            break
        moved[undo] = grid_rc[undo]
        undo = bad_vertices()
    out[idx] = moved
    return out


def _folded(rc, faces, min_area=0.05):
    """Indices of triangles (in (row, col) space, wound counter-clockwise seen from +Z, i.e.
    clockwise in (row, col)) whose area is below ``min_area`` cells or negative."""
    p0, p1, p2 = rc[faces[:, 0]], rc[faces[:, 1]], rc[faces[:, 2]]
    d1, d2 = p1 - p0, p2 - p0
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    return np.flatnonzero(0.5 * cross < min_area)
