"""Height, normal and cavity maps from any texture (bricks, wood, stone, skin). bpy-free.

The classical "albedo as height" estimate that texture tools use, done so that it holds up:

- **Height** is the texture's luminance, frequency-separated in the Fourier domain: the
  lowest frequencies (the photo's lighting gradient, a vignette, a stain across the whole
  sheet) are removed, so they do not become slopes; bands finer than ``detail_scale`` keep
  their full depth, coarser bands fade out smoothly. Which of dark or light reads low is
  decided by the texture itself (``auto_polarity``): a surface is mostly plateaus cut by
  narrow grooves (mortar, cracks, gaps between stones, grain lines, pores), so the
  luminance's minority tail, the one that makes the fine band skewed, is the groove. Dark
  mortar or dark gaps read low as usual; the light mortar of a light-jointed brick wall reads
  low too. ``invert`` flips the result when the guess is wrong.
- **Normals** come from that height with Sobel gradients; ``strength`` scales the slopes.
- **Cavity** is the height minus its local average: crevices dark, ridges light, 0.5 flat.

Every filter works on the whole period of the image when ``tileable`` is set (the FFT is
periodic, Sobel wraps with ``np.roll``), so the maps of a seamless texture stay seamless.
Otherwise the image is mirror-padded first, so its borders get no wrap-around artefacts.

Arrays: (H, W) or (H, W, 3|4) input, uint8 or float 0..1, row 0 at the TOP. Outputs are
float32 (H, W) in 0..1, and normals as float32 unit vectors (H, W, 3) in the OpenGL
convention of ``core.normals`` (X right, Y up, Z towards the viewer).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import InputError

# Bands whose scale is above this fraction of the image's shorter side count as lighting, not
# relief: they are removed however large ``detail_scale`` is.
LIGHTING_FRACTION = 0.25

DEFAULT_DETAIL_SCALE = 16.0    # pixels: features up to about this size keep their full depth
DEFAULT_STRENGTH = 1.0
CAVITY_RADIUS = 4.0            # pixels: the local average cavity compares against


# Skewness of the fine band above which the light tail is taken for the grooves. Measured on
# scikit-image's textures: light-jointed brick +1.5; gravel -0.7 and grass -0.3 (dark gaps).
LIGHT_GROOVE_SKEW = 0.5


@dataclasses.dataclass
class TextureMaps:
    height: np.ndarray    # float32 (H, W), 0..1, 0.5 = the texture's mean level
    normals: np.ndarray   # float32 (H, W, 3) unit vectors, OpenGL (Y up)
    cavity: np.ndarray    # float32 (H, W), 0..1, 0.5 = flat, darker = deeper crevice
    light_is_low: bool    # the light tail was read as grooves (say so: the user may invert)


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an (H, W) or (H, W, 3|4) image, as float32 0..1."""
    a = np.asarray(image)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise InputError(f"A texture must be an (H, W) or (H, W, 3|4) image, not {a.shape}")
    if min(a.shape[:2]) < 4:
        raise InputError(f"The texture is {a.shape[1]}x{a.shape[0]} pixels: it needs at least "
                         "4x4 to make maps")
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if a.ndim == 3:
        a = a[..., 0] if a.shape[2] == 1 else a[..., :3] @ np.float32([0.2126, 0.7152, 0.0722])
    return np.nan_to_num(np.clip(a, 0.0, 1.0)).astype(np.float32)


def _frequency_response(shape: tuple[int, int], detail_scale: float) -> np.ndarray:
    """The height filter in the rfft2 domain: 0 at DC and for lighting-sized bands, 1 for
    bands finer than ``detail_scale``; a band of period ``p`` above it keeps ``detail / p``
    of its amplitude, so wide gentle undulations stay gentle rather than becoming hills.
    """
    h, w = shape
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    f2 = fy * fy + fx * fx
    light = LIGHTING_FRACTION * min(h, w)
    detail = min(max(float(detail_scale), 0.5), light)
    without_lighting = 1.0 - np.exp(-2.0 * np.pi ** 2 * (light / 2.0) ** 2 * f2)
    response = without_lighting * np.minimum(1.0, detail * np.sqrt(f2))
    response[0, 0] = 0.0
    return response.astype(np.float32)


