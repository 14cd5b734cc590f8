"""Texture cleanup: the mask image's life cycle.

The mask is a byte, Non-Color image "<texture> cleanup mask" of the texture's size, black =
keep, white (or grey) = clean up; ``mask[MASK_OF]`` points at its texture (cleanup_target).
It is made when a session starts, read when Apply starts, and after the apply either cleared
of the marks that were cleaned (recorded for undo) or kept: a kept mask is packed and has a
fake user, so it survives saving and reopening the file.
"""

from __future__ import annotations

import bpy

from ..core import cleanup_region
from ..core.cleanup_region import Marked
from . import cleanup_undo, pixels
from .cleanup_target import MASK_OF, SUFFIX, find_mask


def ensure_mask(texture) -> tuple[bpy.types.Image, bool]:
    """The texture's mask (resumed) or a new black one; True when new."""
    width, height = texture.size
    mask = find_mask(texture)
    if mask is not None:
        if tuple(mask.size) != (width, height):
            mask.scale(width, height)
        return mask, False
    mask = bpy.data.images.new(texture.name + SUFFIX, width, height, alpha=False,
                               float_buffer=False)
    mask.colorspace_settings.name = pixels.NON_COLOR  # before any pixels (see pixels.new_image)
    mask.generated_color = (0.0, 0.0, 0.0, 1.0)
    mask[MASK_OF] = texture
    return mask, True


def read_mask(mask) -> Marked | None:
    """What is painted in the mask now; None when nothing is."""
    return cleanup_region.find_marks(pixels.read_stored(mask))


def _plain_black(mask) -> bool:
    """A generated black mask never saved or packed: reload() makes it black again."""
    return (mask.source == "GENERATED" and mask.packed_file is None and not mask.is_float
            and mask.generated_type == "BLANK"
            and tuple(mask.generated_color) == (0.0, 0.0, 0.0, 1.0))


def clear_mask(mask, cleaned: Marked) -> None:
    """Take the marks ``cleaned`` out of the mask, recorded for undo. Strokes painted (or
    undone) since ``cleaned`` was read are kept as they are now, and the undo record holds the
    mask as it is now, so one undo gives back exactly what was there."""
    buf = pixels.read_stored(mask)
    if buf.shape[:2] != tuple(cleaned.shape):
        return  # resized meanwhile: the marks no longer mean those texels
    # The record spans every mark there is now, not only the cleaned ones: an undo that
    # brings back a regenerated (black) mask gets the strokes painted since back too.
    now = cleanup_region.marked_box(buf) or cleaned.box
    box = (min(now[0], cleaned.box[0]), min(now[1], cleaned.box[1]),
           max(now[2], cleaned.box[2]), max(now[3], cleaned.box[3]))
    x0, y0, x1, y1 = box
    before = cleanup_undo.to_stored(mask, buf[y0:y1, x0:x1])
    cx0, cy0, cx1, cy1 = cleaned.box
    after = before.copy()
    after[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = cleanup_region.unmark(
        before[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], cleaned)
    if _plain_black(mask) and not after[..., :3].any():  # no mark outside ``box`` either
        mask.reload()  # nothing else painted: back to the generated black, not dirty
        after[..., 3] = 255
    else:
        buf[y0:y1, x0:x1] = cleanup_undo.from_stored(after)
        pixels.write_stored(mask, buf)
    cleanup_undo.record(mask, box, before, after)


def keep(mask) -> None:
    """Keep the mask in the file: packed (its marks come back after reopening) and with a
    fake user (its preview nodes are gone, so nothing else uses it)."""
    mask.use_fake_user = True
    pixels.pack(mask)


def release(mask) -> None:
    """A cleared mask need not be saved: no fake user, so a save drops it once unused."""
    mask.use_fake_user = False


def pack_painted() -> None:
    """Pack every mask that will be saved and whose pixels changed since it was last packed
    (run before the .blend is written: a generated image's pixels are not saved otherwise, so
    a mask painted but not applied yet would come back black)."""
    for image in bpy.data.images:
        if MASK_OF in image and image.users and image.is_dirty and image.has_data:
            pixels.pack(image)
