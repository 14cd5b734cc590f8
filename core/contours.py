"""Smooth outlines for a cut relief: the rim follows a sub-pixel contour, not the grid.

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


def loop_neighbours(edges: np.ndarray, n: int):
    """(succ, pred) (n,) of each vertex along directed boundary ``edges`` (B, 2); -1 off
    the boundary."""
    succ = np.full(n, -1, np.int64)
    pred = np.full(n, -1, np.int64)
    succ[edges[:, 0]] = edges[:, 1]
    pred[edges[:, 1]] = edges[:, 0]
    return succ, pred


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
