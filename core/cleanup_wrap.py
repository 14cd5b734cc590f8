"""Texture cleanup on a tileable texture: the region wraps around the texture's edges.

bpy-free. A seamless texture continues across its edges, so a mark near the left edge is
filled with context from the right edge too. The marks are found on the texture's torus: the
shortest circular span of marked rows and columns (a mark cut by an edge is one mark), and a
``shift`` (dy, dx) that centres them, so the plan of ``cleanup_region.plan_region`` is made
in shifted coordinates where nothing crosses an edge. The region is gathered with wrap-around
and written back wrapped; everything else stays texel-exact. Buffers as in
``cleanup_region``: (H, W, C), row 0 at the bottom; boxes (x0, y0, x1, y1), ends exclusive.
"""

from __future__ import annotations

import numpy as np

from .cleanup_region import Marked, mark_values


def circular_span(occupied: np.ndarray) -> tuple[int, int]:
    """(start, length) of the shortest circular run holding every True entry."""
    n = occupied.size
    idx = np.flatnonzero(occupied)
    if idx.size == 0:
        return 0, 0
    gaps = np.diff(np.concatenate([idx, idx[:1] + n]))   # distance to the next occupied
    k = int(np.argmax(gaps))
    start = int(idx[(k + 1) % idx.size])
    return start, n - int(gaps[k]) + 1


def _axis_indices(start: int, stop: int, shift: int, n: int) -> np.ndarray:
    return (np.arange(start, stop) - shift) % n


def gather(buf: np.ndarray, box: tuple, shift: tuple = (0, 0)) -> np.ndarray:
    """The box (in shifted coordinates) of ``buf``, wrapping around its edges: a copy."""
    x0, y0, x1, y1 = box
    if shift == (0, 0):
        return buf[y0:y1, x0:x1].copy()
    h, w = buf.shape[:2]
    rows = _axis_indices(y0, y1, shift[0], h)
    cols = _axis_indices(x0, x1, shift[1], w)
    return buf[rows[:, None], cols[None, :]]


def scatter(buf: np.ndarray, box: tuple, shift: tuple, values: np.ndarray,
            where: np.ndarray) -> None:
    """Write ``values`` where ``where`` into the box (shifted coordinates) of ``buf``, in
    place, wrapping around its edges."""
    x0, y0, x1, y1 = box
    if shift == (0, 0):
        buf[y0:y1, x0:x1][where] = values[where]
        return
    h, w = buf.shape[:2]
    rows = _axis_indices(y0, y1, shift[0], h)
    cols = _axis_indices(x0, x1, shift[1], w)
    ry, rx = np.nonzero(where)
    buf[rows[ry], cols[rx]] = values[ry, rx]


def covering_box(box: tuple, shift: tuple, shape: tuple) -> tuple:
    """The box in the texture's own coordinates holding every texel of the shifted ``box``:
    the box itself moved back, or the whole width (height) where it crosses an edge."""
    x0, y0, x1, y1 = box
    h, w = shape

    def back(a0, a1, s, n):
        b0 = (a0 - s) % n
        return (b0, b0 + a1 - a0) if b0 + a1 - a0 <= n else (0, n)

    bx0, bx1 = back(x0, x1, shift[1], w)
    by0, by1 = back(y0, y1, shift[0], h)
    return bx0, by0, bx1, by1


def find_marks_wrapped(buf: np.ndarray) -> tuple[Marked, tuple] | None:
    """The marks of a whole mask buffer on the torus, in shifted coordinates where they sit
    in the middle, and the shift (dy, dx); None when nothing is painted."""
    height, width = buf.shape[:2]
    limit = np.float32(0.5 / 255.0)  # what rounds to a zero byte
    rows = np.zeros(height, bool)
    cols = np.zeros(width, bool)
    for c in range(3):
        rows |= buf[..., c].max(axis=1) > limit
        cols |= buf[..., c].max(axis=0) > limit
    if not rows.any():
        return None
    (ry, ny), (rx, nx) = circular_span(rows), circular_span(cols)
    shift = ((height - ny) // 2 - ry) % height, ((width - nx) // 2 - rx) % width
    y0, x0 = (ry + shift[0]) % height, (rx + shift[1]) % width
    box = (x0, y0, x0 + nx, y0 + ny)
    return Marked(box, mark_values(gather(buf, box, shift)), (height, width)), shift
