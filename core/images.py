"""Image operations, one home for them all. bpy-free: numpy, and Pillow where it fits.

Conventions (every function here):
- arrays are (H, W) or (H, W, C), row 0 at the TOP; sizes are given as ``height, width``;
- float images are float32 in 0..1; 8-bit images are uint8;
- Pillow where it handles the dtype (uint8 images, float32 single-channel), numpy separable
  filters where it does not; no scipy or OpenCV (Blender ships neither).

What is here: resizing (:func:`resize`), blurs (:func:`blur`, :func:`masked_blur`,
:func:`box_filter`, :func:`guided_filter`), dilation (:func:`dilate`), pyramid fills
(:func:`push_pull`, :func:`membrane_fill`, sharing :func:`pool_2x2`), colour
(:func:`linear_to_srgb`, :func:`srgb_to_linear`), float -> byte (:func:`to_uint8`), and the
size of an image shown ``long_side`` long (:func:`extent`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

_PILLOW_FILTERS = {"lanczos": Image.LANCZOS, "box": Image.BOX, "bilinear": Image.BILINEAR}


def to_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3|4) or grey (H, W) -> float32 (H, W, 3) in 0..1 (alpha dropped)."""
    a = np.asarray(rgb)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) or (H, W, 4) image, got {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def _axis_weights(n_in: int, n_out: int):
    """Indices and weights for half-pixel-centred linear resampling along one axis."""
    scale = n_in / n_out
    x = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    x = np.clip(x, 0.0, n_in - 1)
    i0 = np.floor(x).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (x - i0).astype(np.float32)
    return i0, i1, w


def _box_reduce(img: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Mean of each fy x fx block (float32): strided slices added up, one pass per offset
    (much faster than a reshape and a mean over the small axes)."""
    h, w = img.shape[:2]
    h2, w2 = h // fy, w // fx
    rows = img[0:h2 * fy:fy].astype(np.float32)
    for i in range(1, fy):
        rows += img[i:h2 * fy:fy]
    out = rows[:, 0:w2 * fx:fx].copy()
    for j in range(1, fx):
        out += rows[:, j:w2 * fx:fx]
    out *= np.float32(1.0 / (fy * fx))
    return out


def resize(img: np.ndarray, height: int, width: int, *,
           filter: str | None = None) -> np.ndarray:
    """Resample to ``height`` x ``width``.

    ``filter``:
    - ``"linear"`` (the default for float arrays): numpy, any channels, half-pixel-centred
      bilinear, box-prefiltered when shrinking a lot; returns float32 (a copy at equal size);
    - ``"lanczos"`` (the default for uint8; sharp, what uploads and answers use), ``"box"``
      (area average: a thin mask stroke survives a downscale) or ``"bilinear"``: Pillow, for
      uint8 (H, W), (H, W, 3), (H, W, 4) and float32 (H, W) (kept in 0..1); the dtype is kept
      and an array already at that size comes back as it is.
    """
    a = np.asarray(img)
    if filter is None:
        filter = "lanczos" if a.dtype == np.uint8 else "linear"
    if filter != "linear":
        if a.shape[:2] == (height, width):
            return a
        if a.dtype == np.float32 and a.ndim == 2:
            out = np.asarray(Image.fromarray(a).resize((width, height), _PILLOW_FILTERS[filter]))
            return np.clip(out, 0.0, 1.0).astype(np.float32)
        if a.dtype != np.uint8:
            raise ValueError(f"{filter} resizing takes uint8 or float32 (H, W), not {a.dtype}")
        pil = Image.fromarray(np.ascontiguousarray(a))  # L / RGB / RGBA from the shape
        return np.asarray(pil.resize((width, height), _PILLOW_FILTERS[filter])).copy()
    img = np.asarray(a)
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img.astype(np.float32)
    fy = max(1, h // (2 * height))
    fx = max(1, w // (2 * width))
    if fy > 1 or fx > 1:   # bool and integer images are summed exactly without a float copy
        img = _box_reduce(img if img.dtype.kind in "bui" else img.astype(np.float32, copy=False),
                          fy, fx)
        h, w = img.shape[:2]
    else:
        img = img.astype(np.float32, copy=False)
    i0, i1, wy = _axis_weights(h, height)
    wy = wy.reshape((-1, 1) + (1,) * (img.ndim - 2))
    j0, j1, wx = _axis_weights(w, width)
    wx = wx.reshape((1, -1) + (1,) * (img.ndim - 2))
    # Gathering columns costs more than gathering rows: do the columns on the fewer rows.
    if height > h:
        return _lerp(_lerp(img, j0, j1, wx, 1), i0, i1, wy, 0)
    return _lerp(_lerp(img, i0, i1, wy, 0), j0, j1, wx, 1)


def _lerp(img: np.ndarray, i0, i1, w, axis: int) -> np.ndarray:
    """img[i0] * (1 - w) + img[i1] * w along ``axis`` (0 or 1), float32, two temporaries."""
    a = np.take(img, i0, axis=axis)
    a *= 1.0 - w
    b = np.take(img, i1, axis=axis)
    b *= w
    a += b
    return a


def box_filter(img: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, with the window clipped at the borders (shifted sums for
    small windows, cumulative sums for large ones)."""
    if radius <= 0:
        return np.asarray(img, dtype=np.float32)
    img = np.asarray(img, dtype=np.float64)
    out = _box_1d(img, radius, 0)
    out = _box_1d(out, radius, 1)
    return out.astype(np.float32)


_SHIFTED_SUMS = 8  # up to this radius 2r adds of shifted copies beat a running sum


def _box_1d(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    n = a.shape[axis]
    if r <= _SHIFTED_SUMS:
        def span(x, start, stop):  # x[start:stop] along ``axis`` (a view)
            index = [slice(None)] * x.ndim
            index[axis] = slice(start, stop)
            return x[tuple(index)]

        out = a.copy()
        for d in range(1, min(r, n - 1) + 1):
            span(out, d, None)[...] += span(a, 0, n - d)
            span(out, 0, n - d)[...] += span(a, d, None)
        idx = np.arange(n)
        count = (np.minimum(idx + r + 1, n) - np.maximum(idx - r, 0)).astype(a.dtype)
        shape = [1] * a.ndim
        shape[axis] = n
        out /= count.reshape(shape)
        return out
    c = np.cumsum(a, axis=axis)
    pad_shape = list(a.shape)
    pad_shape[axis] = 1
    c = np.concatenate([np.zeros(pad_shape, a.dtype), c], axis=axis)
    idx = np.arange(n)
    hi = np.minimum(idx + r + 1, n)
    lo = np.maximum(idx - r, 0)
    s = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
    cnt = (hi - lo).astype(np.float64)
    shape = [1] * a.ndim
    shape[axis] = n
    return s / cnt.reshape(shape)


def blur(img: np.ndarray, sigma: float, *, exact: bool = False) -> np.ndarray:
    """Gaussian blur of (H, W) or (H, W, C) (``sigma`` in pixels), float32 out.

    By default three box passes with the same variance as a Gaussian of ``sigma`` (fast at
    any sigma; windows clipped at the borders). ``exact``: a true separable Gaussian kernel
    (3 sigma wide, edges mirrored), for heights where the shape of the falloff matters.
    """
    if exact:
        return _gaussian(np.asarray(img, dtype=np.float32), sigma)
    if sigma <= 0.3:
        return np.asarray(img, dtype=np.float32)
    # three boxes of width w have variance 3 * (w^2 - 1) / 12
    r = max(1, int(round((np.sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0)))
    out = np.asarray(img, dtype=np.float32)
    for _ in range(3):
        out = box_filter(out, r)
    return out


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:  # below this the kernel is a delta to float32 precision
        return a.copy()
    k = _gaussian_kernel(sigma)
    r = k.size // 2
    out = a
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * a.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="symmetric")
        acc = np.zeros_like(out)
        for i, w in enumerate(k):  # loop over kernel taps, each a whole-array operation
            sl = [slice(None)] * a.ndim
            sl[axis] = slice(i, i + n)
            acc += w * p[tuple(sl)]
        out = acc
    return out


def masked_blur(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised (masked) exact Gaussian of float (H, W) ``values`` inside the bool ``mask``,
    0 outside: the inside is smoothed without mixing in the outside, so a silhouette keeps
    its height at the edge instead of drooping towards 0."""
    values = np.asarray(values, dtype=np.float32)
    if sigma <= 0.05:
        return np.where(mask, values, 0.0).astype(np.float32)
    m = mask.astype(np.float32)
    num = blur(values * m, sigma, exact=True)
    den = blur(m, sigma, exact=True)
    out = np.zeros_like(values)
    np.divide(num, den, out=out, where=mask & (den > 1e-12))
    return out


def dilate(mask: np.ndarray, radius_y: int, radius_x: int | None = None) -> np.ndarray:
    """Rectangular dilation (a running maximum over 2r+1 along each axis; ``radius_x``
    defaults to ``radius_y``) of a bool or grey (H, W) mask; outside the image counts as 0.
    Window doubling: log2(window) whole-array maxima per axis, whatever the radius."""
    out = np.asarray(mask)
    for axis, radius in ((0, radius_y), (1, radius_y if radius_x is None else radius_x)):
        out = _max_1d(out, radius, axis)
    return out if out is not mask else out.copy()


def _max_1d(a: np.ndarray, radius: int, axis: int) -> np.ndarray:
    if radius <= 0:
        return a
    n, k = a.shape[axis], 2 * radius + 1

    def span(arr, start, stop):  # arr[start:stop] along ``axis``: a view, no axis moved
        index = [slice(None)] * arr.ndim
        index[axis] = slice(start, stop)
        return arr[tuple(index)]

    shape = list(a.shape)
    shape[axis] = n + 2 * radius
    m = np.zeros(shape, a.dtype)                       # outside the image counts as 0
    span(m, radius, radius + n)[...] = a
    w = 1
    while 2 * w <= k:  # invariant: m[i] = max(padded[i : i + w])
        m = np.maximum(span(m, 0, m.shape[axis] - w), span(m, w, None))
        w *= 2
    return np.maximum(span(m, 0, n), span(m, k - w, k - w + n))


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                  subsample: int = 1) -> np.ndarray:
    """He et al.'s guided filter (grey guide), the fast variant when ``subsample`` > 1.

    ``guide`` (H, W) float 0..1 at full resolution; ``src`` (H, W) float, usually a coarse mask
    stretched to that size. Edges in the output follow edges in the guide.
    """
    h, w = guide.shape
    s = max(1, int(subsample))
    if s > 1:
        hs, ws = max(1, h // s), max(1, w // s)
        g = resize(guide, hs, ws)
        p = resize(src, hs, ws)
        r = max(1, radius // s)
    else:
        g, p, r = guide, src, radius
    mean_i = box_filter(g, r)
    mean_p = box_filter(p, r)
    corr_ip = box_filter(g * p, r)
    var_i = box_filter(g * g, r) - mean_i * mean_i
    a = (corr_ip - mean_i * mean_p) / (var_i + eps)
    b = mean_p - a * mean_i
    mean_a = box_filter(a, r)
    mean_b = box_filter(b, r)
    if s > 1:
        mean_a = resize(mean_a, h, w)
        mean_b = resize(mean_b, h, w)
    return (mean_a * guide + mean_b).astype(np.float32)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def warp_affine(img: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """Sample ``img`` (H, W, C) at ``matrix @ [x, y, 1]`` for each output pixel (bilinear,
    zero outside). ``matrix`` (2, 3) maps output pixel centres to input pixel coordinates."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sx = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]
    sy = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]
    h, w = img.shape[:2]
    x0 = np.floor(sx).astype(np.intp)
    y0 = np.floor(sy).astype(np.intp)
    fx = (sx - x0)[..., None]
    fy = (sy - y0)[..., None]
    out = np.zeros((height, width, img.shape[2]), np.float32)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
            out += np.where(ok[..., None], vals, 0.0) * (wy * wx)
    return out


def pool_2x2(weighted: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pull step of a pyramid: 2 x 2 sums of ``weighted`` (values already multiplied by
    their weights; (H, W) or (H, W, C)) and of ``weights`` (H, W). Odd sizes are padded with
    weight 0, so the mean ``sums / weight sums`` is that of the real pixels only."""
    h, w = weights.shape
    pad = ((0, h % 2), (0, w % 2))
    a = np.pad(weighted, pad + ((0, 0),) * (weighted.ndim - 2))
    b = np.pad(weights, pad)
    a = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
    b = b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]
    return a, b


def push_pull(values: np.ndarray, weights: np.ndarray, min_size: int = 2) -> np.ndarray:
    """Scattered-data fill: values known where ``weights`` > 0 are spread smoothly into the gaps
    by a pull (weighted down-sampling) / push (up-sampling into the gaps) pyramid."""
    vw = [np.asarray(values * weights, np.float32)]
    ww = [np.asarray(weights, np.float32)]
    while min(vw[-1].shape) > min_size:
        a, b = pool_2x2(vw[-1], ww[-1])
        vw.append(a)
        ww.append(b)
    top_w = ww[-1].sum()
    value = np.full(vw[-1].shape, vw[-1].sum() / top_w if top_w > 0 else 0.0, np.float32)
    for a, b in zip(reversed(vw), reversed(ww)):
        up = resize(value, a.shape[0], a.shape[1])
        conf = np.clip(b, 0.0, 1.0)
        mean = np.where(b > 0, a / np.maximum(b, 1e-12), 0.0)
        value = conf * mean + (1.0 - conf) * up
    return value.astype(np.float32)


def membrane_fill(image: np.ndarray, hole: np.ndarray, relax: int = 8) -> np.ndarray:
    """Smooth membrane (Laplace) fill of float (H, W, C) ``image`` inside the bool ``hole``.

    Pull-push: the known pixels are averaged down a pyramid until the hole is gone, then each
    level fills its hole from the level above (nearest) and relaxes it with ``relax`` Jacobi
    steps, so large holes converge without thousands of iterations. Known pixels are kept.
    """
    if not hole.any():
        return image
    known = ~hole
    if min(hole.shape) <= 2:
        out = image.copy()
        out[hole] = image[known].mean(axis=0)
        return out
    coarse, weight = pool_mean(image, known)
    coarse = membrane_fill(coarse, weight == 0, relax)
    out = np.where(hole[..., None], upsample_2x(coarse, hole.shape), image)
    ys, xs = np.nonzero(dilate(hole, 1))
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    sub, sub_hole = out[box], hole[box]          # a view: relaxing it updates ``out``
    for _ in range(relax):
        p = np.pad(sub, ((1, 1), (1, 1), (0, 0)), mode="edge")
        mean = 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:])
        sub[sub_hole] = mean[sub_hole]
    return out


def pool_mean(image: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half size: the 2 x 2 weighted mean of (H, W, C) ``image`` and the summed weight."""
    weight = np.asarray(weight, dtype=np.float32)
    num, den = pool_2x2(image * weight[..., None], weight)
    return num / np.maximum(den, 1e-12)[..., None], den


def upsample_2x(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour 2x upsampling cropped to ``shape`` (H, W)."""
    return image.repeat(2, axis=0).repeat(2, axis=1)[:shape[0], :shape[1]]


def extent(height_px: int, width_px: int, long_side: float) -> tuple[float, float]:
    """(x, y) size of an image shown with its long side ``long_side`` long, aspect kept."""
    if width_px >= height_px:
        return float(long_side), float(long_side) * height_px / width_px
    return float(long_side) * width_px / height_px, float(long_side)


# -- colour: sRGB transfer functions (IEC 61966-2-1) and float -> byte ---------------
def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    curve = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return curve.astype(np.float32)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def to_uint8(x: np.ndarray, *, peak: float = 1.0) -> np.ndarray:
    """float 0..``peak`` -> uint8 0..255, rounded half up; outside clipped, NaN -> 0. The one
    float -> byte rounding (``peak=255`` for values already on the byte scale)."""
    x = np.nan_to_num(np.asarray(x))
    if peak == 255.0:
        return np.clip(x + 0.5, 0.0, 255.0).astype(np.uint8)
    return (np.clip(x, 0.0, peak) * (255.0 / peak) + 0.5).astype(np.uint8)


def lightness(rgb: np.ndarray) -> np.ndarray:
    """Perceived lightness, CIE L* / 100: float32 (H, W) in 0..1 from sRGB-encoded uint8 or
    float (H, W, 3|4) or grey (H, W). Equal steps of L* look like equal steps of grey, so
    mid-tones keep their spacing (unlike raw sRGB values or linear luminance)."""
    linear = srgb_to_linear(to_float_rgb(rgb))
    y = linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)   # Rec. 709 / sRGB luminance
    eps = (6.0 / 29.0) ** 3
    f = np.where(y > eps, np.cbrt(np.maximum(y, eps)), y / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return np.clip((116.0 * f - 16.0) / 100.0, 0.0, 1.0).astype(np.float32)


# -- resampling as learned models' reference code does it (providers/offline/learned.py) ------
# Each model must see its input resized exactly as in its authors' code; these reproduce the
# OpenCV and PyTorch resizes those use, in numpy, for float (H, W) or (H, W, C) arrays.

def _cubic_weights(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution weights of the 4 taps around each sample (OpenCV: a = -0.75)."""
    x = np.stack([1.0 + t, t, 1.0 - t, 2.0 - t], axis=-1)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return np.where(x <= 1.0, near, far).astype(np.float32)


def resize_cubic(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """OpenCV's ``cv2.resize(..., interpolation=cv2.INTER_CUBIC)``: bicubic (a = -0.75),
    half-pixel centres, borders replicated, no antialiasing when shrinking. float32."""
    out = np.asarray(img, np.float32)
    for axis, n_out in ((0, height), (1, width)):
        n_in = out.shape[axis]
        x = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        i0 = np.floor(x).astype(np.intp)
        weights = _cubic_weights((x - i0).astype(np.float32))
        acc = 0.0
        for k in range(4):
            taps = np.take(out, np.clip(i0 - 1 + k, 0, n_in - 1), axis=axis)
            shape = [1] * out.ndim
            shape[axis] = n_out
            acc = acc + taps * weights[:, k].reshape(shape)
        out = np.asarray(acc, np.float32)
    return out


def resize_area(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """PyTorch's ``F.interpolate(..., mode="area")`` (adaptive average pooling): output cell
    i averages input cells floor(i * n / m) .. ceil((i + 1) * n / m) - 1. float32."""
    out = np.asarray(img, np.float32)
    for axis, n_out in ((0, height), (1, width)):
        n_in = out.shape[axis]
        idx = np.arange(n_out)
        start = (idx * n_in) // n_out
        end = -((-(idx + 1) * n_in) // n_out)
        sums = np.cumsum(out, axis=axis, dtype=np.float64)
        sums = np.concatenate([np.zeros_like(np.take(sums, [0], axis=axis)), sums], axis=axis)
        shape = [1] * out.ndim
        shape[axis] = n_out
        out = ((np.take(sums, end, axis=axis) - np.take(sums, start, axis=axis))
               / (end - start).reshape(shape)).astype(np.float32)
    return out


def resize_aligned(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """PyTorch's ``F.interpolate(..., mode="bilinear", align_corners=True)``: the corner
    pixels of input and output coincide. float32."""
    out = np.asarray(img, np.float32)
    for axis, n_out in ((0, height), (1, width)):
        n_in = out.shape[axis]
        x = np.arange(n_out, dtype=np.float64) * ((n_in - 1) / max(n_out - 1, 1))
        i0 = np.minimum(np.floor(x).astype(np.intp), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        shape = [1] * out.ndim
        shape[axis] = n_out
        t = (x - i0).astype(np.float32).reshape(shape)
        out = (np.take(out, i0, axis=axis) * (1.0 - t) + np.take(out, i1, axis=axis) * t)
    return np.asarray(out, np.float32)
