"""Texture cleanup: which texture, and which mask is its.

A mask names its texture by the data-block itself (an ID pointer in ``mask[MASK_OF]``, which
follows a rename and survives save + reopen), never by the name. Files from before that
stored the texture's name; a name is still understood.
"""

from __future__ import annotations

import bpy

from ..core.errors import SourceError
from . import sources

MASK_OF = "mapsmith_cleanup_of"      # on the mask: its texture (ID pointer)
SUFFIX = " cleanup mask"


def is_mask(image) -> bool:
    return image is not None and MASK_OF in image


def owner(mask) -> bpy.types.Image | None:
    """The texture ``mask`` belongs to, None when it is gone."""
    value = mask.get(MASK_OF)
    if isinstance(value, str):  # written by an older Mapsmith: the texture's name
        return bpy.data.images.get(value)
    return value


def texture_of(mask) -> bpy.types.Image:
    texture = owner(mask)
    if texture is None:
        raise SourceError(f'"{mask.name}" belongs to a texture that is gone: delete the mask, '
                          "or run Paint Cleanup Mask on the texture again")
    return texture


def find_mask(texture) -> bpy.types.Image | None:
    preferred = bpy.data.images.get(texture.name + SUFFIX)
    if preferred is not None and is_mask(preferred) and owner(preferred) == texture:
        return preferred
    for image in bpy.data.images:
        if is_mask(image) and owner(image) == texture:
            return image
    return None


def check_texture(image) -> None:
    if image.source == "TILED":
        check_tiles(image)
    elif image.source not in {"FILE", "GENERATED"}:
        raise SourceError(f'"{image.name}" is a {image.source.lower()} image; cleanup works on '
                          "still images and UDIM tile 1001 (movies and sequences are not "
                          "supported)")
    width, height = image.size
    if width == 0 or height == 0:
        raise SourceError(f'"{image.name}" has no pixels (is the file missing?)')


def check_tiles(image) -> None:
    """A UDIM image is cleaned through tile 1001 only: Blender's Python API reads and writes
    the pixels of tile 1001 alone. ``Image.pixels`` acquires the image buffer without an image
    user, i.e. the first tile, whatever ``tiles.active`` says, and a UDIM tile
    (``bpy.types.UDIMTile``) has no pixels and no functions (measured on 4.2, 5.0 and 5.2:
    tests/blender/test_cleanup_scale.py). Cleaning tile 1002 and up would mean rewriting
    their files on disk behind Blender's back, without undo: refused instead, saying so."""
    numbers = sorted(tile.number for tile in image.tiles)
    if numbers != [1001]:
        others = ", ".join(str(n) for n in numbers if n != 1001) or "none"
        raise SourceError(
            f'"{image.name}" is a UDIM image with tiles {", ".join(map(str, numbers))}: '
            f"Blender's Python API can read and write only tile 1001's pixels, so Mapsmith "
            f"cannot clean tiles {others}. Open a tile's file as an image of its own "
            "(Image > Open, UDIM off), clean and save it, then reload the UDIM image")
    width, height = image.size
    if width == 0 or height == 0:
        raise SourceError(f'Tile 1001 of "{image.name}" has no pixels (is its file missing?)')


def find_texture(context, name: str = "") -> bpy.types.Image:
    """The texture to clean: ``name``, else the Image Editor's image, else the active Image
    Texture node of the active object's material (:func:`sources.find_image`, without the
    last render). A mask stands for its texture."""
    image = sources.find_image(context, name)
    if image is None:
        raise SourceError("No texture: select the object and make the Image Texture node "
                          "holding its texture active, or open the image in the Image Editor")
    if is_mask(image):
        image = texture_of(image)
    check_texture(image)
    return image
