"""Undo and redo for pixels changed from Python (texture cleanup), and the cleanup's handlers.

Blender's global (memfile) undo does not store image pixel buffers: after an undo the
buffer keeps whatever Python wrote last (measured on 4.2 and 5.0). ID properties, though, ARE
restored. So each change is recorded here, in memory, and the image carries a step counter:

- :func:`record` keeps the changed box's pixels before and after, keyed by the image's
  ``session_uid`` (stable across undo, measured), and bumps ``image[COUNTER]``.
- After every undo or redo, :func:`sync` compares each recorded image's counter with the
  step its pixels show and writes the "before" boxes (undo) or "after" boxes (redo) until
  they agree. A new change after an undo drops the redo branch, as Blender does.

The counter only comes back on undo if the step is a memfile step: in Texture Paint mode (and
the Image Editor's paint mode) Blender pushes image-paint steps that leave ID properties
alone, so the cleanup operator leaves paint mode before its undo push (see operators/cleanup).

Byte images are kept as uint8 (their exact stored values), float images as float32; at most
:data:`MAX_STEPS` steps per image are kept (Blender's default undo depth is 32). A packed
texture is re-packed by the apply itself; undo brings back the packed file of its step with
the counter (the image's data-block changed), so saving after an undo keeps what undo shows
(measured: tests/blender/test_cleanup_session.py).

The records outlive disabling the extension (the module stays imported, so a re-enable finds
them). If the module itself was loaded anew (the extension updated or reloaded), the records
are gone: the steps the images count are then taken as what their pixels show, and an undo or
redo across them says, once per image, that they can no longer be undone.

Handlers: undo_post/redo_post sync, load_post clears, save_pre packs the cleanup masks painted
since their last pack (cleanup_mask.pack_painted), so a mask is never saved black.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import bpy

from . import pixels

COUNTER = "mapsmith_cleanup_step"
MAX_STEPS = 64


@dataclasses.dataclass
class Record:
    box: tuple          # (x0, y0, x1, y1) in Blender's buffer rows (bottom row = 0), ends exclusive
    size: tuple         # (width, height) of the image when recorded
    before: np.ndarray  # (y1-y0, x1-x0, 4) uint8 for byte images, float32 for float images
    after: np.ndarray
    more: tuple = ()    # further (box, before, after) of the same step (several regions)


_records: dict[int, dict[int, Record]] = {}   # session_uid -> step -> Record
_shown: dict[int, int] = {}                   # session_uid -> step the pixels show now


# -- stored values (pixel transfer itself: pixels.read_stored / write_stored) ---------------
def to_stored(image, region: np.ndarray) -> np.ndarray:
    """A region of a buffer in its exact stored form (bytes stay bytes)."""
    if image.is_float:
        return region.astype(np.float32, copy=True)
    return np.rint(region * 255.0).astype(np.uint8)


def from_stored(values: np.ndarray) -> np.ndarray:
    """Back to the floats foreach_set takes; k/255 turns into the byte k again exactly."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / np.float32(255.0)
    return values


# -- recording -------------------------------------------------------------------------------
def step(image) -> int:
    return int(image.get(COUNTER, 0))


def record(image, box: tuple, before: np.ndarray, after: np.ndarray, more: tuple = ()) -> int:
    """Remember one change of ``image`` (already written) and bump its counter. Returns the
    new step number; the caller's undo push makes that the state of the new undo step.
    ``more``: further (box, before, after) changed in the same step (all "before" taken
    before any was written, all "after" once all were: boxes may overlap)."""
    uid = image.session_uid
    new_step = step(image) + 1
    steps = _records.setdefault(uid, {})
    for k in [k for k in steps if k >= new_step]:  # the redo branch is gone
        del steps[k]
    steps[new_step] = Record(tuple(box), tuple(image.size), before, after,
                             tuple((tuple(b), bf, af) for b, bf, af in more))
    for k in sorted(steps)[:-MAX_STEPS]:
        del steps[k]
    image[COUNTER] = new_step
    _shown[uid] = new_step
    return new_step


