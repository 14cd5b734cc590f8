"""Cutout edges you can composite: foreground colour estimation and despill. bpy-free.

A cutout's partly transparent pixels (hair, a blurred shoulder) are mixtures of the subject and
the old background: ``I = a F + (1 - a) B``. Keeping ``I`` as the cutout's colour brings the
wall along, and over a dark new background a pale fringe shows. This module estimates ``F``
(and ``B``) for every pixel, so the cutout carries the subject's colour.

The method is the multi-level foreground estimation of Germer, Uelwer, Conrad and Harmeling,
"Fast Multi-Level Foreground Estimation" (ICPR 2020): per pixel, minimise

    |a F + (1 - a) B - I|^2 + sum over 4-neighbours of (eps + |a - a_n|) (|F - F_n|^2 + |B - B_n|^2)

coarse to fine (nearest-neighbour pyramid from 1 px up to full size), a few sweeps per level,
each sweep solving every pixel's 2x2 system with the neighbours' current values. The paper's
sweeps run in place (Gauss-Seidel); here each sweep is one vectorised Jacobi update of the
whole image, which the coarse-to-fine start makes converge in as few sweeps.

Arrays: image float32 (H, W, 3) in 0..1, alpha float32 (H, W) in 0..1, row 0 at the top.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import NEVER_CANCELLED, InputError

REGULARISATION = 1e-5       # eps: smoothness where alpha is flat
GRADIENT_WEIGHT = 1.0       # how much alpha edges loosen the smoothness
SMALL_SIZE = 32             # levels up to this size get SMALL_SWEEPS, larger ones BIG_SWEEPS
SMALL_SWEEPS = 10
BIG_SWEEPS = 2

# Pixels this transparent or opaque are not edges: their colour is the image's own.
EDGE_LOW, EDGE_HIGH = 1.0 / 255.0, 254.0 / 255.0


def _nearest(a: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.minimum((np.arange(height) * a.shape[0]) // height, a.shape[0] - 1)
    cols = np.minimum((np.arange(width) * a.shape[1]) // width, a.shape[1] - 1)
    return a[rows][:, cols]


def _neighbours(a: np.ndarray):
    """The four neighbours of every pixel, edges clamped (the pixel itself stands in)."""
    up = np.concatenate([a[:1], a[:-1]], axis=0)
    down = np.concatenate([a[1:], a[-1:]], axis=0)
    left = np.concatenate([a[:, :1], a[:, :-1]], axis=1)
    right = np.concatenate([a[:, 1:], a[:, -1:]], axis=1)
    return up, down, left, right


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, *,
                        cancel=NEVER_CANCELLED) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background colours, float32 (H, W, 3) each, for ``image`` and ``alpha``.

    Where alpha is 1 the foreground is the image (and where 0 the background is); in between
    each pixel is split so that ``a F + (1 - a) B`` reproduces it, with colours that vary
    smoothly except across alpha edges.
    """
    image = np.asarray(image, np.float32)
    alpha = np.asarray(alpha, np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or alpha.shape != image.shape[:2]:
        raise InputError(f"Foreground estimation needs an (H, W, 3) image and an (H, W) alpha "
                         f"of the same size, not {image.shape} and {alpha.shape}")
    h0, w0 = alpha.shape
    levels = max(1, math.ceil(math.log2(max(h0, w0))))
    fg = bg = image.mean(axis=(0, 1), keepdims=True)   # the 1 x 1 start
    for level in range(levels + 1):
        h = max(1, round(h0 ** (level / levels)))
        w = max(1, round(w0 ** (level / levels)))
        img = _nearest(image, h, w)
        a = _nearest(alpha, h, w)[..., None]
        fg, bg = _nearest(fg, h, w), _nearest(bg, h, w)
        b = 1.0 - a
        # Each neighbour's weight: eps + |a - a_n|, shared by F and B.
        weights = [REGULARISATION + GRADIENT_WEIGHT * np.abs(a - n) for n in _neighbours(a)]
        w_sum = sum(weights)
        a00, a11, a01 = a * a + w_sum, b * b + w_sum, a * b
        inv_det = 1.0 / (a00 * a11 - a01 * a01)
        sweeps = SMALL_SWEEPS if max(h, w) <= SMALL_SIZE else BIG_SWEEPS
        for _ in range(sweeps):
            cancel.check()
            r0 = a * img + sum(wt * n for wt, n in zip(weights, _neighbours(fg)))
            r1 = b * img + sum(wt * n for wt, n in zip(weights, _neighbours(bg)))
            fg = np.clip(inv_det * (a11 * r0 - a01 * r1), 0.0, 1.0)
            bg = np.clip(inv_det * (a00 * r1 - a01 * r0), 0.0, 1.0)
    return fg.astype(np.float32), bg.astype(np.float32)


def despill(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, amount: float) -> np.ndarray:
    """Remove what is left of the background's colour cast from the edge pixels' foreground.

    The cast is the part of the foreground's chroma (colour minus its grey level) that points
    along the background's chroma; ``amount`` 0..1 removes that much of it, weighted by how
    transparent the pixel is (opaque pixels keep their colour). Grey backgrounds cast nothing.
    """
    if not math.isfinite(amount) or not 0.0 <= amount <= 1.0:
        raise InputError(f"Despill must be between 0 and 1, not {amount!r}")
    if amount == 0.0:
        return fg
    bg_chroma = bg - bg.mean(axis=2, keepdims=True)
    norm = np.linalg.norm(bg_chroma, axis=2, keepdims=True)
    direction = np.where(norm > 1e-3, bg_chroma / np.maximum(norm, 1e-6), 0.0)
    fg_grey = fg.mean(axis=2, keepdims=True)
    along = np.maximum(((fg - fg_grey) * direction).sum(axis=2, keepdims=True), 0.0)
    edge = (1.0 - np.asarray(alpha, np.float32))[..., None]
    return np.clip(fg - amount * edge * along * direction, 0.0, 1.0).astype(np.float32)


def cutout_colours(image: np.ndarray, alpha: np.ndarray, *, despill_amount: float = 0.5,
                   cancel=NEVER_CANCELLED) -> np.ndarray:
    """The colours a cutout should carry: the image where it is opaque, the estimated
    foreground (despilled) on its partly transparent edge. float32 (H, W, 3) in 0..1."""
    image = np.asarray(image, np.float32)
    alpha = np.asarray(alpha, np.float32)
    edge = (alpha > EDGE_LOW) & (alpha < EDGE_HIGH)
    if not edge.any():
        return image.copy()
    rows, cols = np.nonzero(edge)
    pad = 16   # context around the edge band is enough: the rest is opaque or gone
    top, bottom = max(rows.min() - pad, 0), min(rows.max() + pad + 1, alpha.shape[0])
    left, right = max(cols.min() - pad, 0), min(cols.max() + pad + 1, alpha.shape[1])
    box = (slice(top, bottom), slice(left, right))
    fg, bg = estimate_foreground(image[box], alpha[box], cancel=cancel)
    fg = despill(fg, bg, alpha[box], despill_amount)
    out = image.copy()
    out[box] = np.where(edge[box][..., None], fg, image[box])
    return out
