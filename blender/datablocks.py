"""Leave nothing half-made: remove every data-block created inside a failed block."""

from __future__ import annotations

import contextlib

import bpy

# Order matters on removal: users before what they use.
_COLLECTIONS = ("objects", "meshes", "curves", "materials", "node_groups", "textures",
                "images", "collections")


def _snapshot() -> dict[str, set[int]]:
    return {name: {idb.as_pointer() for idb in getattr(bpy.data, name)} for name in _COLLECTIONS}


def created_since(before: dict[str, set[int]]):
    for name in _COLLECTIONS:
        coll = getattr(bpy.data, name)
        for idb in list(coll):
            if idb.as_pointer() not in before[name]:
                yield coll, idb


@contextlib.contextmanager
def rollback_on_error():
    """Run a block that builds Blender data; if it raises, delete what it created."""
    before = _snapshot()
    try:
        yield
    except BaseException:
        for coll, idb in list(created_since(before)):
            try:
                coll.remove(idb)
            except (ReferenceError, RuntimeError):
                pass
        raise


def unique_name(collection, base: str) -> str:
    """``base`` if free, else ``base.001``... (what Blender would pick, known in advance)."""
    if base not in collection:
        return base
    i = 1
    while f"{base}.{i:03d}" in collection:
        i += 1
    return f"{base}.{i:03d}"


# ---------------------------------------------------------------------------------------------
# Ownership: what Mapsmith made belongs to the source data-block, not to its name.
# ---------------------------------------------------------------------------------------------
# On every data-block Mapsmith makes: OWNER, a pointer (an ID custom property) to the source
# image, which follows renames, survives save + reopen and undo, and is cleared by Blender if
# the image is deleted; for the last render (no image of its own) RENDER instead. ROLE says
# what the data-block is ("material", "normals", ...). Two images named face.png and face.jpg,
# or an image named Render.png and the render, never share a result.
OWNER = "mapsmith_source"
RENDER = "mapsmith_render"
ROLE = "mapsmith_role"


def own(idb, owner, role: str):
    """Mark ``idb`` as Mapsmith's ``role`` result of ``owner`` (a bpy Image; None: the render)."""
    if owner is None:
        idb[RENDER] = True
        if OWNER in idb:
            del idb[OWNER]
    else:
        idb[OWNER] = owner
    idb[ROLE] = role
    return idb


def owned_by(idb, owner) -> bool:
    """True when ``idb`` is a result of ``owner`` (a bpy Image; None: the render)."""
    if idb.library is not None:
        return False
    if owner is None:
        return bool(idb.get(RENDER))
    ref = idb.get(OWNER)
    return isinstance(ref, bpy.types.ID) and ref == owner


def find_owned(collection, owner, role: str):
    """The data-block Mapsmith made for ``owner`` in ``role`` (None if there is none)."""
    for idb in collection:
        if idb.get(ROLE) == role and owned_by(idb, owner):
            return idb
    return None
