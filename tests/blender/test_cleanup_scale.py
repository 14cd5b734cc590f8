"""Texture cleanup at production scale, in real Blender from the built zip: marks grouped into
regions (counted and measured on the loopback services), UDIM tiles, and marks across UV
seams filled from the model's surface.
"""

import importlib
import os

import numpy as np
import pytest

import bpy

from blhelpers import PKG
from test_cleanup import (buffer, cleanup_requests, mask_of, paint, stored, textured_plane,
                          use_service)


def _mod(name):
    return importlib.import_module(f"{PKG}.{name}")


def big_texture(size=4096, name="big"):
    yy, xx = np.mgrid[0:size, 0:size]
    rgb = np.dstack([(xx // 16) % 256, (yy // 16) % 256, ((xx ^ yy) >> 4) % 256]).astype(np.uint8)
    tex = bpy.data.images.new(name, size, size, alpha=True)
    tex.pixels.foreach_set((np.dstack([rgb, np.full((size, size), 255, np.uint8)])
                            .astype(np.float32) / 255).ravel())
    tex.update()
    return tex


CORNERS = [(100, 120, 140, 150), (3950, 110, 3990, 140), (120, 3950, 150, 3990),
           (3940, 3960, 3990, 3990)]          # (x0, y0, x1, y1), buffer rows, ends exclusive


def corner_marks(size=4096):
    where = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in CORNERS:
        where[y0:y1, x0:x1] = True
    return where


# -- clusters --------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["CLIPDROP", "ERASE"])
def test_four_corner_marks_send_four_small_full_resolution_regions(online, server, provider,
                                                                  capfd):
    use_service(provider, server)
    tex = big_texture()
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = corner_marks()
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    capfd.readouterr()
    assert bpy.ops.mapsmith.cleanup_apply(provider=provider, grow=4) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    out = capfd.readouterr().out
    reqs = cleanup_requests(server)
    assert len(reqs) == 4 and all(r.status == 200 for r in reqs)
    image_field = "image_file" if provider == "CLIPDROP" else "image"
    mask_field = "mask_file" if provider == "CLIPDROP" else "mask"
    sizes = sorted(r.files[image_field].size for r in reqs)
    for req in reqs:
        assert req.files[image_field].size == req.files[mask_field].size
    for w, h in sizes:
        assert w * h < 0.005 * 4096 * 4096                        # small regions
        assert min(w, h) >= 30 + 2 * 4 + 2 * 64           # the whole context margin
    assert "sent 4 regions" in out
    # each region was sent at full resolution: the service got exactly the texels of its box
    boxes = sorted((x1 - x0, y1 - y0) for x0, y0, x1, y1 in _regions_of(out))
    assert boxes == sizes
    after = stored(bpy.data.images["big"])
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 5) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    for x0, y0, x1, y1 in CORNERS:
        assert np.any(after[y0:y1, x0:x1] != original[y0:y1, x0:x1])
    print(f"\n{provider}: 4 corner marks on 4096x4096 -> regions {sizes}")

    bpy.ops.ed.undo()                                             # ONE undo step: all four
    assert np.array_equal(stored(bpy.data.images["big"]), original)
    assert np.array_equal(buffer(mask_of(bpy.data.images["big"]))[..., 0] > 0, where)
    bpy.ops.ed.redo()
    assert np.array_equal(stored(bpy.data.images["big"]), after)


def _regions_of(message: str) -> list:
    """The region sizes the apply's message lists: "(sent 4 regions: 178x168, ...)"."""
    part = message.split("regions: ", 1)[1].split(")", 1)[0]
    return [(0, 0, int(w), int(h)) for w, h in (s.split("x") for s in part.split(", "))]


def test_cached_answers_are_reused_for_every_region(online, server):
    """Undo, then Apply again on the same marks: every region's answer comes from the cache,
    nothing is sent, and the result is the same."""
    use_service("ERASE", server)
    tex = big_texture(1024, "mid")
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((1024, 1024), bool)
    where[50:70, 60:80] = True
    where[900:930, 880:900] = True
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    first = stored(bpy.data.images["mid"])
    assert len(cleanup_requests(server)) == 2
    bpy.ops.ed.undo()
    assert bpy.ops.mapsmith.cleanup_apply(provider="ERASE", grow=2) == {"FINISHED"}
    assert len(cleanup_requests(server)) == 2                     # nothing new was sent
    assert np.array_equal(stored(bpy.data.images["mid"]), first)


def test_offline_inpaints_each_region_on_its_own(blank):
    cache = _mod("providers.cache")
    tex = big_texture(2048, "offline")
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((2048, 2048), bool)
    where[100:120, 100:130] = True
    where[1900:1920, 1880:1900] = True
    paint(mask_of(tex), where)
    bpy.ops.object.mode_set(mode="OBJECT")
    misses = cache.ANSWERS.misses
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=2) == {"FINISHED"}
    assert cache.ANSWERS.misses - misses == 2                     # two inpaintings, not one
    after = stored(bpy.data.images["offline"])
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 3) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])


# -- UDIM ------------------------------------------------------------------------------------
def _tiled(tmp_path, numbers):
    from PIL import Image

    for n in numbers:
        rng = np.random.default_rng(n)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
            tmp_path / f"skin.{n}.png")
    tex = bpy.data.images.load(str(tmp_path / "skin.1001.png"))
    tex.source = "TILED"
    tex.filepath = str(tmp_path / "skin.<UDIM>.png")
    tex.reload()
    assert sorted(t.number for t in tex.tiles) == list(numbers)
    return tex


def test_python_reaches_only_udim_tile_1001(blank, tmp_path):
    """The evidence for refusing tiles 1002 and up: Image.pixels is tile 1001 whatever tile
    is active, and a UDIMTile has no pixels (if a Blender version adds them, this fails and
    the refusal can go)."""
    tex = _tiled(tmp_path, (1001, 1002))
    first = buffer(tex).copy()
    tex.tiles.active_index = 1
    assert tex.tiles.active.number == 1002
    assert np.array_equal(buffer(tex), first)
    assert not hasattr(tex.tiles[1], "pixels")
    assert not list(bpy.types.UDIMTile.bl_rna.functions)


def test_udim_beyond_tile_1001_is_refused_saying_why(blank, tmp_path):
    tex = _tiled(tmp_path, (1001, 1002))
    before = stored(tex)
    textured_plane(tex)
    with pytest.raises(RuntimeError, match="only tile 1001's pixels.*cannot clean tiles 1002"):
        bpy.ops.mapsmith.cleanup_paint_mask()
    assert not [i for i in bpy.data.images if i.name.endswith("cleanup mask")]
    assert np.array_equal(stored(tex), before)


def test_udim_with_tile_1001_only_is_cleaned_with_exact_undo(blank, tmp_path):
    tex = _tiled(tmp_path, (1001,))
    original = stored(tex)
    textured_plane(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = np.zeros((64, 64), bool)
    where[20:26, 30:36] = True
    paint(mask_of(tex), where)
    bpy.ops.ed.undo_push(message="painted")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=1) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Apply Cleanup")
    tex = bpy.data.images["skin.1001.png"]
    after = stored(tex)
    allowed = _mod("core.masks").grow(where.astype(np.uint8) * 255, 2) > 0
    assert np.array_equal(after[~allowed], original[~allowed])
    assert np.any(after[where] != original[where])
    bpy.ops.ed.undo()
    assert np.array_equal(stored(bpy.data.images["skin.1001.png"]), original)
