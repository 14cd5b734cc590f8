"""Connected components of a binary mask, without scipy. bpy-free, numpy only.

Islands in a relief's foreground, pieces of a cutout that do not touch the person, clusters of
cleanup marks: all need the connected parts of a mask. Blender ships no scipy, so this labels
them from the mask's horizontal runs: runs in neighbouring rows that touch are joined with a
vectorised union-find (label propagation with pointer jumping), then the run labels are
painted back. Work grows with the number of runs, not of pixels.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def _runs(mask: np.ndarray):
    """Row, first column and end column (exclusive) of every horizontal run of True."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)                 # (h, w + 1): +1 at starts, -1 at ends
    flat = np.flatnonzero(edges)                    # row-major: start, end, start, end...
    rows, cols = np.divmod(flat[::2], w + 1)
    return rows, cols, flat[1::2] - rows * (w + 1)


def label(mask: np.ndarray, *, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Labels int32 (H, W): 0 for background, 1..n for the components; and n.

    ``connectivity`` 8 joins diagonal neighbours (a drawn stroke stays one piece), 4 does not.
    Components are numbered in the order of their first pixel (top row first).
    """
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise InputError(f"A mask must be (H, W), not {m.shape}")
    if connectivity not in (4, 8):
        raise InputError(f"Connectivity is 4 or 8, not {connectivity!r}")
    rows, starts, ends = _runs(m)
    n = len(rows)
    if n == 0:
        return np.zeros(m.shape, np.int32), 0
    reach = 1 if connectivity == 8 else 0
    # Pairs of touching runs in consecutive rows: for each run, the runs of the row below whose
    # span overlaps [start - reach, end + reach). Keys row * K + column keep all runs in one
    # sorted order with rows apart, so one searchsorted finds every run's range below.
    k = m.shape[1] + 4
    key_start, key_end = rows * k + starts, rows * k + ends
    lo = np.searchsorted(key_end, (rows + 1) * k + starts - reach, side="right")
    hi = np.searchsorted(key_start, (rows + 1) * k + ends + reach, side="left")
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(n), count)
    b = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count,
                                                                    count))
    parent = join(n, a, b)
    roots, run_label = np.unique(parent, return_inverse=True)
    # Paint in one pass: the image, flattened, is gap, run, gap, run, ..., gap.
    bounds = np.empty(2 * n + 2, np.int64)
    bounds[0], bounds[-1] = 0, m.size
    bounds[1:-1:2] = rows * m.shape[1] + starts
    bounds[2:-1:2] = rows * m.shape[1] + ends
    values = np.zeros(2 * n + 1, np.int32)
    values[1::2] = run_label + 1
    labels = np.repeat(values, np.diff(bounds)).reshape(m.shape)
    return labels, len(roots)


def join(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find of ``n`` items joined in pairs (a[k], b[k]): each item's root (the smallest
    item of its set), int (n,). Vectorised label propagation with pointer jumping."""
    parent = np.arange(n)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if a.size:
        while True:
            low = np.minimum(parent[a], parent[b])
            before = parent.copy()
            np.minimum.at(parent, a, low)
            np.minimum.at(parent, b, low)
            np.minimum.at(parent, before, parent)       # roots follow their members
            while True:                                 # pointer jumping to the roots
                jumped = parent[parent]
                if np.array_equal(jumped, parent):
                    break
                parent = jumped
            if np.array_equal(parent, before):
                break
    return parent


def sizes(labels: np.ndarray, count: int) -> np.ndarray:
    """Pixels in each component: int64 (count + 1,), index 0 the background."""
    return np.bincount(labels.reshape(-1), minlength=count + 1)


def boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """Bounding box of each component 1..count as int rows (top, left, bottom, right), the
    bottom and right exclusive: (count, 4)."""
    h, w = labels.shape
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc] - 1
    out = np.empty((count, 4), np.int64)
    out[:, 0] = h
    out[:, 1] = w
    out[:, 2:] = 0
    np.minimum.at(out[:, 0], lab, rr)
    np.minimum.at(out[:, 1], lab, cc)
    np.maximum.at(out[:, 2], lab, rr + 1)
    np.maximum.at(out[:, 3], lab, cc + 1)
    return out


def keep_large(mask: np.ndarray, min_fraction: float, *, keep: np.ndarray | None = None,
               connectivity: int = 8) -> np.ndarray:
    """The mask without components smaller than ``min_fraction`` of the largest one; any
    component touching ``keep`` (bool (H, W), e.g. the face) stays whatever its size."""
    labels, count = label(mask, connectivity=connectivity)
    if count <= 1:
        return np.asarray(mask, bool).copy()
    size = sizes(labels, count)
    size[0] = 0
    wanted = size >= min_fraction * size.max()
    if keep is not None:
        wanted |= _holding(labels, count, keep)
    wanted[0] = False
    return wanted[labels]


def fill_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    """The mask with enclosed background pieces of fewer than ``max_area`` pixels filled.
    Background touching the border is never a hole."""
    m = np.asarray(mask, bool)
    labels, count = label(~m, connectivity=4)
    if count == 0:
        return m.copy()
    size = sizes(labels, count)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    small = size < max_area
    small[0] = False
    small[border] = False
    return m | small[labels]


def touching(mask: np.ndarray, seeds: np.ndarray, *, connectivity: int = 8) -> np.ndarray:
    """The components of ``mask`` that hold a pixel of ``seeds`` (bool (H, W)), as a mask."""
    labels, count = label(mask, connectivity=connectivity)
    return _holding(labels, count, seeds)[labels]


def _holding(labels: np.ndarray, count: int, seeds: np.ndarray) -> np.ndarray:
    """Per label (bool (count + 1,)): whether its component holds a pixel of ``seeds``;
    label 0 (outside the mask) never."""
    wanted = np.zeros(count + 1, bool)
    wanted[np.unique(labels[np.asarray(seeds, bool)])] = True
    wanted[0] = False
    return wanted
