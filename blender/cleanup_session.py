"""Texture cleanup: the paint session (brush, tool settings, modes) and its end.

A session paints the mask: Texture Paint mode with ``image_paint.mode = 'IMAGE'`` and
``canvas = mask`` (the texture itself is never the canvas), or one Image Editor's paint mode
showing the mask for flat images. A hard white brush of our own is made active.

Everything the session changes is written down in ``scene[SESSION]`` when it starts (the
mask, the object, the paint mode and canvas, the unified colour/strength/size, the user's
brush, which Image Editor was switched and how it was) and put back when it ends: the
brush Mapsmith made is removed again (from 4.3 on it is marked as an asset to be activated;
it must not stay in the user's file). The record lives on the scene, so undo brings back a
session together with its mask, and it outlives its mask: when the mask is deleted during a
session, the next cleanup operator ends the session all the same (:func:`tidy`).
"""

from __future__ import annotations

import bpy

from ..core.errors import SourceError
from . import cleanup_preview, cleanup_target

SESSION = "mapsmith_cleanup_session"   # on the scene: what to put back when the session ends
BRUSH_NAME = "Mapsmith Cleanup Mask"
BRUSH_RADIUS = 30                      # pixels on screen


# -- tool settings ---------------------------------------------------------------------------
def _unified(tool_settings):
    paint = tool_settings.image_paint
    return getattr(paint, "unified_paint_settings", None) or tool_settings.unified_paint_settings


def _brush_is_asset() -> bool:
    """4.3+: brushes are assets; ``image_paint.brush`` is read-only."""
    return bpy.types.Paint.bl_rna.properties["brush"].is_readonly


def _view3d(context):
    """(window, area, region) of a 3D View: the context's, else the first one found."""
    area = getattr(context, "area", None)
    if area is not None and area.type == "VIEW_3D":
        return context.window, area, context.region
    window = context.window or (context.window_manager.windows[0]
                                if context.window_manager.windows else None)
    area = next((a for a in window.screen.areas if a.type == "VIEW_3D"),
                None) if window else None
    if area is None:
        return None
    return window, area, next(r for r in area.regions if r.type == "WINDOW")


def _activate_asset(context, **ref) -> bool:
    """brush.asset_activate in a 3D View only: from an Image Editor context it crashed
    Blender 5.0.1 (headless, every variant tried). False when there is no 3D View."""
    where = _view3d(context)
    if where is None:
        return False
    window, area, region = where
    with context.temp_override(window=window, area=area, region=region):
        bpy.ops.brush.asset_activate(**ref)
    return True


def _new_brush():
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
    return brush


def _ready_brush(context, *, activate: bool) -> None:
    """Our hard white brush (4.2 always; 4.3+ only with a 3D View, see _activate_asset),
    colour and strength through the unified settings too: they win over the brush's own
    when on, and the Image Editor path of 4.3+ keeps the user's brush."""
    paint = context.scene.tool_settings.image_paint
    if not _brush_is_asset():
        paint.brush = _new_brush()
    elif activate and _view3d(context) is not None:
        brush = _new_brush()
        if brush.asset_data is None:
            brush.asset_mark()
        _activate_asset(context, asset_library_type="LOCAL",
                        relative_asset_identifier="Brush/" + brush.name)
    unified = _unified(context.scene.tool_settings)
    unified.use_unified_color = True
    unified.color = (1.0, 1.0, 1.0)
    unified.use_unified_strength = True
    unified.strength = 1.0
    if unified.use_unified_size:
        unified.size = BRUSH_RADIUS


def _restore_brush(context, record: dict) -> None:
    """The user's brush back, unless they chose another one meanwhile (while still in paint
    mode: 4.3+ activates it for the mode), then ours removed."""
    ours = bpy.data.brushes.get(BRUSH_NAME)
    paint = context.scene.tool_settings.image_paint
    if ours is not None and paint.brush == ours:
        if not _brush_is_asset():
            paint.brush = record.get("brush")
        elif "brush_ref" in record:
            try:
                _activate_asset(context, **record["brush_ref"])
            except RuntimeError as err:  # the asset is gone (library moved): Blender picks one
                print(f"Mapsmith: could not restore the brush: {err}")
    if ours is not None and ours.library is None:
        bpy.data.brushes.remove(ours)


# -- the session record ----------------------------------------------------------------------
def _record(context) -> dict | None:
    value = context.scene.get(SESSION)
    return value.to_dict() if value is not None else None


def _space_key(space) -> str:
    return str(space.as_pointer())  # ID properties hold 32-bit ints only


def _image_editors(context):
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            for space in area.spaces:
                if space.type == "IMAGE_EDITOR":
                    yield space


def _find_space(context, key: str):
    return next((s for s in _image_editors(context) if _space_key(s) == key), None)


def _space_entry(space, mask) -> dict:
    """The Image Editor a session switches to the mask, and how it was."""
    entry = {"space": _space_key(space), "space_mode": space.mode}
    if space.image is not None and space.image != mask:
        entry["space_image"] = space.image
    return entry


