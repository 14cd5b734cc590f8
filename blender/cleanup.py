"""Texture cleanup, the Blender side: the mask image, the paint session, the region maths.

- The mask is a byte, Non-Color image "<texture> cleanup mask" of the texture's size, black
  = keep, white (or grey) = clean up. It names its texture in ``mask[MASK_OF]``.
- The paint session paints that mask: Texture Paint mode with ``image_paint.mode = 'IMAGE'``
  and ``canvas = mask`` (the texture itself is never the canvas), or the Image Editor's paint
  mode showing the mask for flat images. A hard white brush of our own is made active.
- The preview: three nodes in the material (the mask on the texture's own UVs, x 0.65, a Mix
  node over the texture's colour towards red) spliced between the texture node and whatever it
  fed, so Material Preview and renders show the marked texels in red. Removed again, links
  restored, when the session ends (apply or discard).
- The settings the session changes (paint mode, canvas, unified colour/size/strength) are kept
  on the mask (``mask[PREV]``) and put back when it ends.

The region maths (:func:`plan_region`, :func:`blend`) is numpy only.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

import bpy

from ..core import images, masks
from ..core.errors import SourceError
from . import cleanup_undo, pixels, sources

MASK_OF = "mapsmith_cleanup_of"      # on the mask: the texture's name
PREV = "mapsmith_cleanup_prev"       # on the mask: settings to restore when the session ends
NODE_TAG = "mapsmith_cleanup"        # on the preview nodes: the mask's name
SUFFIX = " cleanup mask"
BRUSH_NAME = "Mapsmith Cleanup Mask"
BRUSH_RADIUS = 30                    # pixels on screen
PREVIEW_RED = (1.0, 0.0, 0.0, 1.0)
PREVIEW_OPACITY = 0.65

REGION_BUDGET = 16_000_000           # ClipDrop Cleanup's 16 MP; Erase's limit is the same
MIN_MARGIN = 64                      # context around the marked box, pixels
FEATHER = 2                          # seam radius: the outer 2 px of the grown mask blend


# -- finding things --------------------------------------------------------------------------
def is_mask(image) -> bool:
    return image is not None and MASK_OF in image


def texture_of(mask) -> "bpy.types.Image":
    texture = bpy.data.images.get(mask[MASK_OF])
    if texture is None:
        raise SourceError(f'"{mask.name}" belongs to "{mask[MASK_OF]}", which is gone')
    return texture


def find_mask(texture) -> Optional["bpy.types.Image"]:
    preferred = bpy.data.images.get(texture.name + SUFFIX)
    if preferred is not None and preferred.get(MASK_OF) == texture.name:
        return preferred
    for image in bpy.data.images:
        if image.get(MASK_OF) == texture.name:
            return image
    return None


def check_texture(image) -> None:
    if image.source not in {"FILE", "GENERATED"}:
        raise SourceError(f'"{image.name}" is a {image.source.lower()} image; cleanup works on '
                          "still images (UDIM tiles, movies and sequences are not supported)")
    width, height = image.size
    if width == 0 or height == 0:
        raise SourceError(f'"{image.name}" has no pixels (is the file missing?)')


def find_texture(context, name: str = "") -> "bpy.types.Image":
    """The texture to clean: ``name``, else the Image Editor's image, else the active Image
    Texture node of the active object's material. A mask stands for its texture."""
    if name:
        image = bpy.data.images.get(name)
        if image is None:
            raise SourceError(f'No image named "{name}" in this file')
    else:
        image = None
        space = getattr(context, "space_data", None)
        if space is not None and space.type == "IMAGE_EDITOR":
            image = space.image
        if image is None:
            node = sources.active_texture_node(getattr(context, "active_object", None))
            image = node.image if node is not None else None
    if image is None:
        raise SourceError("No texture: select the object and make the Image Texture node "
                          "holding its texture active, or open the image in the Image Editor")
    if is_mask(image):
        image = texture_of(image)
    check_texture(image)
    return image


# -- the mask image --------------------------------------------------------------------------
def ensure_mask(texture) -> tuple["bpy.types.Image", bool]:
    """The texture's mask (resumed) or a new black one; True when new."""
    width, height = texture.size
    mask = find_mask(texture)
    if mask is not None:
        if tuple(mask.size) != (width, height):
            mask.scale(width, height)
        return mask, False
    name = texture.name + SUFFIX
    mask = bpy.data.images.new(name, width, height, alpha=False, float_buffer=False)
    mask.colorspace_settings.name = pixels.NON_COLOR  # before any pixels (see pixels.new_image)
    mask.generated_color = (0.0, 0.0, 0.0, 1.0)
    mask[MASK_OF] = texture.name
    return mask, True