def _write_boxes(image, writes: list) -> None:
    buf = pixels.read_stored(image)
    for box, values in writes:
        x0, y0, x1, y1 = box
        buf[y0:y1, x0:x1] = from_stored(values)
    pixels.write_stored(image, buf)


def sync_image(image) -> str | None:
    """Bring one image's pixels to the step its counter names. Returns a warning or None."""
    uid = image.session_uid
    if uid not in _shown:
        return None
    target, shown = step(image), _shown[uid]
    if target == shown:
        return None
    steps = _records.get(uid)
    if not steps:
        _shown[uid] = target
        return (f'Mapsmith: the cleanup of "{image.name}" was made before the extension was '
                "reloaded: it can no longer be undone or redone; the pixels stay as they are")
    writes, missing = [], False
    while shown > target:            # undo: newest first
        rec = steps.get(shown)
        if rec is None or rec.size != tuple(image.size):
            missing = True
        else:
            writes.append((rec.box, rec.before))
            writes.extend((b, bf) for b, bf, _af in rec.more)
        shown -= 1
    while shown < target:            # redo: oldest first
        shown += 1
        rec = steps.get(shown)
        if rec is None or rec.size != tuple(image.size):
            missing = True
        else:
            writes.append((rec.box, rec.after))
            writes.extend((b, af) for b, _bf, af in rec.more)
    if writes:
        _write_boxes(image, writes)
    _shown[uid] = target
    if missing:
        return f'Mapsmith: some cleanup steps of "{image.name}" are no longer in memory'
    return None


def sync() -> None:
    warnings = []
    for image in bpy.data.images:
        try:
            warning = sync_image(image)
        except (ReferenceError, RuntimeError, ValueError) as err:
            warning = f'Mapsmith: could not restore "{image.name}": {err}'
        if warning:
            print(warning)
            warnings.append(warning)
    if warnings:
        _show(warnings)


def _show(lines: list) -> None:
    """In the UI a handler cannot report: a small popup says it where the user looks."""
    wm = getattr(bpy.context, "window_manager", None)
    if bpy.app.background or wm is None or not wm.windows:
        return

    def draw(menu, _context):
        for line in lines:
            menu.layout.label(text=line.removeprefix("Mapsmith: "))

    wm.popup_menu(draw, title="Mapsmith", icon="ERROR")


def adopt() -> None:
    """Take the steps images count now as what their pixels show (records made by an earlier
    load of this module are gone): an undo across them then warns instead of doing nothing."""
    for image in bpy.data.images:
        if COUNTER in image:
            _shown.setdefault(image.session_uid, step(image))


def clear() -> None:
    _records.clear()
    _shown.clear()


# -- handlers --------------------------------------------------------------------------------
@bpy.app.handlers.persistent
def _on_undo_redo(*_args):
    sync()


@bpy.app.handlers.persistent
def _on_load(*_args):
    clear()  # another file: its counters mean nothing to what is in memory


@bpy.app.handlers.persistent
def _on_save(*_args):
    from . import cleanup_mask  # it records its changes here: imported late, no cycle

    cleanup_mask.pack_painted()


_HANDLERS = (("undo_post", _on_undo_redo), ("redo_post", _on_undo_redo), ("load_post", _on_load),
             ("save_pre", _on_save))


def _ours(func, handler) -> bool:
    """The same handler, also from an earlier import of this module (add-on reloaded)."""
    return handler is func or (getattr(handler, "__module__", None) == func.__module__
                               and getattr(handler, "__name__", None) == func.__name__)


def register() -> None:
    for name, func in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        for old in [h for h in handlers if _ours(func, h)]:
            handlers.remove(old)
        handlers.append(func)
    try:
        adopt()
        sync()  # an undo made while the extension was off
    except AttributeError:  # Blender starting up: no file data yet (load_post clears anyway)
        pass


def unregister() -> None:
    """Handlers out; the records stay (see the module's docstring)."""
    for name, func in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        for old in [h for h in handlers if _ours(func, h)]:
            handlers.remove(old)
