"""Gradient-domain bas-relief compression. bpy-free, numpy only.

A depth map scaled down linearly keeps its proportions: a head 20 cm deep squeezed into 8 mm
keeps a nose 0.2 mm tall. Relief carvers (and Weyrich et al. 2007, "Digital Bas-Relief from 3D
Scenes"; Kerber et al. 2009, "Feature sensitive bas relief generation") compress the
*gradients* instead, so small features keep their height while large slopes and jumps shrink:

1. take the height field's slopes between neighbouring grid vertices;
2. cut the silhouette (foreground/background edges) and cap occlusion jumps (slopes steeper
   than :data:`JUMP_SLOPE`) to a bounded step, so the head does not tower over the shoulders;
3. attenuate every remaining slope with a log curve ``log(1 + a s) / a`` (slope 1 at 0, so
   fine detail passes unchanged, steep slopes shrink a lot);
4. optionally boost fine detail: unsharp masking of the slopes against an edge-aware blur
   that ignores the capped jumps (no halos around steps);
5. integrate back with a Poisson solve (DCT, reflecting borders: exact for the 5-point
   Laplacian, O(n log n): one real 2D FFT each way with ``numpy.fft``);
6. scale to the requested peak height.

Heights here are in "long side = 1" units (depth 1 is :data:`DEPTH_SPAN` of the long side:
about how deep a head-and-shoulders portrait is against its width), so the compression does
not depend on the grid's resolution.
"""

from __future__ import annotations

import numpy as np

from . import images

COMPRESSIONS = ("GRADIENT", "LINEAR")
DEFAULT_DETAIL = 0.6

DEPTH_SPAN = 0.5        # depth 0..1 spans half the long side
JUMP_SLOPE = 3.0        # steeper than ~72 degrees between two vertices: an occlusion jump
JUMP_CAP = 0.12         # an occlusion step keeps at most this fraction of the final height
_DETAIL_SIGMA = 0.012   # fine detail: features up to ~1 % of the long side


def curve_strength(detail: float) -> float:
    """``a`` of the log curve for ``detail`` 0..1: 2 (almost linear) to 60 (strong)."""
    return float(2.0 * 30.0 ** np.clip(detail, 0.0, 1.0))


def attenuate(slope: np.ndarray, a: float) -> np.ndarray:
    """``log(1 + a |s|) / a`` with the sign of ``s``: slope 1 at 0, logarithmic for large s."""
    return np.sign(slope) * np.log1p(a * np.abs(slope)) / a


# -- Poisson solve (Neumann borders) through the DCT ---------------------------------------
# The 2D DCT-II through one real 2D FFT of the same size (Makhoul 1980, "A fast cosine
# transform in one and multiple dimensions"): reorder the samples (even indices, then the odd
# ones reversed, on both axes), rfft2, and combine each half-spectrum row with its mirror.
def _reorder(x: np.ndarray) -> np.ndarray:
    """v[i, j] = x[p(i), q(j)], p and q: the even indices, then the odd ones reversed."""
    n1, n2 = x.shape
    a, b = (n1 + 1) // 2, (n2 + 1) // 2
    v = np.empty(x.shape, np.float64)
    v[:a, :b] = x[::2, ::2]
    v[:a, b:] = x[::2, 1::2][:, ::-1]
    v[a:, :b] = x[1::2, ::2][::-1]
    v[a:, b:] = x[1::2, 1::2][::-1, ::-1]
    return v