def _begin(context, mask, obj=None, space=None) -> None:
    """Write down what the session changes. Resuming the same mask keeps the first record;
    another mask's session is ended first."""
    record = _record(context)
    if record is not None:
        if record.get("mask") == mask:
            if space is not None and "space" not in record:
                context.scene[SESSION].update(_space_entry(space, mask))
            return
        end(context)
    tool_settings = context.scene.tool_settings
    paint = tool_settings.image_paint
    unified = _unified(tool_settings)
    record = {
        "mask": mask,
        "paint_mode": paint.mode,
        "color": list(unified.color),
        "use_color": bool(unified.use_unified_color),
        "use_strength": bool(unified.use_unified_strength),
        "strength": float(unified.strength),
        "size": int(unified.size),
    }
    if paint.canvas is not None:
        record["canvas"] = paint.canvas
    # Setting the canvas shows it in every unpinned Image Editor (Blender's own update):
    # what they showed is put back when the session ends.
    record["editors"] = {_space_key(s): s.image for s in _image_editors(context)
                         if s.image is not None and not s.use_image_pin}
    if obj is not None:
        record["object"] = obj
    if space is not None:
        record.update(_space_entry(space, mask))
    if not _brush_is_asset():
        if paint.brush is not None:
            record["brush"] = paint.brush
    else:
        ref = getattr(paint, "brush_asset_reference", None)
        if ref is not None and ref.relative_asset_identifier:
            record["brush_ref"] = {
                "asset_library_type": ref.asset_library_type,
                "asset_library_identifier": ref.asset_library_identifier,
                "relative_asset_identifier": ref.relative_asset_identifier}
    context.scene[SESSION] = record


def start_3d(context, obj, tex_node, mask) -> None:
    check_object(obj)
    _begin(context, mask, obj=obj)
    cleanup_preview.add_preview(obj.active_material, tex_node, mask)
    paint = context.scene.tool_settings.image_paint
    paint.mode = "IMAGE"
    paint.canvas = mask
    if obj.mode != "TEXTURE_PAINT":
        bpy.ops.object.mode_set(mode="TEXTURE_PAINT")
    _ready_brush(context, activate=True)


def check_object(obj) -> None:
    if obj.type != "MESH" or not obj.data.uv_layers:
        raise SourceError(f'"{obj.name}" has no UV map: the mask is painted through the UVs')


def start_image_editor(context, space, mask) -> None:
    _begin(context, mask, space=space)
    space.image = mask
    space.mode = "PAINT"
    _ready_brush(context, activate=False)


def end(context, mask=None, texture=None) -> None:
    """Preview nodes out, brush and settings back, the Image Editor the session switched
    back, out of paint mode (so the undo push that follows is a memfile step, which restores
    the cleanup counter: see cleanup_undo). Works with the mask gone too."""
    record = _record(context) or {}
    if mask is not None and record.get("mask") not in (None, mask):
        record = {}  # the session paints another texture's mask: it goes on
    mask = mask if mask is not None else record.get("mask")
    cleanup_preview.remove_preview(mask)
    tool_settings = context.scene.tool_settings
    paint = tool_settings.image_paint
    _restore_brush(context, record)
    if record:
        unified = _unified(tool_settings)
        unified.color = record["color"]
        unified.strength = record["strength"]
        unified.size = record["size"]
        unified.use_unified_color = record["use_color"]
        unified.use_unified_strength = record["use_strength"]
        canvas = record.get("canvas")
        if paint.canvas != canvas and (paint.canvas is None or paint.canvas == mask):
            paint.canvas = canvas
            for key, image in record.get("editors", {}).items():
                space = _find_space(context, key)
                if space is not None and (space.image is None or space.image == mask):
                    space.image = image
        if "object" in record:  # a 3D session set Single Image mode
            paint.mode = record["paint_mode"]
        del context.scene[SESSION]
    elif paint.canvas is not None and paint.canvas == mask:
        paint.canvas = None
    space = _find_space(context, record["space"]) if "space" in record else None
    if space is not None:
        if space.image is None or space.image == mask:
            space.image = texture or record.get("space_image") or (
                cleanup_target.owner(mask) if mask is not None else None)
        space.mode = record["space_mode"]
    _leave_paint_modes(context, record.get("object"))


def _leave_paint_modes(context, obj) -> None:
    """Undo pushed in a paint mode is an image-paint step, which does not restore ID
    properties (the cleanup counter): the session's object and the active one leave Texture
    Paint, and an Image Editor the operator runs in leaves Paint (whichever it is)."""
    active = getattr(context, "active_object", None)
    for ob in (obj, active) if obj != active else (active,):
        if ob is None or ob.mode != "TEXTURE_PAINT":
            continue
        if ob == active:
            bpy.ops.object.mode_set(mode="OBJECT")
        else:
            with context.temp_override(active_object=ob, object=ob):
                bpy.ops.object.mode_set(mode="OBJECT")
    area = getattr(context, "area", None)
    if area is not None and area.type == "IMAGE_EDITOR" and area.spaces.active.mode == "PAINT":
        area.spaces.active.mode = "VIEW"


def tidy(context) -> bool:
    """End a session whose mask was deleted, and remove previews whose mask is gone (run by
    every cleanup operator first). True when a session was ended."""
    record = _record(context)
    if record is not None and record.get("mask") is None:
        end(context)
        return True
    cleanup_preview.remove_preview(None)
    return False
