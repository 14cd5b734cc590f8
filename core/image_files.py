"""Image bytes <-> numpy, and fitting an upload to a service's limits. bpy-free.

Services reject what breaks their limits (resolution, file size, format); an artist's photo
often does. :func:`fit` shrinks and re-encodes just enough to pass, and the caller brings the
answer back to the source size with :func:`resize`. :func:`decode` turns every damaged,
truncated or mis-sized body into a :class:`ProviderError` instead of a crash later on.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import math

import numpy as np
from PIL import Image

from . import images
from .errors import ProviderError

MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSION = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
JPEG_QUALITY = 95  # re-encoding for size only: keep it visually lossless

# The most bytes one pixel of a legitimate answer can take, per format: an 8-bit RGBA PNG
# that did not compress at all (4 bytes and deflate's framing), a JPEG of pure noise at
# quality 100 without chroma subsampling (measured with Pillow: 1.6 bytes per grey pixel,
# 4.1 per RGB pixel). Base64 in JSON adds a third; ANSWER_SLACK covers headers, metadata
# (an ICC profile) and the JSON around the image.
ANSWER_BYTES_PER_PIXEL = {"PNG": 4.05, "JPEG": 5.0, "WEBP": 4.05}
ANSWER_SLACK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Limits:
    """What a service accepts. ``formats`` is in order of preference (lossless first)."""

    formats: tuple = ("PNG", "JPEG")
    max_pixels: int | None = None
    max_side: int | None = None
    max_bytes: int | None = None


@dataclasses.dataclass(frozen=True)
class Fitted:
    """An encoded upload. ``size`` is what was sent, ``source_size`` what came in; (w, h)."""

    data: bytes
    format: str
    size: tuple
    source_size: tuple

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def filename(self) -> str:
        return f"image.{EXTENSION[self.format]}"

    @property
    def scaled(self) -> bool:
        return self.size != self.source_size

    @property
    def shape(self) -> tuple:
        """(H, W) of what was sent: ``images.resize(a, *fitted.shape)``."""
        return self.size[1], self.size[0]

    @property
    def source_shape(self) -> tuple:
        """(H, W) of what came in: ``images.resize(answer, *fitted.source_shape)``."""
        return self.source_size[1], self.source_size[0]


def as_uint8(array: np.ndarray) -> np.ndarray:
    """Any numeric image array -> uint8 with 1, 3 or 4 channels (floats are taken as 0..1)."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape[:2]:
        raise ProviderError(f"Unsupported image array of shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        return images.to_uint8(a)
    if a.dtype == np.uint16:
        return (a.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def as_rgb(array: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3): grey is repeated, alpha dropped (services read alpha as a mask)."""
    a = as_uint8(array)
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def to_pil(array: np.ndarray) -> Image.Image:
    """uint8 (H, W) / (H, W, 3) / (H, W, 4) -> L / RGB / RGBA; float32 (H, W) -> F."""
    a = np.asarray(array)
    if not (a.dtype == np.float32 and a.ndim == 2):
        a = as_uint8(a)
    return Image.fromarray(np.ascontiguousarray(a))  # Pillow infers the mode from the shape


def encode(array: np.ndarray, fmt: str = "PNG", *, quality: int = JPEG_QUALITY) -> bytes:
    """uint8 image -> PNG (lossless, fast zlib level), JPEG or WEBP bytes; JPEG drops alpha."""
    img = to_pil(array)
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, "PNG", compress_level=3)
    elif fmt in ("JPEG", "WEBP"):
        if fmt == "JPEG" and img.mode == "RGBA":
            img = img.convert("RGB")
        img.save(buf, fmt, quality=quality)
    else:
        raise ValueError(f"cannot encode {fmt}")
    return buf.getvalue()


def answer_bytes(size: tuple, fmt: str, *, in_json: bool = False) -> int:
    """The size cap of an answer holding one ``fmt`` image of ``size`` (w, h): what the
    service can legitimately send back for that upload (``in_json``: base64 in a JSON
    answer), never less than ANSWER_SLACK."""
    n = size[0] * size[1] * ANSWER_BYTES_PER_PIXEL[fmt]
    return int(n * (4 / 3 if in_json else 1)) + ANSWER_SLACK


def decode(data: bytes, *, service: str, mode: str | None = None,
           size: tuple | None = None) -> np.ndarray:
    """Bytes from a service -> numpy, or a :class:`ProviderError` naming the service.

    ``mode`` ("L", "RGB", "RGBA") converts the result; asking for "RGBA" from an image without
    transparency is an error, since a cutout without alpha would silently be the whole photo.
    ``mode="F"`` (depth) gives grey float32 0..1 at the answer's own precision: 16-bit
    answers keep their 65536 levels instead of being cut to 8 bits.
    ``size`` (w, h) is the size the service must answer with; it is checked from the header,
    before any pixel is decoded, so a small file claiming a huge image costs no memory.
    """
    damaged = f"{service}: the service sent back a damaged or incomplete image"
    if not data:
        raise ProviderError(f"{service}: the service sent back an empty image")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if size is not None and probe.size != tuple(size):
                raise ProviderError(f"{service}: the service sent back a {probe.size[0]}x"
                                    f"{probe.size[1]} image for a {size[0]}x{size[1]} input")
            probe.verify()  # structure and checksums; the image is unusable afterwards
        img = Image.open(io.BytesIO(data))
        img.load()  # raises on truncated pixel data (LOAD_TRUNCATED_IMAGES stays False)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ProviderError(damaged) from None
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    if mode == "RGBA" and not has_alpha:
        raise ProviderError(f"{service}: the service sent back an image without transparency")
    if mode == "F":
        return _unit_float(img)
    if img.mode in ("I;16", "I;16B", "I") and mode == "L":
        img = Image.fromarray((np.asarray(img, dtype=np.uint32) >> 8).astype(np.uint8))
    if mode is not None and img.mode != mode:
        img = img.convert(mode)
    return np.asarray(img).copy()


def _unit_float(img: Image.Image) -> np.ndarray:
    """Grey float32 0..1: 16-bit (I;16*, and I as Pillow opens 16-bit PNGs) / 65535, float as
    is, anything else through 8-bit grey / 255 (Pillow has no 16-bit colour modes)."""
    if img.mode.startswith("I"):
        return (np.asarray(img, dtype=np.float64) / 65535.0).clip(0.0, 1.0).astype(np.float32)
    if img.mode == "F":
        return np.clip(np.nan_to_num(np.asarray(img, dtype=np.float32)), 0.0, 1.0)
    return np.asarray(img.convert("L"), dtype=np.float32) / np.float32(255.0)


def scaled_size(size: tuple, limits: Limits) -> tuple:
    """The largest (w, h) with the source's aspect ratio within the pixel and side limits."""
    w, h = size
    scale = 1.0
    if limits.max_pixels and w * h > limits.max_pixels:
        scale = math.sqrt(limits.max_pixels / (w * h))
    if limits.max_side and max(w, h) * scale > limits.max_side:
        scale = limits.max_side / max(w, h)
    if scale >= 1.0:
        return w, h
    nw, nh = max(1, int(w * scale + 1e-6)), max(1, int(h * scale + 1e-6))
    while limits.max_pixels and nw * nh > limits.max_pixels:  # float rounding: a step or two
        nw, nh = nw - (nw >= nh), nh - (nh > nw)
    return nw, nh


def fit(array: np.ndarray, limits: Limits, *, service: str) -> Fitted:
    """Encode ``array`` so the service accepts it: downscale (LANCZOS) to the pixel and side
    limits, then try each allowed format in order; while the bytes are still too many,
    shrink by 0.8 and try again. Raises only when nothing reasonable fits."""
    a = as_uint8(array)
    source = (a.shape[1], a.shape[0])
    size = scaled_size(source, limits)
    for _ in range(12):  # 0.8 ** 12 ~ 7 % of the side: beyond that the result is useless
        img = images.resize(a, size[1], size[0])
        for fmt in limits.formats:
            data = encode(img, fmt)
            if not limits.max_bytes or len(data) <= limits.max_bytes:
                return Fitted(data, fmt, size, source)
        size = (max(1, int(size[0] * 0.8)), max(1, int(size[1] * 0.8)))
    raise ProviderError(f"{service}: the image cannot be made small enough for the service")


def decode_base64(text, *, service: str, mode: str | None = None,
                  size: tuple | None = None) -> np.ndarray:
    """A base64 image from a JSON answer (a ``data:`` URL prefix is tolerated) -> numpy."""
    if not isinstance(text, str) or not text:
        raise ProviderError(f"{service}: the answer holds no image")
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(f"{service}: the service sent back a damaged image "
                            "(invalid base64)") from None
    return decode(data, service=service, mode=mode, size=size)
