"""Person mask: MediaPipe selfie segmentation (256x256) refined to the source resolution by a
guided filter, so the edge follows the photo (hair, shoulders) instead of being a blurry stretch
of the 256-pixel mask."""

from __future__ import annotations

import numpy as np

from ...core import images
from .runtime import ModelStore

MODEL = "selfie_segmentation"
SIZE = 256


def letterbox(rgb: np.ndarray, size: int):
    """Fit (H, W, 3) float into size x size, centred, zero padded.
    Returns the square image and (top, left, height, width) of the picture inside it."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    top, left = (size - nh) // 2, (size - nw) // 2
    out = np.zeros((size, size, 3), np.float32)
    out[top:top + nh, left:left + nw] = images.resize(rgb, nh, nw)
    return out, (top, left, nh, nw)


def coarse_mask(store: ModelStore, rgb: np.ndarray) -> np.ndarray:
    """Person probability at the model's resolution, cropped to the picture: float (h, w)."""
    square, (top, left, nh, nw) = letterbox(rgb, SIZE)
    (prob,) = store.run(MODEL, {store.input_name(MODEL): square[None]})
    return prob[0, top:top + nh, left:left + nw, 0].astype(np.float32)


def refine(prob: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Coarse probability -> alpha at the size of ``rgb`` (guided-filter upsampling)."""
    h, w = rgb.shape[:2]
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    up = images.resize(prob, h, w)
    # Steepen the model's soft ramp a little before filtering: the guided filter restores the
    # softness where the photo itself has a soft edge (hair) and keeps hard edges hard.
    up = images.smoothstep(0.15, 0.85, up)
    short = min(h, w)
    radius = max(2, int(round(short / 100)))
    sub = max(1, radius // 2)
    alpha = images.guided_filter(grey, up, radius, 1e-3, subsample=sub)
    # The filter leaves a little of the ramp it was given; a final contrast step removes it
    # (a real soft edge, e.g. hair, keeps intermediate values over several pixels).
    alpha = images.smoothstep(0.1, 0.9, alpha)
    # Far from the model's edge trust the model: no guided-filter halos in flat regions (the
    # filter dips inside the person where the photo has strong edges, e.g. a collar).
    stretched = images.resize(prob, h, w)
    alpha[stretched < 0.02] = 0.0
    alpha[stretched > 0.98] = 1.0
    alpha[alpha < 2.0 / 255.0] = 0.0
    return alpha.astype(np.float32)


# What the selfie model is trained for: one person facing the camera, head and shoulders or
# more. A mask covering nearly the whole frame, or one with no narrower head above wider
# shoulders (a cat filling the picture, a coffee cup), is most likely not a person.
MAX_PERSON_COVERAGE = 0.85
MAX_NECK_RATIO = 0.5


def person_shaped(alpha: np.ndarray) -> bool:
    """True when the mask (float (H, W) 0..1) looks like a person: it leaves some background,
    and somewhere in the upper part of its height (15-45 %, head and neck) it is at most half
    as wide as at its widest in the lower half (the shoulders)."""
    m = np.asarray(alpha) > 0.5
    rows = np.nonzero(m.any(axis=1))[0]
    if rows.size < 4 or m.mean() > MAX_PERSON_COVERAGE:
        return False
    top, height = rows[0], rows[-1] - rows[0] + 1
    widths = m.sum(axis=1)
    neck = widths[top + int(0.15 * height):top + int(0.45 * height) + 1].min()
    shoulders = widths[top + height // 2:rows[-1] + 1].max()
    return bool(neck <= MAX_NECK_RATIO * shoulders)