@dataclasses.dataclass
class Marked:
    """What is painted in a mask: its bounding box and the values there."""

    box: tuple             # (x0, y0, x1, y1), buffer rows (bottom first), ends exclusive
    values: np.ndarray     # uint8 (h, w): the strongest of R, G, B inside the box
    stored: np.ndarray     # the box's RGBA as stored (for undo)
    shape: tuple           # (H, W) of the whole mask


def read_mask(mask) -> Optional[Marked]:
    """None when nothing is painted. Converts only the painted box (a whole 4K mask costs
    about a second to convert, its row and column maxima a few hundredths)."""
    buf = pixels.read_stored(mask)
    height, width = buf.shape[:2]
    limit = np.float32(0.5 / 255.0)  # what rounds to a zero byte
    rows = np.zeros(height, bool)
    for c in range(3):
        rows |= buf[..., c].max(axis=1) > limit
    if not rows.any():
        return None
    y0, y1 = int(np.argmax(rows)), height - int(np.argmax(rows[::-1]))
    cols = buf[y0:y1, :, :3].max(axis=(0, 2)) > limit
    x0, x1 = int(np.argmax(cols)), width - int(np.argmax(cols[::-1]))
    box = buf[y0:y1, x0:x1]
    values = np.rint(box[..., :3].max(axis=2) * 255.0).astype(np.uint8)
    return Marked((x0, y0, x1, y1), values, cleanup_undo.to_stored(mask, box), (height, width))


def clear_mask(mask, marked: Marked) -> None:
    """Black where painted, recorded for undo. A generated mask is simply regenerated (it is
    black by definition); one saved or packed gets the box written."""
    after = marked.stored.copy()
    after[..., :3] = 0
    if (mask.source == "GENERATED" and mask.packed_file is None and not mask.is_float
            and mask.generated_type == "BLANK"
            and tuple(mask.generated_color) == (0.0, 0.0, 0.0, 1.0)):
        mask.reload()
        after[..., 3] = 255
        cleanup_undo.record(mask, marked.box, marked.stored, after)
        return
    x0, y0, x1, y1 = marked.box
    buf = pixels.read_stored(mask)
    buf[y0:y1, x0:x1] = cleanup_undo.from_stored(after)
    pixels.write_stored(mask, buf)
    cleanup_undo.record(mask, marked.box, marked.stored, after)


# -- the preview nodes -----------------------------------------------------------------------
def _socket(sockets, identifier: str, fallback: int):
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    return sockets[fallback]


def _tagged(tree, mask_name: str):
    return [n for n in tree.nodes if n.get(NODE_TAG) == mask_name]


def add_preview(material, tex_node, mask) -> None:
    """Splice mask -> x0.65 -> Mix(texture, red) between the texture node and its users."""
    tree = material.node_tree
    if _tagged(tree, mask.name):
        return
    x, y = tex_node.location
    mask_node = tree.nodes.new("ShaderNodeTexImage")
    mask_node.image = mask
    mask_node.interpolation = tex_node.interpolation
    mask_node.extension = tex_node.extension
    mask_node.label = "Cleanup mask (Mapsmith)"
    mask_node.location = (x, y - 300)
    if tex_node.inputs["Vector"].is_linked:  # the texture's own mapping, whatever it is
        tree.links.new(tex_node.inputs["Vector"].links[0].from_socket, mask_node.inputs["Vector"])
    strength = tree.nodes.new("ShaderNodeMath")
    strength.operation = "MULTIPLY"
    strength.inputs[1].default_value = PREVIEW_OPACITY
    strength.label = "Cleanup preview opacity"
    strength.location = (x + 300, y - 300)
    mix = tree.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.blend_type = "MIX"
    mix.label = "Cleanup preview (Mapsmith)"
    mix.location = (x + 300, y)
    _socket(mix.inputs, "B_Color", 7).default_value = PREVIEW_RED
    out_color = tex_node.outputs["Color"]
    users = [link.to_socket for link in out_color.links]
    tree.links.new(mask_node.outputs["Color"], strength.inputs[0])
    tree.links.new(strength.outputs[0], _socket(mix.inputs, "Factor_Float", 0))
    tree.links.new(out_color, _socket(mix.inputs, "A_Color", 6))
    result = _socket(mix.outputs, "Result_Color", 2)
    for to_socket in users:
        tree.links.new(result, to_socket)
    for node in (mask_node, strength, mix):
        node[NODE_TAG] = mask.name
        node.select = False
    mix["mapsmith_role"] = "mix"
    tree.nodes.active = tex_node


