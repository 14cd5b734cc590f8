"""Texture cleanup sessions that nothing outlives: stray masks, renamed or deleted images,
brushes and editors put back, packed results, kept masks and undo across a re-enable.

Helpers come from test_cleanup.py (one place for the texture, plane and painting helpers).
"""

import sys
import threading
import time

import numpy as np
import pytest
from blhelpers import PKG, disable, enable
from test_cleanup import (
    allowed_region,
    buffer,
    disc,
    file_texture,
    mask_of,
    paint,
    stored,
    textured_plane,
    use_service,
)

import bpy

BRUSH = "Mapsmith Cleanup Mask"


def tagged_nodes(mat):
    return [n for n in mat.node_tree.nodes if n.get("mapsmith_cleanup")]


def links(mat):
    return {(k.from_node.name, k.from_socket.identifier, k.to_node.name, k.to_socket.identifier)
            for k in mat.node_tree.links}


def masks():
    return [i for i in bpy.data.images if i.get("mapsmith_cleanup_of") is not None
            or i.name.endswith(" cleanup mask")]


def painted_session(tmp_path, where, *, pushed: bool = False):
    """A texture on a plane, a session started and ``where`` painted: (texture name, its
    stored pixels before). ``pushed``: with the undo steps the click and the stroke push in
    the UI."""
    tex = file_texture(tmp_path)
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    if pushed:
        bpy.ops.ed.undo_push(message="Paint Cleanup Mask")
    paint(mask_of(tex), where)
    if pushed:
        bpy.ops.ed.undo_push(message="stroke")
    return tex.name, original


# -- issue 11 item 12: a refusal leaves nothing ------------------------------------------------
def test_no_uv_map_refuses_and_leaves_no_mask(blank, tmp_path):
    tex = file_texture(tmp_path)
    obj, mat, _node = textured_plane(tex)
    while obj.data.uv_layers:
        obj.data.uv_layers.remove(obj.data.uv_layers[0])
    images_before = sorted(i.name for i in bpy.data.images)
    with pytest.raises(RuntimeError, match="has no UV map"):
        bpy.ops.mapsmith.cleanup_paint_mask()
    assert sorted(i.name for i in bpy.data.images) == images_before
    assert masks() == []
    assert obj.mode == "OBJECT" and not tagged_nodes(mat)


# -- issue 11 item 13: renamed texture, renamed or deleted mask ---------------------------------
def test_renamed_texture_keeps_its_mask_and_apply_finds_it(blank, tmp_path):
    tex = file_texture(tmp_path)
    obj, mat, _node = textured_plane(tex)
    original = stored(tex)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    mask = mask_of(tex)
    where = disc((256, 256), 90, 110, 8)
    paint(mask, where)
    tex.name = "brick.png"                                   # renamed during the session
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}   # resumes, no second mask
    assert masks() == [mask]
    assert np.array_equal(buffer(mask)[..., 0] > 0, where)
    assert len(tagged_nodes(mat)) == 3
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=2) == {"FINISHED"}
    after = stored(bpy.data.images["brick.png"])
    allowed = allowed_region(where, 2)
    assert np.any(after[where] != original[where])
    assert np.array_equal(after[~allowed], original[~allowed])
    assert not buffer(mask)[..., :3].any() and not tagged_nodes(mat)


def test_discard_removes_the_preview_of_a_renamed_mask(blank, tmp_path):
    tex = file_texture(tmp_path)
    obj, mat, _node = textured_plane(tex)
    links_before = links(mat)
    bpy.ops.mapsmith.cleanup_paint_mask()
    mask_of(tex).name = "my marks"
    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    assert not tagged_nodes(mat) and links(mat) == links_before
    assert obj.mode == "OBJECT"


