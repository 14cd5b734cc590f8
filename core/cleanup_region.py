"""Texture cleanup's region maths: what is marked, the region to send, the blend back.

bpy-free, numpy only. Buffers are Blender's stored layout: float32 (H, W, 4), row 0 at the
BOTTOM; boxes are (x0, y0, x1, y1) in those rows, ends exclusive. The Blender side
(blender/cleanup_mask.py) reads the mask and writes the texture; everything between is here.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from . import images, masks

REGION_BUDGET = 16_000_000           # ClipDrop Cleanup's 16 MP; Erase's limit is the same
MIN_MARGIN = 64                      # context around the marked box, pixels
FEATHER = 2                          # seam radius: the outer 2 px of the grown mask blend


@dataclasses.dataclass
class Marked:
    """What is painted in a mask: its bounding box and the values there."""

    box: tuple                       # (x0, y0, x1, y1), buffer rows (bottom first), ends exclusive
    values: np.ndarray               # uint8 (h, w): the strongest of R, G, B inside the box
    shape: tuple                     # (H, W) of the whole mask


@dataclasses.dataclass
class Plan:
    box: tuple            # (x0, y0, x1, y1) of the region sent, buffer rows, ends exclusive
    grown: np.ndarray     # uint8 (h, w) grown mask inside the box (what the provider gets)
    weight: np.ndarray    # float32 (h, w): 0 outside the grown mask, 1 inside, a seam at its rim


def marked_box(buf: np.ndarray) -> Optional[tuple]:
    """The bounding box of the texels a mask buffer marks (any of R, G, B that rounds to a
    non-zero byte), or None. Row and column maxima only: a whole 4K mask costs about a second
    to convert to bytes, this a few hundredths."""
    height, width = buf.shape[:2]
    limit = np.float32(0.5 / 255.0)  # what rounds to a zero byte
    rows = np.zeros(height, bool)
    for c in range(3):
        rows |= buf[..., c].max(axis=1) > limit
    if not rows.any():
        return None
    y0, y1 = int(np.argmax(rows)), height - int(np.argmax(rows[::-1]))
    cols = buf[y0:y1, :, :3].max(axis=(0, 2)) > limit
    x0, x1 = int(np.argmax(cols)), width - int(np.argmax(cols[::-1]))
    return x0, y0, x1, y1


def mark_values(box_rgba: np.ndarray) -> np.ndarray:
    """uint8 (h, w) mark strength of a stored mask box: the strongest of R, G, B."""
    return images.to_uint8(box_rgba[..., :3].max(axis=2))


def find_marks(buf: np.ndarray) -> Optional[Marked]:
    """The marks of a whole mask buffer, or None when nothing is painted."""
    box = marked_box(buf)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return Marked(box, mark_values(buf[y0:y1, x0:x1]), buf.shape[:2])


def plan_region(marked: Marked, grow_px: int, budget: int = REGION_BUDGET) -> Optional[Plan]:
    """The box to send: the grown mask's bounding box plus a context margin (its longer side,
    at least MIN_MARGIN) shrunk until the box fits ``budget`` pixels. Only the painted box
    (padded by the growth) is ever grown: masks.grow on a whole 4K mask is not needed."""
    height, width = marked.shape
    mx0, my0, mx1, my1 = marked.box
    pad = grow_px + 1
    x0, y0 = max(0, mx0 - pad), max(0, my0 - pad)
    x1, y1 = min(width, mx1 + pad), min(height, my1 + pad)
    crop = np.zeros((y1 - y0, x1 - x0), np.uint8)
    crop[my0 - y0:my1 - y0, mx0 - x0:mx1 - x0] = marked.values
    grown_crop = masks.grow(crop, grow_px)
    found = masks.bbox(grown_crop)
    if found is None:
        return None
    gx0, gy0, gx1, gy1 = found[0] + x0, found[1] + y0, found[2] + x0, found[3] + y0
    bw, bh = gx1 - gx0, gy1 - gy0
    margin = max(MIN_MARGIN, max(bw, bh))
    while margin > 0 and (min(width, bw + 2 * margin) * min(height, bh + 2 * margin)) > budget:
        margin //= 2
    box = (max(0, gx0 - margin), max(0, gy0 - margin),
           min(width, gx1 + margin), min(height, gy1 + margin))
    bx0, by0, bx1, by1 = box
    grown = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
    grown[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0] = grown_crop[sy0 - y0:sy1 - y0,
                                                                 sx0 - x0:sx1 - x0]
    inside = grown > 0
    weight = masks.feather(inside, FEATHER) * inside
    return Plan(box, grown, weight.astype(np.float32))


def blend(region: np.ndarray, answer: np.ndarray, weight: np.ndarray, *, linear: bool,
          is_float: bool) -> np.ndarray:
    """New stored RGB for the region: the answer where ``weight`` > 0 (soft at the seam),
    the stored values, untouched, everywhere else. ``region`` float32 (h, w, 4) as stored,
    ``answer`` uint8 (h, w, 3) display-referred, same orientation."""
    old = region[..., :3]
    new = answer.astype(np.float32) / np.float32(255.0)
    if linear:
        new = images.srgb_to_linear(new).astype(np.float32)
    w = weight[..., None]
    mixed = old * (1.0 - w) + new * w
    if not is_float:  # byte image: land exactly on a byte value
        mixed = images.to_uint8(mixed).astype(np.float32) / np.float32(255.0)
    return np.where(w > 0, mixed, old).astype(np.float32)


def unmark(current: np.ndarray, cleaned: Marked) -> np.ndarray:
    """A stored mask box with the cleaned marks taken out: black (RGB 0) where ``cleaned``
    marked a texel, everything else, strokes painted since included, as it is now.
    ``current`` is the box ``cleaned.box`` of the mask as it is now, stored form."""
    out = current.copy()
    out[cleaned.values > 0, :3] = 0
    return out