def _unorder(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_reorder`."""
    n1, n2 = v.shape
    a, b = (n1 + 1) // 2, (n2 + 1) // 2
    x = np.empty(v.shape, np.float64)
    x[::2, ::2] = v[:a, :b]
    x[::2, 1::2] = v[:a, b:][:, ::-1]
    x[1::2, ::2] = v[a:, :b][::-1]
    x[1::2, 1::2] = v[a:, b:][::-1, ::-1]
    return x


def _twiddle(n: int, count: int, sign: float = -1.0) -> np.ndarray:
    return np.exp(sign * 0.5j * np.pi * np.arange(count) / n)


def _dct2(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Unnormalised 2D DCT-II: X[k, l] = sum x[m, n] cos(pi k (2m + 1) / 2H)
    cos(pi l (2n + 1) / 2W), float64 (H, W), written into ``out`` when given.

    Few full-size temporaries, each freed before the next is made: fresh memory costs a
    page fault per page, as much as the arithmetic here."""
    n1, n2 = x.shape
    h = n2 // 2 + 1
    # rfft2 (as rfft then fft: fewer temporaries). numpy returns the axis-0 FFT in column
    # order: made row-major here, every operation below runs 5-20x faster on it.
    p = np.ascontiguousarray(np.fft.fft(np.fft.rfft(_reorder(x), axis=1), axis=0))
    p *= _twiddle(n2, h)
    q = p[(-np.arange(n1)) % n1]                # the mirror row -k of each row k
    np.conjugate(q, out=q)
    q += p                                      # p + q
    p *= 2.0
    p -= q                                      # p - q
    w1 = _twiddle(n1, n1)[:, None]
    out = np.empty((n1, n2), np.float64) if out is None else out
    q *= w1
    np.multiply(q.real, 0.5, out=out[:, :h])
    del q
    m = (n2 + 1) // 2 - 1                       # columns W-1 .. W-m from the same numbers
    if m > 0:
        p *= w1
        np.multiply(p.imag[:, 1:m + 1], -0.5, out=out[:, n2 - m:][:, ::-1])
    return out


def _idct2(c: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_dct2`."""
    n1, n2 = c.shape
    padded = np.zeros((n1 + 1, n2 + 1), np.float64)
    padded[:n1, :n2] = c
    return _idct2_padded(padded)


def _idct2_padded(padded: np.ndarray) -> np.ndarray:
    """:func:`_idct2` of ``padded[:-1, :-1]``, whose last row and column are 0 (X[H, .] and
    X[., W] in the inverse's formula)."""
    n1, n2 = padded.shape[0] - 1, padded.shape[1] - 1
    h = n2 // 2 + 1
    spectrum = np.empty((n1, h), np.complex128)
    np.subtract(padded[:n1, :h], padded[n1:0:-1, n2:n2 - h:-1], out=spectrum.real)
    np.add(padded[n1:0:-1, :h], padded[:n1, n2:n2 - h:-1], out=spectrum.imag)
    np.negative(spectrum.imag, out=spectrum.imag)
    spectrum *= _twiddle(n1, n1, 1.0)[:, None]
    spectrum *= _twiddle(n2, h, 1.0)
    return _unorder(_irfft_rows(np.ascontiguousarray(np.fft.ifft(spectrum, axis=0)), n2))


def _irfft_rows(half: np.ndarray, n: int) -> np.ndarray:
    """``np.fft.irfft(half, n, axis=1)``. For an even ``n``, through a complex inverse FFT of
    half the length whose output, read as reals, is the answer (even samples in the real
    parts, odd ones in the imaginary parts): numpy 1.x's irfft first copies its input into
    a zero-padded array twice the size."""
    if n % 2:
        return np.fft.irfft(half, n, axis=1)
    m = n // 2
    a, b = half[:, :m], half[:, m:0:-1]         # X[k] and X[m - k], k < m
    odd = np.conjugate(b)
    z = a + odd                                 # 2 E[k]: the even samples' spectrum
    np.subtract(a, odd, out=odd)                # 2 W^-k O[k]: the odd samples'
    odd *= 1j * np.exp(2j * np.pi * np.arange(m) / n)
    z += odd
    z *= 0.5
    return np.fft.ifft(z, axis=1).view(np.float64)


def divergence(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Backward-difference divergence of forward-difference slopes ``gx`` (H, W-1) and
    ``gy`` (H-1, W), zero flux through the border: the discrete Laplacian of a field whose
    slopes they are."""
    h, w = gy.shape[0] + 1, gx.shape[1] + 1
    div = np.zeros((h, w), np.float64)
    div[:, :-1] += gx
    div[:, 1:] -= gx
    div[:-1, :] += gy
    div[1:, :] -= gy
    return div


def poisson(div: np.ndarray) -> np.ndarray:
    """The field u (mean 0) whose 5-point Laplacian with reflecting borders is ``div``
    (least squares when ``div`` is not a Laplacian: the field closest to the slopes)."""
    h, w = div.shape
    padded = np.zeros((h + 1, w + 1), np.float64)     # the inverse reads a zero row and column
    f = _dct2(div, out=padded[:h, :w])
    ly = 2.0 * np.cos(np.pi * np.arange(h) / h) - 2.0
    lx = 2.0 * np.cos(np.pi * np.arange(w) / w) - 2.0
    first = lx.copy()                                # row 0 (ly = 0) alone: no 0 / 0
    first[0] = 1.0
    f[0] /= first
    for r in range(1, h, _ROWS):                     # blocks of rows: no full-size denominator
        f[r:r + _ROWS] /= ly[r:r + _ROWS, None] + lx
    f[0, 0] = 0.0
    return _idct2_padded(padded)


_ROWS = 64


def integrate(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Heights (H, W) whose forward differences best match ``gx``, ``gy`` (least squares)."""
    return poisson(divergence(gx, gy))


# -- the compression --------------------------------------------------------------------------
def _masked_blur(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised blur: the weighted mean of ``values`` around each point. A wide blur is
    done on a grid shrunk so that sigma is about 2 cells there (a low pass loses nothing
    by it), then brought back to size."""
    h, w = values.shape
    f = max(1, int(sigma // 2))
    vw = np.multiply(values, weights, dtype=np.float32)
    wt = weights if f > 1 else weights.astype(np.float32)   # resize makes its own float copy
    if f > 1:
        hs, ws = max(2, h // f), max(2, w // f)
        vw, wt = images.resize(vw, hs, ws), images.resize(wt, hs, ws)
    num, den = images.blur(vw, sigma / f), images.blur(wt, sigma / f)
    mean = num / np.maximum(den, 1e-6)
    return images.resize(mean, h, w) if f > 1 else mean


def compress(height: np.ndarray, fg: np.ndarray, *, detail: float = DEFAULT_DETAIL,
             silhouette: float = 0.0) -> np.ndarray:
    """Gradient-domain compression of ``height`` (rows, cols), in "long side = 1" units on a
    grid spanning the long side with ``max(rows, cols)`` vertices. ``fg`` (rows, cols) bool:
    the foreground; background vertices come out 0.

    Returns float32 heights normalised to 0..1: the foreground's lowest point at
    ``silhouette`` (a crisp step along the outline, as a fraction of the peak) and its
    highest at 1. ``detail`` 0..1 sets the curve's strength and the fine-detail boost.
    """
    fg = np.asarray(fg, bool)
    out = np.zeros(height.shape, np.float32)
    if fg.sum() < 2:
        return out
    cx, cy, jx, jy, cell = _slopes(height, fg, detail)
    if jx.any() or jy.any():
        # Jumps: a bounded step, scaled against the smooth part's range, all in one solve
        # (the smooth part's range comes from a solve on a small copy of the grid).
        raw = max(float(np.abs(jx).max()), float(np.abs(jy).max()))
        scale = JUMP_CAP * _smooth_range(height, fg, detail, cell) / raw
        cx = cx + jx * scale
        cy = cy + jy * scale
    smooth = integrate(cx, cy)
    inside = smooth[fg]
    lo = float(np.percentile(inside[::7], 0.2))   # every 7th: the same figure, faster
    hi = float(inside.max())
    if hi - lo <= 1e-12:
        out[fg] = 1.0
        return out
    # silhouette + (1 - silhouette) * clip((smooth - lo) / (hi - lo), 0, 1) inside, in place
    z = np.subtract(smooth, lo, out=smooth)
    z *= 1.0 / (hi - lo)
    np.clip(z, 0.0, 1.0, out=z)
    z *= 1.0 - silhouette
    z += silhouette
    np.multiply(z, fg, out=out, casting="same_kind")
    return out


def _slopes(height: np.ndarray, fg: np.ndarray, detail: float):
    """(smooth slopes x (H, W-1), y (H-1, W), attenuated and boosted; jump slopes x, y, raw
    and zero elsewhere; the grid spacing), float32. Slopes are taken only between two
    foreground vertices: the outline has no slope (the silhouette step is added later).

    Every step is a whole-array float32 operation in place; masks multiply rather than
    index (a boolean scatter costs several passes)."""
    cell = 1.0 / (max(height.shape) - 1)
    inv = np.float32(1.0 / cell)
    h = np.multiply(height, fg, dtype=np.float32)
    slopes, smooth, jumps = [], [], []
    for axis in (1, 0):
        g = np.diff(h, axis=axis)
        g *= inv
        inside = _pairs(fg, axis)                 # edges inside the subject only
        g *= inside
        raw = np.abs(g)
        jump = raw > JUMP_SLOPE                   # occlusion jumps inside the subject
        np.multiply(g, jump, out=raw)
        g -= raw                                  # the smooth slopes
        inside &= ~jump
        slopes.append(g)
        smooth.append(inside)
        jumps.append(raw)
    gx, gy = slopes
    a = curve_strength(detail)
    # Attenuate the slope's magnitude, not each component (that would turn a dome into a
    # four-sided pyramid): the other component is averaged onto each edge from its four
    # neighbours.
    cx = _attenuated(gx, _across(gy, 1), a)
    cy = _attenuated(gy, _across(gx, 0), a)
    boost = np.float32(1.5 * float(np.clip(detail, 0.0, 1.0)))
    if boost > 0:
        sigma = _DETAIL_SIGMA / cell
        # Edge-aware low pass: the blur sees only smooth slopes (no halo around a jump).
        for c, inside in zip((cx, cy), smooth):
            detail_part = _masked_blur(c, inside, sigma)
            np.subtract(c, detail_part, out=detail_part)
            detail_part *= boost
            detail_part *= inside
            c += detail_part
    return cx, cy, jumps[0], jumps[1], cell


def _pairs(fg: np.ndarray, axis: int) -> np.ndarray:
    """Edges along ``axis`` whose two ends are both in ``fg``."""
    if axis == 1:
        return fg[:, 1:] & fg[:, :-1]
    return fg[1:, :] & fg[:-1, :]


def _attenuated(g: np.ndarray, other: np.ndarray, a: float) -> np.ndarray:
    """``g * attenuate(m) / m`` with m = sqrt(g² + other²), the slope's magnitude (float32;
    ``other`` is used as scratch). Two full-size arrays in all: fresh memory costs page
    faults (``np.hypot`` guards against overflow, slowly: slopes here are far from it)."""
    m = np.square(g)
    other *= other
    m += other
    np.sqrt(m, out=m)
    np.maximum(m, np.float32(1e-9), out=m)         # attenuate(m) / m is 1 at m = 0
    m *= np.float32(a)
    np.log1p(m, out=other)
    np.divide(other, m, out=m)
    m *= g
    return m


_RANGE_GRID = 160  # long side of the small grid that measures the smooth part's range


def _smooth_range(height: np.ndarray, fg: np.ndarray, detail: float, cell: float) -> float:
    """Range of the integrated smooth slopes, in the full grid's units (height / cell)."""
    rows, cols = height.shape
    f = max(rows, cols) / _RANGE_GRID
    if f > 1.5:
        r, c = max(2, int(round(rows / f))), max(2, int(round(cols / f)))
        height = images.resize(np.where(fg, height, 0.0).astype(np.float32), r, c)
        fg = images.resize(fg.astype(np.float32), r, c) >= 0.5
    cx, cy, _, _, small_cell = _slopes(height, fg, detail)
    return _range(integrate(cx, cy), fg) * small_cell / cell


def _across(g: np.ndarray, axis: int) -> np.ndarray:
    """Edge values ``g`` along the other axis averaged onto the edges along ``axis`` from
    their four neighbours (two at the border): vertical-edge values (H-1, W) onto the
    horizontal edges (H, W-1) for ``axis`` 1, horizontal onto vertical for ``axis`` 0."""

    def span(a, along, start, stop):  # a[start:stop] along ``along``: a view
        return a[(slice(start, stop), slice(None)) if along == 0 else (slice(None),
                                                                      slice(start, stop))]

    other = 1 - axis
    pair = span(g, axis, 0, -1) + span(g, axis, 1, None)     # the two edges of each cell
    m = pair.shape[other]
    shape = list(pair.shape)
    shape[other] = m + 1
    out = np.empty(shape, np.float32)
    inner = span(out, other, 1, m)
    np.add(span(pair, other, 0, m - 1), span(pair, other, 1, m), out=inner)
    inner *= np.float32(0.25)
    np.multiply(span(pair, other, 0, 1), np.float32(0.5), out=span(out, other, 0, 1))
    np.multiply(span(pair, other, m - 1, m), np.float32(0.5), out=span(out, other, m, m + 1))
    return out


def _range(u: np.ndarray, fg: np.ndarray) -> float:
    v = u[fg]
    return float(v.max() - np.percentile(v, 0.2)) if v.size else 0.0