def test_deleting_the_mask_does_not_leave_paint_mode_or_preview_behind(blank, tmp_path):
    tex = file_texture(tmp_path)
    obj, mat, _node = textured_plane(tex)
    links_before = links(mat)
    paint_settings = bpy.context.scene.tool_settings.image_paint
    bpy.ops.mapsmith.cleanup_paint_mask()
    bpy.data.images.remove(mask_of(tex))
    assert obj.mode == "TEXTURE_PAINT"
    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    assert obj.mode == "OBJECT"
    assert not tagged_nodes(mat) and links(mat) == links_before
    assert paint_settings.canvas is None
    # and a later run after a deletion starts clean: one preview, one mask
    bpy.ops.mapsmith.cleanup_paint_mask()
    bpy.data.images.remove(mask_of(tex))
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    assert len(tagged_nodes(mat)) == 3 and len(masks()) == 1


# -- issue 19 item 8: the session restores what it changed --------------------------------------
def _brush_state():
    paint = bpy.context.scene.tool_settings.image_paint
    ref = getattr(paint, "brush_asset_reference", None)
    if ref is not None:  # 4.3+: brushes are assets
        return ref.asset_library_type, ref.relative_asset_identifier
    return paint.brush


def test_session_restores_the_users_brush_and_leaves_no_brush_behind(blank, tmp_path):
    settings = bpy.context.scene.tool_settings.image_paint
    if not settings.bl_rna.properties["brush"].is_readonly:   # 4.2: the user's own brush
        settings.brush = bpy.data.brushes.new("My brush", mode="TEXTURE_PAINT")
    tex = file_texture(tmp_path)
    obj, _mat, _node = textured_plane(tex)
    bpy.ops.object.mode_set(mode="TEXTURE_PAINT")          # the user is painting already
    users_brush = _brush_state()
    assert users_brush is not None and users_brush != (None, "")
    bpy.ops.object.mode_set(mode="OBJECT")
    brushes_before = sorted(b.name for b in bpy.data.brushes)
    bpy.ops.mapsmith.cleanup_paint_mask()
    assert settings.brush.name == BRUSH
    paint(mask_of(tex), disc((256, 256), 60, 60, 5))
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE") == {"FINISHED"}
    assert obj.mode == "OBJECT"
    assert BRUSH not in bpy.data.brushes                    # not left in the user's file
    assert sorted(b.name for b in bpy.data.brushes) == brushes_before
    bpy.ops.object.mode_set(mode="TEXTURE_PAINT")
    assert _brush_state() == users_brush
    # Discard restores it too
    bpy.ops.mapsmith.cleanup_paint_mask()
    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    assert BRUSH not in bpy.data.brushes
    bpy.ops.object.mode_set(mode="TEXTURE_PAINT")
    assert _brush_state() == users_brush


def test_only_the_image_editor_the_session_switched_goes_back(online, server, tmp_path):
    use_service("ERASE", server)
    tex = file_texture(tmp_path)
    other = file_texture(tmp_path, name="other.png")
    window = bpy.context.window_manager.windows[0]
    areas = list(window.screen.areas)
    ours, theirs = areas[0], areas[1]
    for area, image in ((ours, tex), (theirs, other)):
        area.type = "IMAGE_EDITOR"
        area.spaces.active.image = image
    theirs.spaces.active.mode = "PAINT"                     # the user paints "other" there
    region = next(r for r in ours.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=ours, region=region):
        assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
        paint(mask_of(tex), disc((256, 256), 60, 60, 6))
        assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE") == {"FINISHED"}
    assert ours.spaces.active.image == tex and ours.spaces.active.mode == "VIEW"
    assert theirs.spaces.active.image == other and theirs.spaces.active.mode == "PAINT"
    assert BRUSH not in bpy.data.brushes                    # 4.3+: none was made here either


def _image_editor_session(tex):
    """An Image Editor showing ``tex``, a session started in it: (override kwargs, space)."""
    window = bpy.context.window_manager.windows[0]
    area = window.screen.areas[0]
    area.type = "IMAGE_EDITOR"
    area.spaces.active.image = tex
    region = next(r for r in area.regions if r.type == "WINDOW")
    override = dict(window=window, area=area, region=region)
    with bpy.context.temp_override(**override):
        assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    return override, area.spaces.active