def remove_preview(mask_name: str) -> None:
    """Remove the preview nodes of ``mask_name`` from every material, links put back."""
    for material in bpy.data.materials:
        tree = material.node_tree
        if tree is None:
            continue
        nodes = _tagged(tree, mask_name)
        for mix in [n for n in nodes if n.get("mapsmith_role") == "mix"]:
            a = _socket(mix.inputs, "A_Color", 6)
            source = a.links[0].from_socket if a.is_linked else None
            users = [link.to_socket for link in _socket(mix.outputs, "Result_Color", 2).links]
            if source is not None:
                for to_socket in users:
                    tree.links.new(source, to_socket)
        for node in nodes:
            tree.nodes.remove(node)


# -- the paint session -----------------------------------------------------------------------
def _unified(tool_settings):
    paint = tool_settings.image_paint
    return getattr(paint, "unified_paint_settings", None) or tool_settings.unified_paint_settings


def _ready_brush(context, *, activate: bool = True) -> None:
    tool_settings = context.scene.tool_settings
    paint = tool_settings.image_paint
    brush = bpy.data.brushes.get(BRUSH_NAME)
    if brush is None:
        brush = bpy.data.brushes.new(BRUSH_NAME, mode="TEXTURE_PAINT")
    brush.color = (1.0, 1.0, 1.0)
    brush.strength = 1.0
    brush.blend = "MIX"
    brush.use_pressure_strength = False
    brush.size = BRUSH_RADIUS
    for prop in ("curve_distance_falloff_preset", "curve_preset"):  # 5.0 / 4.2 names
        if hasattr(brush, prop):
            setattr(brush, prop, "CONSTANT")  # hard: full strength up to the edge
            break
    if not paint.bl_rna.properties["brush"].is_readonly:  # 4.2: brushes are plain data
        paint.brush = brush
    elif activate:  # 4.3+: brushes are assets; a local one is activated as an asset
        if brush.asset_data is None:
            brush.asset_mark()
        _activate_asset_brush(context, brush)
    # Colour and strength through the unified settings too (saved and put back when the
    # session ends): they win over the brush's own when on, and the Image Editor path keeps
    # the active brush.
    unified = _unified(tool_settings)
    unified.use_unified_color = True
    unified.color = (1.0, 1.0, 1.0)
    unified.use_unified_strength = True
    unified.strength = 1.0
    if unified.use_unified_size:
        unified.size = BRUSH_RADIUS


def _activate_asset_brush(context, brush) -> None:
    """In a 3D View only: brush.asset_activate from an Image Editor context crashed Blender
    5.0.1 (headless, every variant tried), so the Image Editor keeps the active brush."""
    kwargs = dict(asset_library_type="LOCAL", relative_asset_identifier="Brush/" + brush.name)
    area = getattr(context, "area", None)
    if area is not None and area.type == "VIEW_3D":
        bpy.ops.brush.asset_activate(**kwargs)
        return
    window = context.window or (context.window_manager.windows[0]
                                if context.window_manager.windows else None)
    area = next((a for a in window.screen.areas if a.type == "VIEW_3D"),
                None) if window else None
    if area is None:
        return  # no editor at all (pure script): the user's brush stays
    region = next(r for r in area.regions if r.type == "WINDOW")
    with context.temp_override(window=window, area=area, region=region):
        bpy.ops.brush.asset_activate(**kwargs)


def _save_settings(context, mask) -> None:
    if PREV in mask:
        return  # resuming: keep what was there before the first start
    tool_settings = context.scene.tool_settings
    paint = tool_settings.image_paint
    unified = _unified(tool_settings)
    mask[PREV] = {
        "paint_mode": paint.mode,
        "canvas": paint.canvas.name if paint.canvas is not None else "",
        "color": list(unified.color),
        "use_color": bool(unified.use_unified_color),
        "use_strength": bool(unified.use_unified_strength),
        "strength": float(unified.strength),
        "size": int(unified.size),
    }


def _restore_settings(context, mask) -> None:
    prev = mask.get(PREV)
    tool_settings = context.scene.tool_settings
    paint = tool_settings.image_paint
    if prev is not None:
        prev = prev.to_dict()
        unified = _unified(tool_settings)
        unified.color = prev["color"]
        unified.strength = prev["strength"]
        unified.size = prev["size"]
        unified.use_unified_color = prev["use_color"]
        unified.use_unified_strength = prev["use_strength"]
        if paint.canvas == mask:
            paint.canvas = bpy.data.images.get(prev["canvas"]) if prev["canvas"] else None
            paint.mode = prev["paint_mode"]
        del mask[PREV]
    elif paint.canvas == mask:
        paint.canvas = None


def _image_editors(context):
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                yield area.spaces.active


