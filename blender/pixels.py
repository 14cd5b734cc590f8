"""Blender image <-> numpy, fast (``foreach_get``/``foreach_set``, never ``list(pixels)``).

Arrays returned here are float32 (H, W, 4) with row 0 at the TOP (the image convention the
providers use); Blender stores rows bottom-up, so every transfer flips once, as a view.
"""

from __future__ import annotations

import numpy as np

import bpy

from ..core import images
from ..core.errors import SourceError

NON_COLOR = "Non-Color"


def read_stored(image: bpy.types.Image) -> np.ndarray:
    """The pixel buffer exactly as Blender stores it: float32 (H, W, 4), BOTTOM row first.

    For code that writes regions back (cleanup, its undo); everything else uses :func:`read`.
    """
    width, height = image.size
    buf = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(buf)
    return buf.reshape(height, width, 4)


def write_stored(image: bpy.types.Image, buf: np.ndarray) -> None:
    """Write a whole bottom-row-first buffer (as :func:`read_stored` gives), then update."""
    image.pixels.foreach_set(np.ascontiguousarray(buf, dtype=np.float32).ravel())
    image.update()


def read(image: bpy.types.Image) -> np.ndarray:
    """The image's pixels as stored (float32 (H, W, 4), top row first).

    Byte images give their 8-bit values / 255 in the image's own colour space; float images
    give scene-linear values. Use :func:`read_display_uint8` for what a service should see.
    """
    width, height = image.size
    if width == 0 or height == 0:
        raise SourceError(f'Image "{image.name}" has no pixels (is the file missing?)')
    return read_stored(image)[::-1]


def is_linear(image: bpy.types.Image) -> bool:
    """True when the values from :func:`read` are scene-linear rather than display-encoded."""
    if image.colorspace_settings.is_data:
        return False
    linear = ("Linear", "Linear Rec.709", "Linear sRGB", "Linear CIE-XYZ D65")
    return bool(image.is_float) or image.colorspace_settings.name in linear


def read_display_uint8(image: bpy.types.Image) -> np.ndarray:
    """uint8 (H, W, 4) sRGB-encoded, what an image service expects to receive."""
    return display_uint8(read(image), is_linear(image))


def display_uint8(px: np.ndarray, linear: bool, rows_per_block: int = 256) -> np.ndarray:
    """Stored float pixels (from :func:`read`) -> uint8, sRGB-encoded where ``linear``.

    Converted in blocks of rows: the float temporaries stay a few MiB instead of several
    copies of a 256 MiB 4096x4096 float buffer (measured in `make bench`)."""
    out = np.empty(px.shape, np.uint8)
    for r0 in range(0, px.shape[0], rows_per_block):
        block = px[r0:r0 + rows_per_block]
        if linear:
            block = np.concatenate([images.linear_to_srgb(block[..., :3]), block[..., 3:]], axis=2)
        out[r0:r0 + rows_per_block] = images.to_uint8(block)
    return out


def write(image: bpy.types.Image, pixels: np.ndarray) -> None:
    """Write float (H, W, 4) top-first pixels of the image's exact size, then update it."""
    width, height = image.size
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.shape != (height, width, 4):
        raise ValueError(f"pixel array {pixels.shape} does not fit image {width}x{height}")
    write_stored(image, pixels[::-1])


def as_rgba_float(px: np.ndarray) -> np.ndarray:
    """uint8 or float, (H, W), (H, W, 3) or (H, W, 4) -> float32 (H, W, 4), opaque if no alpha."""
    if px.dtype == np.uint8:
        px = px.astype(np.float32) / 255.0
    if px.ndim == 2:
        return np.dstack([px, px, px, np.ones_like(px)])
    if px.shape[2] == 3:
        return np.dstack([px, np.ones(px.shape[:2], np.float32)])
    return px


def new_image(name: str, pixels: np.ndarray, *, non_color: bool = False,
              float_buffer: bool = False, alpha: bool = True) -> bpy.types.Image:
    """A new generated image holding ``pixels`` (top-first; any layout :func:`as_rgba_float` takes).

    The colour space is set BEFORE the pixels are written: changing it afterwards wipes or
    converts them (measured on 4.2 and 5.0).
    """
    pixels = as_rgba_float(pixels)
    height, width = pixels.shape[:2]
    image = bpy.data.images.new(name, width, height, alpha=alpha, float_buffer=float_buffer)
    if non_color:
        image.colorspace_settings.name = NON_COLOR
    write(image, pixels)
    return image


def pack(image: bpy.types.Image) -> None:
    """Keep a generated image inside the .blend (as PNG, or OpenEXR for float)."""
    image.file_format = "OPEN_EXR" if image.is_float else "PNG"
    image.pack()
