"""Surface normals: computed from a depth map, and the 8-bit encoding services use. bpy-free.

Encoding (ClipDrop's Portrait Surface Normals, see ``providers.contract``): RGB = XYZ mapped from
-1..1 to 0..255, X right, Y up (OpenGL convention), Z towards the viewer; background and flat
areas are (128, 128, 255). The mapping is ``byte = round((n + 1) * 127.5)`` and back
``n = byte / 127.5 - 1``, which is exactly what Blender's Normal Map node does with a
Non-Color image (``2 * colour - 1``), so the bytes can be handed to Blender unchanged.

Arrays have row 0 at the TOP of the image, so "up" (+Y) is towards row 0.
"""

from __future__ import annotations

import numpy as np

FLAT = (128, 128, 255)

# Relief height of depth 1.0, as a fraction of the image's shorter side, at strength 1.
# With 0.5, a hemisphere that just fills the short side (depth 1 at its centre, 0 at its rim)
# gets exactly spherical normals: a round head stays round. Portrait depth maps compress the
# person into part of 0..1, so 1.0 gives the soft-but-readable relief of a service result;
# ``strength`` scales it.
RELIEF_OF_SHORT_SIDE = 0.5

# A step between neighbouring foreground pixels steeper than this (height / pixel distance)
# is treated as a discontinuity (an occluding edge, or an anti-aliased silhouette ramp), not as
# surface: 4 is about 76 degrees. Real surfaces rarely look steeper than that in a depth map,
# while a cliff from the person down to a far layer always does.
MAX_SLOPE = 4.0


def encode(normals: np.ndarray) -> np.ndarray:
    """Unit vectors float (H, W, 3) -> uint8 (H, W, 3); components outside -1..1 are clipped."""
    n = np.clip(np.asarray(normals, dtype=np.float32), -1.0, 1.0)
    return np.floor((n + 1.0) * 127.5 + 0.5).astype(np.uint8)


def decode(encoded: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 unit vectors (H, W, 3).

    Renormalised, since 8-bit rounding leaves vectors slightly off unit length. No byte
    triple decodes to the zero vector (zero sits at 127.5), so the division is always safe.
    """
    n = np.asarray(encoded, dtype=np.float32)[..., :3] / 127.5 - 1.0
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def flip_green(encoded: np.ndarray) -> np.ndarray:
    """Convert between OpenGL (Y up, Blender) and DirectX (Y down) normal maps.

    ``G -> 255 - G`` negates Y exactly in the 127.5-centred encoding and is its own inverse.
    The flat value 128 becomes 127: both are the nearest bytes to zero, so flat stays flat.
    Any channels after the first three (alpha) are passed through.
    """
    out = np.array(encoded, dtype=np.uint8, copy=True)
    out[..., 1] = 255 - out[..., 1]
    return out


def _masked_gradient(z: np.ndarray, fg: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """d z / d(index along ``axis``) using only steps that stay on the surface.

    A step between two pixels counts when both are foreground and it is no steeper than
    ``MAX_SLOPE``. Where both neighbouring steps count this is the central difference; where
    one does, the one-sided difference; where none does, 0. Returns (gradient, valid).
    """
    step = np.diff(z, axis=axis)
    ok = np.logical_and(np.take(fg, range(0, fg.shape[axis] - 1), axis=axis),
                        np.take(fg, range(1, fg.shape[axis]), axis=axis))
    ok &= np.abs(step) <= MAX_SLOPE
    step = np.where(ok, step, 0.0)

    pad = [(0, 0), (0, 0)]
    pad[axis] = (1, 0)
    before, ok_before = np.pad(step, pad), np.pad(ok, pad)   # step arriving at each pixel
    pad[axis] = (0, 1)
    after, ok_after = np.pad(step, pad), np.pad(ok, pad)     # step leaving each pixel
    count = ok_before.astype(np.float32) + ok_after
    gradient = (before + after) / np.maximum(count, 1.0)
    return gradient.astype(np.float32), count > 0


def _smooth_121(values: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """[1, 2, 1] smoothing along ``axis`` that only averages valid samples.

    This is the cross-smoothing of a Sobel operator, done as a normalised convolution so that
    background and discontinuities do not bleed into the surface next to them.
    """
    def shifted(a, offset):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (1, 1)
        padded = np.pad(a, pad)
        index = [slice(None), slice(None)]
        index[axis] = slice(1 + offset, padded.shape[axis] - 1 + offset)
        return padded[tuple(index)]

    vw = values * weights
    total = 2.0 * vw + shifted(vw, -1) + shifted(vw, 1)
    norm = 2.0 * weights + shifted(weights, -1) + shifted(weights, 1)
    return np.where(norm > 0, total / np.maximum(norm, 1e-6), 0.0).astype(np.float32)


def normals_from_depth(depth: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Depth float (H, W) 0..1 (1 = nearest, 0 = background) -> encoded normals uint8 (H, W, 3).

    The depth is read as a height field of ``depth * strength * RELIEF_OF_SHORT_SIDE`` times the
    image's shorter side, in pixels, so the result does not depend on the resolution. Gradients
    are Sobel-style (central differences with [1, 2, 1] cross-smoothing, which also tames the
    terraces of an 8-bit depth map) but taken only over steps that stay on the surface: the
    background is exactly (128, 128, 255), and the jump from the person to the background (or
    a soft, anti-aliased silhouette) does not become a rim of normals pointing off the cliff.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {depth.shape}")
    height, width = depth.shape
    fg = depth > 0.0
    z = depth * (float(strength) * RELIEF_OF_SHORT_SIDE * min(height, width))

    gx, okx = _masked_gradient(z, fg, axis=1)
    gy, oky = _masked_gradient(z, fg, axis=0)
    gx = _smooth_121(gx, okx.astype(np.float32), axis=0)
    gy = _smooth_121(gy, oky.astype(np.float32), axis=1)

    # Surface z(col, row): the normal is (-dz/dx, -dz/dy, 1) with y up = rows decreasing.
    n = np.stack([-gx, gy, np.ones_like(gx)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    out = encode(n)
    out[~fg] = FLAT
    return out