def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: the FFT is fast there (2144 = 32 x 67 is not)."""
    best = 2 * n
    p2 = 1
    while p2 < best:
        p3 = p2
        while p3 < best:
            p5 = p3
            while p5 < best:
                if p5 >= n:
                    best = p5
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return best


def _pad(a: np.ndarray, tileable: bool, margin: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Mirror padding by ``margin`` (none when tileable: the FFT wraps), up to a fast FFT
    size; the slices crop the result back."""
    if tileable or margin == 0:
        return a, (slice(None), slice(None))
    h, w = a.shape
    my, mx = min(margin, h - 1), min(margin, w - 1)
    ey, ex = _fft_size(h + 2 * my) - h - 2 * my, _fft_size(w + 2 * mx) - w - 2 * mx
    padded = np.pad(a, ((my, my + ey), (mx, mx + ex)), mode="reflect")
    return padded, (slice(my, my + h), slice(mx, mx + w))


def _filter(a: np.ndarray, response: np.ndarray) -> np.ndarray:
    return np.fft.irfft2(np.fft.rfft2(a) * response, s=a.shape).astype(np.float32)


def _gaussian_response(shape: tuple[int, int], sigma: float) -> np.ndarray:
    hy, hx = shape
    fy = np.fft.fftfreq(hy).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(hx).astype(np.float32)[None, :]
    return np.exp(np.float32(-2.0 * np.pi ** 2 * sigma ** 2) * (fy * fy + fx * fx))


def _sobel(height: np.ndarray, tileable: bool) -> tuple[np.ndarray, np.ndarray]:
    """d(height)/dx (to the right) and d(height)/dy (UP, i.e. towards row 0), per pixel:
    the separable Sobel pair on slices of a one-pixel padded copy (wrapped when tileable)."""
    a = np.pad(np.asarray(height, np.float32), 1, mode="wrap" if tileable else "edge")
    dx = a[:, 2:] - a[:, :-2]                       # (H + 2, W)
    sx = (dx[:-2] + 2.0 * dx[1:-1] + dx[2:]) * np.float32(1.0 / 8.0)
    dy = a[:-2] - a[2:]                             # row above minus row below, (H, W + 2)
    sy = (dy[:, :-2] + 2.0 * dy[:, 1:-1] + dy[:, 2:]) * np.float32(1.0 / 8.0)
    return sx, sy


def light_is_groove(band: np.ndarray) -> bool:
    """True when the light tail of a zero-mean fine band is the minority (positive skew)."""
    std = float(band.std())
    if std < 1e-6:
        return False
    z = band * np.float32(1.0 / std)
    z3 = z * z
    z3 *= z                       # not ** 3: a float power is ten times slower here
    return float(z3.mean(dtype=np.float64)) > LIGHT_GROOVE_SKEW


def _bands(image, detail_scale: float, tileable: bool, cavity: bool):
    """The fine band of the luminance (the height before polarity and scaling) and, with
    ``cavity``, that band minus its local average: one forward FFT serves both."""
    if not np.isfinite(detail_scale) or detail_scale <= 0:
        raise InputError(f"Detail scale must be greater than 0 pixels, not {detail_scale!r}")
    lum = luminance(image)
    light = LIGHTING_FRACTION * min(lum.shape)
    margin = int(np.ceil(max(min(light, 3 * detail_scale), 3 * CAVITY_RADIUS if cavity else 0)))
    padded, crop = _pad(lum - lum.mean(), tileable, margin)
    spectrum = np.fft.rfft2(padded)
    spectrum *= _frequency_response(padded.shape, detail_scale)
    band = np.fft.irfft2(spectrum, s=padded.shape)[crop].astype(np.float32)
    if not cavity:
        return band, None
    spectrum *= 1.0 - _gaussian_response(padded.shape, CAVITY_RADIUS)
    return band, np.fft.irfft2(spectrum, s=padded.shape)[crop].astype(np.float32)


