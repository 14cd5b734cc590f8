"""Texture cleanup's region maths: what is marked, the region to send, the blend back.

bpy-free, numpy only. Buffers are Blender's stored layout: float32 (H, W, 4), row 0 at the
BOTTOM; boxes are (x0, y0, x1, y1) in those rows, ends exclusive. The Blender side
(blender/cleanup_mask.py) reads the mask and writes the texture; everything between is here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import components, images, masks

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


def marked_box(buf: np.ndarray) -> tuple | None:
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


def find_marks(buf: np.ndarray) -> Marked | None:
    """The marks of a whole mask buffer, or None when nothing is painted."""
    box = marked_box(buf)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return Marked(box, mark_values(buf[y0:y1, x0:x1]), buf.shape[:2])


def plan_region(marked: Marked, grow_px: int, budget: int = REGION_BUDGET) -> Plan | None:
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


# -- clusters: one region per group of nearby marks --------------------------------------------
REQUEST_COST = 65_536      # one more request is worth sending this many more pixels (upload,
#                            service latency, pacing); below it two groups are sent as one
MAX_REGIONS = 16           # at most this many requests per apply: the closest groups merge


def _regions(grown: np.ndarray, need: np.ndarray, width: int, height: int,
             budget: int) -> np.ndarray:
    """Regions (N, 4) of groups: their grown marks ``grown`` (N, 4) plus the context margin
    ``need`` (N,), halved until the region fits ``budget`` pixels."""
    bw, bh = grown[:, 2] - grown[:, 0], grown[:, 3] - grown[:, 1]
    margin = need.astype(np.int64).copy()
    while True:
        over = (margin > 0) & (np.minimum(width, bw + 2 * margin)
                               * np.minimum(height, bh + 2 * margin) > budget)
        if not over.any():
            break
        margin[over] //= 2
    return np.stack([np.maximum(0, grown[:, 0] - margin), np.maximum(0, grown[:, 1] - margin),
                     np.minimum(width, grown[:, 2] + margin),
                     np.minimum(height, grown[:, 3] + margin)], axis=1)


def _area(boxes: np.ndarray) -> np.ndarray:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def group_regions(marks: list, shape: tuple, budget: int = REGION_BUDGET, *,
                  request_cost: int = REQUEST_COST, max_regions: int = MAX_REGIONS) -> list:
    """Merge marks into the regions to send. ``marks``: one (x0, y0, x1, y1) grown box per
    connected mark; each wants a context margin of its longer side (at least MIN_MARGIN).
    Two groups merge only when one region for both fits ``budget`` without shrinking its
    margin (a region is never shrunk to save a request), and then: when their regions
    overlap, when one region costs less than two requests (its pixels <= the two regions'
    pixels + ``request_cost``), or while there are more than ``max_regions`` groups (the
    pairs adding the fewest pixels first). Regions that still overlap share context only:
    each carries its own marks. Returns (region box, indices of its marks) pairs."""
    height, width = shape
    grown = np.asarray(marks, np.int64).reshape(-1, 4)
    need = np.maximum(MIN_MARGIN, np.maximum(grown[:, 2] - grown[:, 0],
                                             grown[:, 3] - grown[:, 1]))
    member = np.arange(len(grown))          # the group of each mark
    unlimited = width * height + 1
    while len(grown) > 1:
        n = len(grown)
        regions = _regions(grown, need, width, height, budget)
        i, j = np.triu_indices(n, 1)
        union = np.stack([np.minimum(grown[i, 0], grown[j, 0]),
                          np.minimum(grown[i, 1], grown[j, 1]),
                          np.maximum(grown[i, 2], grown[j, 2]),
                          np.maximum(grown[i, 3], grown[j, 3])], axis=1)
        union_need = np.maximum(need[i], need[j])
        merged = _regions(union, union_need, width, height, budget)
        unshrunk = np.all(merged == _regions(union, union_need, width, height, unlimited),
                          axis=1)
        extra = _area(merged) - _area(regions[i]) - _area(regions[j])
        overlap = ((regions[i, 0] < regions[j, 2]) & (regions[j, 0] < regions[i, 2])
                   & (regions[i, 1] < regions[j, 3]) & (regions[j, 1] < regions[i, 3]))
        allowed = unshrunk & (overlap | (extra <= request_cost) | (n > max_regions))
        if not allowed.any():
            break
        # Disjoint pairs per pass, overlapping first, then the fewest added pixels; pairs
        # merged only to keep the request count down, no more than needed.
        order = np.nonzero(allowed)[0]
        order = order[np.lexsort((extra[order], ~overlap[order]))]
        used = np.zeros(n, bool)
        group = np.arange(n)
        spare = n - max_regions
        for k in order:
            a, b = i[k], j[k]
            if used[a] or used[b]:
                continue
            if not overlap[k] and extra[k] > request_cost:
                if spare <= 0:
                    break
            used[a] = used[b] = True
            group[b] = a
            spare -= 1
        labels = np.unique(group, return_inverse=True)[1]
        count = int(labels.max()) + 1
        new = np.empty((count, 4), np.int64)
        new[:, :2] = np.iinfo(np.int64).max
        new[:, 2:] = np.iinfo(np.int64).min
        np.minimum.at(new[:, 0], labels, grown[:, 0])
        np.minimum.at(new[:, 1], labels, grown[:, 1])
        np.maximum.at(new[:, 2], labels, grown[:, 2])
        np.maximum.at(new[:, 3], labels, grown[:, 3])
        new_need = np.zeros(count, np.int64)
        np.maximum.at(new_need, labels, need)
        grown, need, member = new, new_need, labels[member]
    boxes = _regions(grown, need, width, height, budget)
    out = [(tuple(int(v) for v in box), np.nonzero(member == g)[0])
           for g, box in enumerate(boxes)]
    return sorted(out, key=lambda item: (item[0][1], item[0][0]))


def plan_regions(marked: Marked, grow_px: int, budget: int = REGION_BUDGET, *,
                 request_cost: int = REQUEST_COST, max_regions: int = MAX_REGIONS) -> list:
    """One :class:`Plan` per cluster of marks (see :func:`group_regions`): far-apart specks
    are sent as separate small regions at full resolution, instead of one bounding box of all
    marks that the service would receive shrunk. Empty list when nothing is painted."""
    height, width = marked.shape
    mx0, my0 = marked.box[:2]
    labels, count = components.label(marked.values > 0)
    if count == 0:
        return []
    pad = grow_px + 1      # masks.grow dilates by a disc of radius grow_px: this covers it
    found = components.boxes(labels, count)
    marks = [(max(0, mx0 + left - pad), max(0, my0 + top - pad),
              min(width, mx0 + right + pad), min(height, my0 + bottom + pad))
             for top, left, bottom, right in found]
    plans = []
    for box, members in group_regions(marks, (height, width), budget,
                                      request_cost=request_cost, max_regions=max_regions):
        mine = np.zeros(count + 1, bool)
        mine[members + 1] = True
        plan = _plan_box(marked, box, grow_px, mine[labels])
        if plan is not None:
            plans.append(plan)
    return plans


def _plan_box(marked: Marked, box: tuple, grow_px: int, mine: np.ndarray) -> Plan | None:
    """The plan of one region: its marks (``mine``, bool over ``marked.values``) inside
    ``box``, grown, and their blend weight."""
    bx0, by0, bx1, by1 = box
    mx0, my0, mx1, my1 = marked.box
    crop = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    sx0, sy0, sx1, sy1 = max(mx0, bx0), max(my0, by0), min(mx1, bx1), min(my1, by1)
    if sx1 <= sx0 or sy1 <= sy0:
        return None
    window = (slice(sy0 - my0, sy1 - my0), slice(sx0 - mx0, sx1 - mx0))
    crop[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0] = np.where(mine[window],
                                                              marked.values[window], 0)
    if not crop.any():
        return None
    grown = masks.grow(crop, grow_px)
    inside = grown > 0
    weight = masks.feather(inside, FEATHER) * inside
    return Plan(tuple(int(v) for v in box), grown, weight.astype(np.float32))
