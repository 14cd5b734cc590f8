"""Cleanup masks: binarise, grow, feather, bounding box. bpy-free (the image operations they
use live in ``images``).

Masks are uint8 (H, W), 0 = keep, >0 = clean up (grey = strength where a service supports it).
Everything is whole-array numpy: a 4K mask grows by 100 px in well under a second.
"""

from __future__ import annotations

import math

import numpy as np

from . import images

# A disc is approximated by the union of this many rectangles inscribed in it (each one is
# separable, so cheap); with 5 the outline is within 2 % of the radius of a true circle.
_DISC_RECTANGLES = 5


def as_mask(mask: np.ndarray) -> np.ndarray:
    """Any mask array -> uint8 (H, W). Colour masks count a pixel by its strongest channel;
    floats are 0..1, bools True = set."""
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[:, :, :3].max(axis=2)
    if m.ndim != 2:
        raise ValueError(f"a mask must be (H, W), got shape {np.shape(mask)}")
    if m.dtype == np.bool_:
        return m.astype(np.uint8) * 255
    if np.issubdtype(m.dtype, np.floating):
        return images.to_uint8(m)
    return np.clip(m, 0, 255).astype(np.uint8)


def binarise(mask: np.ndarray, shape: tuple | None = None, *,
             threshold: int = 0) -> np.ndarray:
    """Exactly 0/255 (what ClipDrop requires): values above ``threshold`` become 255.

    With ``shape`` (H, W) the mask is first brought to that size by area averaging, so a thin
    stroke survives a downscale instead of vanishing between nearest-neighbour samples.
    """
    m = as_mask(mask)
    if shape is not None:
        m = images.resize(m, *shape, filter="box")
    return np.where(m > threshold, 255, 0).astype(np.uint8)


def bbox(mask: np.ndarray, margin: int = 0, *, fraction: float = 0.0) -> tuple | None:
    """(x0, y0, x1, y1), ends exclusive, of the set pixels plus a context margin, clamped to
    the image; ``None`` for an empty mask. The margin is ``margin`` pixels or ``fraction`` of
    the box's longer side, whichever is larger."""
    m = as_mask(mask)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    pad = max(int(margin), int(round(fraction * max(x1 - x0, y1 - y0))))
    h, w = m.shape
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


def grow(mask: np.ndarray, pixels: int = 0, *, fraction: float = 0.0) -> np.ndarray:
    """Dilate by a (near) disc: ``pixels``, or ``fraction`` of the set region's size, whichever
    is larger. The cleanup document's tip for automatic masks is ``fraction=0.15``: the region
    grows by 15 % of its bounding box's longer side (half of that on each side).

    Grey masks stay grey (a greyscale dilation), so Erase's per-pixel strength survives.
    """
    m = as_mask(mask)
    box = bbox(m)
    if box is None:
        return m.copy()
    longest = max(box[2] - box[0], box[3] - box[1])
    radius = max(int(pixels), int(round(fraction * longest / 2)))
    out = m.copy()
    if radius <= 0:
        return out
    x0, y0, x1, y1 = bbox(m, radius)  # only the region that can change
    crop = m[y0:y1, x0:x1]
    grown = np.zeros_like(crop)
    for angle in np.linspace(0.0, math.pi / 2, _DISC_RECTANGLES):
        rx, ry = int(round(radius * math.cos(angle))), int(round(radius * math.sin(angle)))
        np.maximum(grown, images.dilate(crop, ry, rx), out=grown)
    out[y0:y1, x0:x1] = grown
    return out


def feather(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Float32 (H, W) weights 0..1 with a soft seam of about ``2 * radius`` pixels centred on
    the mask's edge, for blending a cleaned result back over the original (a box blur; the
    border is replicated so the image edge does not fade)."""
    m = as_mask(mask)
    out = m.astype(np.float32) / 255.0
    box = bbox(m, radius + 1)  # only the region that can change
    if radius <= 0 or box is None:
        return out
    x0, y0, x1, y1 = box
    r = radius
    padded = np.pad(out[y0:y1, x0:x1], r, mode="edge")  # whole windows: none is clipped
    out[y0:y1, x0:x1] = np.clip(images.box_filter(padded, r)[r:-r, r:-r], 0.0, 1.0)
    return out