def test_deleting_the_mask_in_the_image_editor_gives_the_editor_back(blank, tmp_path):
    tex = file_texture(tmp_path)
    override, space = _image_editor_session(tex)
    assert space.mode == "PAINT"
    bpy.data.images.remove(mask_of(tex))
    with bpy.context.temp_override(**override):
        assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    assert space.image == tex and space.mode == "VIEW"
    assert "mapsmith_cleanup_session" not in bpy.context.scene


def test_a_mask_whose_texture_is_gone_says_what_to_do(blank, tmp_path):
    tex = file_texture(tmp_path)
    override, space = _image_editor_session(tex)
    mask = mask_of(tex)
    with bpy.context.temp_override(**override):
        bpy.ops.mapsmith.cleanup_discard()
    bpy.data.images.remove(tex)
    space.image = mask
    with bpy.context.temp_override(**override):
        gone = "belongs to a texture that is gone: delete the mask"
        with pytest.raises(RuntimeError, match=gone):
            bpy.ops.mapsmith.cleanup_paint_mask()


def test_strokes_painted_while_the_job_runs_stay_and_undo_is_exact(online, server, tmp_path):
    """A stroke lands in the mask while the service is answering (the UI stays live): it is
    not wiped by the clear, and one undo gives back the mask as it was when Apply ended."""
    use_service("ERASE", server)
    server.fault("delay", seconds=1.5, route="/api/edit/erase")
    first = disc((256, 256), 60, 60, 6)
    late = disc((256, 256), 200, 200, 6)                    # far outside the region sent
    name, original = painted_session(tmp_path, first, pushed=True)
    mask_name = mask_of(bpy.data.images[name]).name

    def stroke_while_waiting():
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        paint(bpy.data.images[mask_name], late)

    painter = threading.Thread(target=stroke_while_waiting)
    painter.start()
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    painter.join()
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    marks = buffer(bpy.data.images[mask_name])[..., 0] > 0
    assert np.array_equal(marks, late)                      # cleaned marks gone, the late stay
    bpy.ops.ed.undo()
    marks = buffer(bpy.data.images[mask_name])[..., 0] > 0
    assert np.array_equal(marks, first | late)              # as it was when Apply ended
    assert np.array_equal(stored(bpy.data.images[name]), original)


def test_cleaning_another_texture_leaves_the_running_session_alone(blank, tmp_path):
    """Apply on texture B (a kept mask) while a session paints texture A's mask: A's session,
    its preview and its canvas stay (only paint mode is left, for the undo step)."""
    name_b, _original = painted_session(tmp_path, disc((256, 256), 50, 50, 6))
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", keep_mask=True) == {"FINISHED"}
    tex_a = file_texture(tmp_path, name="a.png")
    _obj, mat_a, _node = textured_plane(tex_a)
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}
    mask_a = mask_of(tex_a)
    assert bpy.ops.mapsmith.cleanup_apply(image=name_b, provider="OFFLINE") == {"FINISHED"}
    session = bpy.context.scene.get("mapsmith_cleanup_session")
    assert session is not None and session["mask"] == mask_a
    assert bpy.context.scene.tool_settings.image_paint.canvas == mask_a
    assert len(tagged_nodes(mat_a)) == 3
    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}          # A's own end
    assert "mapsmith_cleanup_session" not in bpy.context.scene and not tagged_nodes(mat_a)


