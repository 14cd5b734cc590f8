"""Texture cleanup across UV seams: which marked texels take their colour from the surface.

A mark that touches a UV island's border is, on the model, next to texels that lie elsewhere
in the image (across the seam). The provider only sees the image, so at the border it fills
from the gutter or a neighbouring island. Here the marked texels within :data:`BAND` texels
of their island's border are filled again with :func:`uv_seams.fill` (the membrane whose
neighbours cross seams through the mesh's 3D adjacency), from the texels around the mark on
both sides of the seam and the provider's fill inside the mark; deeper texels keep the
provider's fill (texture detail), marked texels in the gutter keep it too.

Overlapping UV islands (mirrored halves share texels) have no single surface point per texel:
those regions keep the image-space fill and say so. bpy-free, numpy only. Buffers are
Blender's stored layout (row 0 at the BOTTOM), as in cleanup_region; uv_seams works top first.
"""

from __future__ import annotations

import numpy as np

from . import images, masks, uv_seams
from .errors import NEVER_CANCELLED

BAND = 16          # texels from the island border that the surface fill takes over


def _reversed(mesh: uv_seams.SurfaceMesh) -> uv_seams.SurfaceMesh:
    return uv_seams.SurfaceMesh(mesh.positions, mesh.corners[::-1], mesh.uvs[::-1])


def _point(mesh, tri, bary) -> np.ndarray:
    return (bary[:, :, None] * mesh.positions[mesh.corners[tri]]).sum(axis=1)


def overlapping(mesh: uv_seams.SurfaceMesh, rows, cols, height: int, width: int) -> bool:
    """Whether some of these texels (top-first rows) lie on two surface points: located with
    the first and with the last triangle winning, they land at different 3D places."""
    uv = uv_seams.texel_to_uv(rows, cols, height, width)
    tri_a, bary_a = uv_seams.locate(mesh, uv)
    tri_b, bary_b = uv_seams.locate(_reversed(mesh), uv)
    on = (tri_a >= 0) & (tri_b >= 0)
    if not on.any():
        return False
    tri_b = len(mesh.corners) - 1 - tri_b
    gap = np.linalg.norm(_point(mesh, tri_a[on], bary_a[on]) - _point(mesh, tri_b[on],
                                                                       bary_b[on]), axis=1)
    size = np.linalg.norm(np.ptp(mesh.positions, axis=0))
    return bool(np.any(gap > 1e-4 * max(size, 1e-12)))


def border_band(mesh: uv_seams.SurfaceMesh, plan, shape: tuple) -> np.ndarray:
    """bool (h, w) over ``plan.box`` (stored rows): the marked texels on the surface within
    BAND texels of a texel off it (the island's border). Only texels within BAND of a mark
    are located on the surface, so a big region costs what its marks cost."""
    height, width = shape
    x0, y0, x1, y1 = plan.box
    marked = plan.grown > 0
    nearby = masks.grow(plan.grown, BAND + 1) > 0
    rows, cols = np.nonzero(nearby)
    tri, _bary = uv_seams.locate(mesh, uv_seams.texel_to_uv(height - 1 - (rows + y0),
                                                            cols + x0, height, width))
    off = np.zeros_like(marked)
    off[rows[tri < 0], cols[tri < 0]] = True
    if not off.any() or not (marked & ~off).any():
        return np.zeros_like(marked)
    near = masks.grow(off.astype(np.uint8) * 255, BAND) > 0
    return marked & near & ~off & nearby


def fill_across_seams(buf: np.ndarray, plans: list, new_rgbs: list, mesh: uv_seams.SurfaceMesh,
                      *, is_float: bool, cancel=NEVER_CANCELLED,
                      before_fill=lambda: None) -> tuple[list, int, str]:
    """Refill the border texels of the marks from the surface. ``buf``: the whole texture,
    stored float32 (H, W, 4); ``new_rgbs``: each plan's blended RGB (as cleanup_region.blend
    gives). Returns the updated RGBs, how many texels the surface fill took, and a note
    ("" or why some regions kept the image-space fill). ``before_fill`` is called once
    there is something to fill, before the (slow) membrane: the caller may stop there."""
    height, width = buf.shape[:2]
    bands = []
    seam = np.zeros((height, width), bool)                     # stored rows
    skipped = 0
    for plan in plans:
        cancel.check()
        band = border_band(mesh, plan, (height, width))
        x0, y0, x1, y1 = plan.box
        if band.any():
            rr, cc = np.nonzero(band[::-1])
            if overlapping(mesh, rr + height - y1, cc + x0, height, width):
                skipped += 1
                band = np.zeros_like(band)
        bands.append(band)
        seam[y0:y1, x0:x1] |= band
    if not seam.any():
        note = ("UV islands overlap under the mark: filled in image space"
                if skipped else "")
        return new_rgbs, 0, note
    before_fill()
    image = buf[..., :3].copy()
    for plan, new in zip(plans, new_rgbs):                     # the provider's fill first
        x0, y0, x1, y1 = plan.box
        changed = plan.weight > 0
        image[y0:y1, x0:x1][changed] = new[changed]
    filled, targets = uv_seams.fill(image[::-1], seam[::-1], mesh, cancel=cancel)
    filled = filled[::-1]
    if not is_float:  # byte image: land exactly on a byte value
        filled = images.to_uint8(filled).astype(np.float32) / np.float32(255.0)
    out = []
    for plan, new, band in zip(plans, new_rgbs, bands):
        x0, y0, x1, y1 = plan.box
        new = new.copy()
        new[band] = filled[y0:y1, x0:x1][band]
        out.append(new)
    note = ("UV islands overlap under some marks: those filled in image space"
            if skipped else "")
    return out, int(seam.sum()), note