def start_3d(context, obj, tex_node, mask) -> None:
    if obj.type != "MESH" or not obj.data.uv_layers:
        raise SourceError(f'"{obj.name}" has no UV map: the mask is painted through the UVs')
    _save_settings(context, mask)
    add_preview(obj.active_material, tex_node, mask)
    paint = context.scene.tool_settings.image_paint
    paint.mode = "IMAGE"
    paint.canvas = mask
    if obj.mode != "TEXTURE_PAINT":
        bpy.ops.object.mode_set(mode="TEXTURE_PAINT")
    _ready_brush(context)


def start_image_editor(context, space, mask) -> None:
    _save_settings(context, mask)
    space.image = mask
    space.mode = "PAINT"
    # 4.3+: the active brush stays (see _activate_asset_brush); colour, strength and size
    # are set through the unified settings, and Blender's default "Paint Hard" is hard.
    _ready_brush(context, activate=False)


def end_session(context, mask, texture) -> None:
    """Preview nodes out, settings back, out of paint mode (so the undo push that follows is
    a memfile step, which restores the cleanup counter: see cleanup_undo)."""
    remove_preview(mask.name)
    _restore_settings(context, mask)
    for space in _image_editors(context):
        if space.image == mask:
            space.image = texture
        if space.mode == "PAINT":
            space.mode = "VIEW"
    obj = getattr(context, "active_object", None)
    if obj is not None and obj.mode == "TEXTURE_PAINT":
        bpy.ops.object.mode_set(mode="OBJECT")


# -- region maths (numpy only) ---------------------------------------------------------------
@dataclasses.dataclass
class Plan:
    box: tuple            # (x0, y0, x1, y1) of the region sent, buffer rows, ends exclusive
    grown: np.ndarray     # uint8 (h, w) grown mask inside the box (what the provider gets)
    weight: np.ndarray    # float32 (h, w): 0 outside the grown mask, 1 inside, a seam at its rim


def plan_region(marked: Marked, grow_px: int, budget: int = REGION_BUDGET) -> Optional[Plan]:
    """The box to send: the grown mask's bounding box plus a context margin (its longer side,
    at least MIN_MARGIN) shrunk until the box fits ``budget`` pixels. Only the painted box
    (padded by the growth) is ever grown: masks.grow on a whole 4K mask is not needed."""
    height, width = marked.shape
    mx0, my0, mx1, my1 = marked.box
    pad = grow_px + 1
    x0, y0 = max(0, mx0 - pad), max(0, my0 - pad)
    x1, y1 = min(width, mx1 + pad), min(height, my1 + pad)
    crop = np.zeros((y1 - y0, x1 - x0), np.uint8)
    crop[my0 - y0:my1 - y0, mx0 - x0:mx1 - x0] = marked.values
    grown_crop = masks.grow(crop, grow_px)
    found = masks.bbox(grown_crop)
    if found is None:
        return None
    gx0, gy0, gx1, gy1 = found[0] + x0, found[1] + y0, found[2] + x0, found[3] + y0
    bw, bh = gx1 - gx0, gy1 - gy0
    margin = max(MIN_MARGIN, max(bw, bh))
    while margin > 0 and (min(width, bw + 2 * margin) * min(height, bh + 2 * margin)) > budget:
        margin //= 2
    box = (max(0, gx0 - margin), max(0, gy0 - margin),
           min(width, gx1 + margin), min(height, gy1 + margin))
    bx0, by0, bx1, by1 = box
    grown = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
    grown[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0] = grown_crop[sy0 - y0:sy1 - y0,
                                                                 sx0 - x0:sx1 - x0]
    inside = grown > 0
    weight = masks.feather(inside, FEATHER) * inside
    return Plan(box, grown, weight.astype(np.float32))


def blend(region: np.ndarray, answer: np.ndarray, weight: np.ndarray, *, linear: bool,
          is_float: bool) -> np.ndarray:
    """New stored RGB for the region: the answer where ``weight`` > 0 (soft at the seam),
    the stored values, untouched, everywhere else. ``region`` float32 (h, w, 4) as stored,
    ``answer`` uint8 (h, w, 3) display-referred, same orientation."""
    old = region[..., :3]
    new = answer.astype(np.float32) / np.float32(255.0)
    if linear:
        new = images.srgb_to_linear(new).astype(np.float32)
    w = weight[..., None]
    mixed = old * (1.0 - w) + new * w
    if not is_float:  # byte image: land exactly on a byte value
        mixed = np.rint(np.clip(mixed, 0.0, 1.0) * 255.0) / np.float32(255.0)
    return np.where(w > 0, mixed, old).astype(np.float32)
