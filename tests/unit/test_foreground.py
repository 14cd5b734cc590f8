"""core/foreground.py: the relief's subject, never the depth's noise."""

import io

import numpy as np
import pytest
from PIL import Image

from mapsmith.core import components, foreground, mesh_check, relief_mesh


def flood_count(mask):
    """Reference: 4-connected components by breadth-first search (small masks only)."""
    seen = np.zeros_like(mask, bool)
    count = 0
    h, w = mask.shape
    for r0, c0 in zip(*np.nonzero(mask)):
        if seen[r0, c0]:
            continue
        count += 1
        stack = [(r0, c0)]
        seen[r0, c0] = True
        while stack:
            r, c = stack.pop()
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
    return count


@pytest.mark.parametrize("p", [0.2, 0.45, 0.6])
def test_label_matches_a_flood_fill(p):
    rng = np.random.default_rng(int(p * 10))
    mask = rng.random((60, 45)) < p
    labels, count = components.label(mask, connectivity=4)   # the relief's labelling
    assert count == flood_count(mask)
    assert np.array_equal(labels > 0, mask)
    # 4-neighbours inside the mask share a label
    both = mask[:, 1:] & mask[:, :-1]
    assert np.all(labels[:, 1:][both] == labels[:, :-1][both])


def dome(n=256):
    y, x = np.mgrid[0:n, 0:n] + 0.5
    r2 = ((x - n / 2) ** 2 + (y - n / 2) ** 2) / (0.38 * n) ** 2
    return np.clip(1 - r2, 0, 1).astype(np.float32)


def jpeg(depth, quality=60, noise=0.0, seed=0):
    """A depth answer as a service sends it: 8-bit JPEG (noise and ringing around edges)."""
    d = depth + noise * np.random.default_rng(seed).standard_normal(depth.shape)
    buf = io.BytesIO()
    Image.fromarray((np.clip(d, 0, 1) * 255).round().astype(np.uint8)).save(
        buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), np.float32) / 255


def test_a_jpeg_dome_is_one_body():
    """The issue's case: JPEG noise left hundreds of background pixels above 0 and the dome
    came out as 17 bodies. With the foreground it is exactly one, watertight."""
    d = jpeg(dome(), quality=75)
    assert np.count_nonzero((d > 0) & (dome() == 0)) > 300      # the JPEG noise is really there
    naive = relief_mesh.depth_to_relief(d, resolution=256, solid=True, background_level=0.0,
                                        min_island=0.0)
    m = relief_mesh.depth_to_relief(d, resolution=256, solid=True)
    import trimesh
    for mesh, bodies in ((naive, lambda n: n > 1), (m, lambda n: n == 1)):
        tm = trimesh.Trimesh(mesh.co, mesh_check.triangles(mesh), process=True)
        assert bodies(tm.body_count), tm.body_count
    c = mesh_check.check_manifold(m)
    assert c["watertight"] and c["euler"] == 2


def test_hysteresis_keeps_faint_parts_touching_the_subject():
    d = np.zeros((100, 100), np.float32)
    d[20:80, 20:60] = 0.8            # the subject
    d[40:60, 60:90] = 0.06           # a faint arm attached to it: kept
    d[5:9, 85:95] = 0.07             # a faint blob on its own: noise
    fg = foreground.foreground(d)
    assert fg[50, 80] and not fg[7, 90] and fg[50, 40]


def test_min_island_and_holes():
    d = np.zeros((200, 200), np.float32)
    d[20:180, 20:120] = 0.7           # body (16 000 px)
    d[30:50, 150:170] = 0.7           # a hand: 400 px = 2.5 % of the body
    d[100:104, 60:64] = 0.0           # a 16 px hole: filled
    d[40:80, 40:80] = 0.0             # a real hole (1600 px, 4 % of the image): kept
    fg = foreground.foreground(d, min_island=0.01)
    assert fg[40, 160] and fg[102, 62] and not fg[60, 60]
    assert not foreground.foreground(d, min_island=0.05)[40, 160]
    every = foreground.foreground(d, min_island=0.0)
    assert every[40, 160]


def test_alpha_mask_gives_the_outline():
    d = dome(64)
    alpha = np.zeros_like(d)
    alpha[:, :32] = 1.0
    fg = foreground.foreground(d, alpha=alpha)
    assert fg[32, 20] and not fg[32, 40]
    with pytest.raises(ValueError, match="must match"):
        foreground.foreground(d, alpha=alpha[:10])


def test_all_background_and_flat():
    assert not foreground.foreground(np.zeros((30, 30), np.float32)).any()
    assert foreground.foreground(np.full((30, 30), 0.5, np.float32)).all()
