"""Writing maps at full precision: 16-bit PNG and OpenEXR. bpy-free (numpy + zlib).

Pillow writes neither a 16-bit colour PNG nor OpenEXR, and maps written off the main thread
(a batch) cannot use Blender's writers. Both formats are simple enough to write directly:

- PNG: the standard's IHDR / IDAT / IEND chunks, 16 bits per sample, big-endian, filter 0,
  grey, RGB or RGBA.
- OpenEXR: a single-part scanline file, uncompressed, 32-bit float channels named as Blender
  and compositors expect ("Y" for one channel, else "R", "G", "B", "A"), one line per block.

Files are written to a temporary name beside the target and renamed into place, so a failed
or interrupted write never leaves a half file under the real name.

Arrays: (H, W) or (H, W, 1|3|4), row 0 at the TOP.
"""

from __future__ import annotations

import os
import pathlib
import struct
import zlib

import numpy as np

from .errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}          # channels -> grey, RGB, RGBA
EXR_MAGIC = 20000630


def _channels(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"A map must be (H, W) or (H, W, 1|3|4), not {np.shape(array)}")
    return a


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


write_atomic = _write_atomic   # public: other writers in core (STL) share it


def encode_png16(array: np.ndarray) -> bytes:
    """A 16-bit PNG of ``array``: uint16 as is, float 0..1 scaled to 0..65535 (rounded),
    uint8 widened exactly (x * 257)."""
    a = _channels(array)
    if a.dtype == np.uint16:
        values = a
    elif a.dtype == np.uint8:
        values = a.astype(np.uint16) * np.uint16(257)
    else:
        values = np.rint(np.clip(np.nan_to_num(a.astype(np.float64)), 0.0, 1.0) * 65535.0)
        values = values.astype(np.uint16)
    h, w, c = values.shape
    rows = values.astype(">u2").reshape(h, w * c).view(np.uint8).reshape(h, 2 * w * c)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 16, _PNG_COLOUR_TYPE[c], 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def encode_exr(array: np.ndarray) -> bytes:
    """An uncompressed scanline OpenEXR of ``array`` as 32-bit float channels."""
    a = _channels(array).astype(np.float32)
    h, w, c = a.shape
    names = {1: ["Y"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}[c]
    order = sorted(range(c), key=lambda i: names[i])          # EXR lists channels A..Z

    def attribute(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) \
            + value

    chlist = b"".join(names[i].encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1)
                      for i in order) + b"\0"
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    header = (struct.pack("<ii", EXR_MAGIC, 2)
              + attribute("channels", "chlist", chlist)
              + attribute("compression", "compression", b"\0")
              + attribute("dataWindow", "box2i", box)
              + attribute("displayWindow", "box2i", box)
              + attribute("lineOrder", "lineOrder", b"\0")
              + attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0))
              + attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
              + attribute("screenWindowWidth", "float", struct.pack("<f", 1.0))
              + b"\0")
    line_bytes = 4 * w * c
    block = 8 + line_bytes
    first = len(header) + 8 * h
    offsets = np.arange(h, dtype="<u8") * block + first
    lines = a[:, :, order].transpose(0, 2, 1).astype("<f4").reshape(h, line_bytes // 4)
    blocks = np.empty((h, block), np.uint8)
    prefix = np.empty(h, dtype=[("y", "<i4"), ("size", "<i4")])
    prefix["y"] = np.arange(h)
    prefix["size"] = line_bytes
    blocks[:, :8] = prefix.view(np.uint8).reshape(h, 8)
    blocks[:, 8:] = lines.view(np.uint8).reshape(h, line_bytes)
    return header + offsets.tobytes() + blocks.tobytes()


def write_png16(path, array: np.ndarray) -> pathlib.Path:
    path = pathlib.Path(path)
    _write_atomic(path, encode_png16(array))
    return path


def write_exr(path, array: np.ndarray) -> pathlib.Path:
    path = pathlib.Path(path)
    _write_atomic(path, encode_exr(array))
    return path
