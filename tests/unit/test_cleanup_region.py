"""core.cleanup_region: what is marked, the region sent, the blend back (bpy-free)."""

import numpy as np

from mapsmith.core import cleanup_region
from mapsmith.core.cleanup_region import Marked


def disc(shape, cx, cy, r) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r


def test_region_plan_grows_feathers_inside_and_fits_the_budget():
    shape = (4096, 4096)
    where = disc((200, 200), 100, 100, 20)
    values = (where * 255).astype(np.uint8)
    marked = Marked((2000, 1000, 2200, 1200), values, shape)
    plan = cleanup_region.plan_region(marked, 4)
    x0, y0, x1, y1 = plan.box
    assert (x1 - x0) * (y1 - y0) < 400 * 400                     # the region, with context
    grown = plan.grown > 0
    # grown by 4 (disc approximated: within a texel)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    r = np.hypot(xx - 2100, yy - 1100)
    assert grown[r <= 23.5].all() and not grown[r >= 25.5].any()
    w = plan.weight
    assert (w[~grown] == 0).all()                                # nothing outside the mask
    assert (w[r <= 20] == 1).all()                               # full strength inside
    rim = (w > 0) & (w < 1)
    assert rim.any() and (r[rim] > 20).all()                     # the seam: the outer 2-4 texels
    # A huge mark on an 8K texture: the box is shrunk to the 16 MP budget where it can be
    big = Marked((0, 0, 3000, 3000), np.full((3000, 3000), 255, np.uint8), (8192, 8192))
    x0, y0, x1, y1 = cleanup_region.plan_region(big, 4).box
    assert (x1 - x0) * (y1 - y0) <= 16_000_000


def test_find_marks_boxes_what_is_painted_and_ignores_what_rounds_to_black():
    buf = np.zeros((64, 80, 4), np.float32)
    buf[..., 3] = 1.0
    assert cleanup_region.find_marks(buf) is None
    buf[10:20, 30:35, 1] = 0.4 / 255            # rounds to a zero byte: not a mark
    assert cleanup_region.find_marks(buf) is None
    buf[12:15, 40:44, 0] = 1.0
    buf[30, 5, 2] = 128 / 255                   # grey in another channel
    marked = cleanup_region.find_marks(buf)
    assert marked.box == (5, 12, 44, 31) and marked.shape == (64, 80)
    assert marked.values.dtype == np.uint8 and marked.values.shape == (19, 39)
    assert marked.values[30 - 12, 0] == 128 and marked.values[0, 40 - 5] == 255
    assert int((marked.values > 0).sum()) == 3 * 4 + 1


def test_unmark_clears_only_the_cleaned_marks_and_keeps_later_strokes():
    cleaned = Marked((0, 0, 6, 4), np.array([[255, 0, 0, 0, 0, 0]] * 4, np.uint8), (4, 6))
    now = np.zeros((4, 6, 4), np.uint8)
    now[..., 3] = 255
    now[:, 0, :3] = 255                         # the cleaned mark
    now[2, 4, :3] = 200                         # a stroke painted while the job ran
    out = cleanup_region.unmark(now, cleaned)
    assert not out[:, 0, :3].any()
    assert out[2, 4, :3].tolist() == [200, 200, 200]
    assert (out[..., 3] == 255).all() and now[:, 0, :3].all()   # input untouched


def test_blend_writes_only_under_the_weight_and_lands_on_bytes():
    rng = np.random.default_rng(3)
    region = rng.integers(0, 256, (8, 8, 4)).astype(np.float32) / 255
    answer = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    weight = np.zeros((8, 8), np.float32)
    weight[2:6, 2:6] = 1.0
    weight[2, 2:6] = 0.5
    out = cleanup_region.blend(region, answer, weight, linear=False, is_float=False)
    assert np.array_equal(out[weight == 0], region[..., :3][weight == 0])
    assert np.array_equal(out[3:6, 2:6], answer[3:6, 2:6].astype(np.float32) / 255)
    assert np.allclose(out * 255, np.rint(out * 255), atol=1e-4)   # whole byte values
    hdr = region * 4                                                # float: kept beyond 1
    out = cleanup_region.blend(hdr, answer, weight, linear=True, is_float=True)
    assert np.array_equal(out[weight == 0], hdr[..., :3][weight == 0])