# -- issue 11 item 2 and issue 18 item 4: kept through a plain save ----------------------------
def _save_and_reopen(tmp_path):
    path = str(tmp_path / "scene.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    return path


def test_packed_texture_cleanup_survives_a_plain_save(blank, tmp_path, capfd):
    tex = file_texture(tmp_path)
    tex.pack()
    name = tex.name
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc((256, 256), 128, 100, 9)
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="stroke")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=2) == {"FINISHED"}
    assert "packed into the .blend: saving the file keeps it" in capfd.readouterr().out
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    after = stored(bpy.data.images[name])
    assert np.any(after[where] != original[where])
    _save_and_reopen(tmp_path)
    assert np.array_equal(stored(bpy.data.images[name]), after)     # every texel, exactly
    # an undo before saving is kept by the save too
    bpy.ops.mapsmith.cleanup_paint_mask()
    paint(mask_of(bpy.data.images[name]), where)
    bpy.ops.ed.undo_push(message="stroke")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=2) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images[name]), after)
    _save_and_reopen(tmp_path)
    assert np.array_equal(stored(bpy.data.images[name]), after)


def test_texture_on_disk_says_save_the_image(blank, tmp_path, capfd):
    painted_session(tmp_path, disc((256, 256), 128, 100, 9))
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE") == {"FINISHED"}
    out = capfd.readouterr().out
    assert "save the image to keep it" in out and "packed" not in out


def test_kept_mask_survives_save_and_reopen_with_its_preview(blank, tmp_path):
    where = disc((256, 256), 128, 128, 7)
    name, _original = painted_session(tmp_path, where)
    mask_name = mask_of(bpy.data.images[name]).name
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", keep_mask=True) == {"FINISHED"}
    _save_and_reopen(tmp_path)
    mask = bpy.data.images.get(mask_name)
    assert mask is not None and mask.packed_file is not None
    assert np.array_equal(buffer(mask)[..., 0] > 0, where)
    obj = bpy.data.objects["Plane"]
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.mapsmith.cleanup_paint_mask() == {"FINISHED"}    # found again: resumed
    assert mask_of(bpy.data.images[name]) == mask and len(masks()) == 1
    mat = obj.active_material
    preview = [n for n in tagged_nodes(mat) if n.type == "TEX_IMAGE"]
    assert len(tagged_nodes(mat)) == 3 and preview[0].image == mask
    # discarding it lets the next save drop it
    assert bpy.ops.mapsmith.cleanup_discard() == {"FINISHED"}
    _save_and_reopen(tmp_path)
    assert mask_name not in bpy.data.images


# -- issue 11 item 14: undo after the extension was disabled and enabled again ------------------
def _apply_once(tmp_path):
    name, original = painted_session(tmp_path, disc((256, 256), 100, 100, 8), pushed=True)
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE") == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    cleaned = stored(bpy.data.images[name])
    assert not np.array_equal(cleaned, original)
    return name, original, cleaned


def test_undo_after_disable_and_enable_restores_the_texture(blank, tmp_path):
    name, original, cleaned = _apply_once(tmp_path)
    disable()
    enable()
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images[name]), original)
    bpy.ops.ed.redo()
    assert np.array_equal(stored(bpy.data.images[name]), cleaned)


def test_undo_after_the_extension_was_reloaded_warns(blank, tmp_path, capfd):
    name, original, cleaned = _apply_once(tmp_path)
    disable()
    for module in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[module]                             # as an update loads it anew
    enable()
    capfd.readouterr()
    bpy.ops.ed.undo()
    out = capfd.readouterr().out
    assert f'the cleanup of "{name}" was made before the extension was reloaded' in out
    assert "can no longer be undone" in out
    assert np.array_equal(stored(bpy.data.images[name]), cleaned)   # nothing half-restored


def test_a_painted_mask_survives_save_and_reopen_mid_session(blank, tmp_path):
    where = disc((256, 256), 70, 180, 9)
    name, _original = painted_session(tmp_path, where)
    _save_and_reopen(tmp_path)
    mask = mask_of(bpy.data.images[name])
    assert np.array_equal(buffer(mask)[..., 0] > 0, where)  # the strokes, not a black mask
    bpy.context.view_layer.objects.active = bpy.data.objects["Plane"]
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE") == {"FINISHED"}
    assert not buffer(mask)[..., :3].any()
