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