def _height_from_band(band: np.ndarray, invert: bool, auto_polarity: bool):
    light_low = auto_polarity and light_is_groove(band)
    sign = -1.0 if light_low != invert else 1.0
    # Robust scale: the 1st-99th percentile range maps to 0..1 around 0.5.
    lo, hi = np.percentile(band, [1.0, 99.0])
    span = max(float(hi - lo), 1e-6)
    centre = 0.5 * float(hi + lo)
    height = band - np.float32(centre)
    height *= np.float32(sign / span)
    height += np.float32(0.5)
    return np.clip(height, 0.0, 1.0, out=height), light_low, sign


def height_map(image: np.ndarray, *, detail_scale: float = DEFAULT_DETAIL_SCALE,
               invert: bool = False, auto_polarity: bool = True,
               tileable: bool = False) -> tuple[np.ndarray, bool]:
    """Relief height from a texture: float32 (H, W) in 0..1, 0.5 = the mean level, and
    whether light was read as low (the auto polarity, before ``invert``)."""
    band, _ = _bands(image, detail_scale, tileable, cavity=False)
    height, light_low, _sign = _height_from_band(band, invert, auto_polarity)
    return height, light_low


def normals_from_height(height: np.ndarray, strength: float = DEFAULT_STRENGTH, *,
                        tileable: bool = False) -> np.ndarray:
    """Unit normals (H, W, 3), OpenGL convention, from a 0..1 height map.

    ``strength`` 1 makes a full 0..1 height ramp over 4 pixels a 45 degree slope: grooves
    and pebbles read clearly without the whole surface looking crumpled.
    """
    if not np.isfinite(strength) or strength < 0:
        raise InputError(f"Strength must be 0 or more, not {strength!r}")
    gx, gy = _sobel(np.asarray(height, np.float32), tileable)
    k = np.float32(-4.0 * strength)
    gx *= k
    gy *= k
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    n = np.empty(gx.shape + (3,), np.float32)
    n[..., 0] = gx * inv
    n[..., 1] = gy * inv
    n[..., 2] = inv
    return n


def cavity_map(height: np.ndarray, *, radius: float = CAVITY_RADIUS,
               tileable: bool = False) -> np.ndarray:
    """Crevices dark, ridges light, 0.5 flat: height minus its local Gaussian average."""
    h = np.asarray(height, np.float32)
    padded, crop = _pad(h, tileable, int(np.ceil(3 * radius)))
    local = _filter(padded, _gaussian_response(padded.shape, radius))
    return _cavity_from(padded[crop] - local[crop])


def _cavity_from(diff: np.ndarray) -> np.ndarray:
    scale = max(float(np.percentile(np.abs(diff), 99.0)), 1e-6)
    out = diff * np.float32(0.5 / scale)
    out += np.float32(0.5)
    return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)


def texture_maps(image: np.ndarray, *, detail_scale: float = DEFAULT_DETAIL_SCALE,
                 strength: float = DEFAULT_STRENGTH, invert: bool = False,
                 auto_polarity: bool = True, tileable: bool = False,
                 cancel=None) -> TextureMaps:
    """Height, normals and cavity of a texture in one call (see the module docstring)."""
    if cancel is not None:
        cancel.progress(0.1, "height from the texture")
    if not np.isfinite(strength) or strength < 0:
        raise InputError(f"Strength must be 0 or more, not {strength!r}")
    band, fine = _bands(image, detail_scale, tileable, cavity=True)
    height, light_low, sign = _height_from_band(band, invert, auto_polarity)
    if cancel is not None:
        cancel.progress(0.6, "normals and cavity")
    normals = normals_from_height(height, strength, tileable=tileable)
    # The cavity of the height, from the same spectrum: the height is the band scaled by
    # ``sign / span`` (clipped at its 1 % tails), and the cavity map is scale-free.
    cavity = _cavity_from(fine * np.float32(sign))
    return TextureMaps(height, normals, cavity, light_low)
