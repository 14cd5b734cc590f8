"""The subject of a depth map: which pixels are foreground. bpy-free, numpy only.

A depth answer's background is not exactly 0: a service's depth is a JPEG whose noise leaves
hundreds of background pixels a few levels above 0, and its ringing leaves specks next to the
outline. "depth > 0" would turn each of them into a pin standing off the plaque. So:

- with a person mask (``alpha``, e.g. the background provider's answer) the outline is
  ``alpha >= 0.5``;
- else a hysteresis threshold on the depth: pixels above ``HIGH`` of the depth's range seed
  the subject, pixels above ``LOW`` join it only when connected to a seed (noise below LOW
  never counts; specks between LOW and HIGH count only when they touch the subject);
- then clean-up: a morphological opening removes specks and whiskers thinner than about
  0.6 % of the long side (no strand narrower than a nozzle on the default plaque), pieces
  smaller than ``min_island`` of the largest are dropped, and holes smaller than
  ``hole_area`` (a fraction of the image) are filled.

Connected pieces are 4-connected (as the relief's faces are: a diagonal contact is not a
joint), labelled through the runs of each row and a vectorised union of touching runs.
"""

from __future__ import annotations

import numpy as np

from . import components, masks
from .errors import InputError

DEFAULT_MIN_ISLAND = 0.01   # pieces under 1 % of the largest are specks
DEFAULT_HOLE_AREA = 0.002   # holes under 0.2 % of the image are filled
LOW, HIGH = 0.04, 0.12      # hysteresis thresholds, fractions of the depth's robust peak
NOISE_FLOOR = 6.0 / 255.0   # JPEG noise in a depth answer's background: a few 8-bit levels
_OPEN_RADIUS = 0.003        # opening radius, fraction of the long side (>= 1 pixel)


def keep_islands(mask: np.ndarray, min_island: float) -> np.ndarray:
    """Drop 4-connected pieces smaller than ``min_island`` times the largest (0 keeps all)."""
    return components.keep_large(mask, max(float(min_island), 0.0), connectivity=4)


def fill_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill background pieces not touching the border with fewer than ``max_area`` pixels."""
    return components.fill_holes(mask, max_area)


def opening(mask: np.ndarray, radius: int) -> np.ndarray:
    """Erode then dilate by a near disc of ``radius`` pixels: specks and whiskers thinner
    than the disc go, everything else keeps its outline."""
    m = np.asarray(mask, bool)
    if radius <= 0:
        return m.copy()
    eroded = masks.grow(~m, radius) == 0
    return (masks.grow(eroded, radius) > 0) & m


def hysteresis(depth: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels above ``low`` connected to a pixel above ``high``."""
    weak = depth > low
    labels, count = components.label(weak, connectivity=4)
    if count == 0:
        return weak
    seeded = np.zeros(count + 1, bool)
    seeded[labels[(depth > high) & weak]] = True
    seeded[0] = False
    return seeded[labels]


def foreground(depth: np.ndarray, *, alpha: np.ndarray | None = None,
               level: float | None = None, min_island: float = DEFAULT_MIN_ISLAND,
               hole_area: float = DEFAULT_HOLE_AREA) -> np.ndarray:
    """The subject of ``depth`` (H, W) float 0..1 as a bool (H, W) mask (see the module
    docstring). ``alpha`` (same size, 0..1) is a person mask to use instead of the depth;
    ``level`` a plain threshold (values above it are foreground) instead of hysteresis."""
    d = np.asarray(depth, np.float32)
    if alpha is not None:
        a = np.asarray(alpha, np.float32)
        if a.shape != d.shape:
            raise InputError(f"The person mask is {a.shape[1]}x{a.shape[0]} pixels but the "
                             f"depth is {d.shape[1]}x{d.shape[0]}: they must match")
        fg = np.nan_to_num(a) >= 0.5
    elif level is not None:
        fg = d > level
    else:
        fg_values = d[d > NOISE_FLOOR]
        if fg_values.size == 0:
            return np.zeros(d.shape, bool)
        peak = float(np.percentile(fg_values, 99.5))
        fg = hysteresis(d, max(NOISE_FLOOR, LOW * peak), max(NOISE_FLOOR, HIGH * peak))
    radius = max(1, int(round(_OPEN_RADIUS * max(d.shape))))
    if fg.all():
        return fg
    if level is None:  # a plain threshold (a cutout's trim) keeps its outline exactly
        fg = opening(fg, radius)
    fg = keep_islands(fg, min_island)
    return fill_holes(fg, hole_area * d.size)
