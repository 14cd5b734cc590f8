"""core/cleanup_wrap.py: tileable cleanup regions wrap around the texture's edges."""

import numpy as np
from skimage import data

from mapsmith.core import cleanup_region, cleanup_wrap
from mapsmith.tests.unit.test_cleanup_clusters import marks_buffer


def test_circular_span():
    occ = np.zeros(100, bool)
    occ[[2, 3, 97, 98]] = True
    assert cleanup_wrap.circular_span(occ) == (97, 7)        # 97..103 = 97, 98, 99, 0..3
    occ[:] = False
    occ[40:45] = True
    assert cleanup_wrap.circular_span(occ) == (40, 5)


def test_mark_cut_by_the_edge_is_centred():
    # One defect painted across the left/right edge (and the bottom/top one).
    buf = marks_buffer((200, 300), [(0, 0, 4, 6), (294, 0, 300, 6), (0, 195, 4, 200),
                                 (294, 195, 300, 200)])
    marked, shift = cleanup_wrap.find_marks_wrapped(buf)
    x0, y0, x1, y1 = marked.box
    assert (x1 - x0, y1 - y0) == (10, 11)                    # not the whole width
    assert 100 < x0 < 200 and 50 < y0 < 150                  # in the middle
    assert (marked.values > 0).all()
    plan = cleanup_region.plan_region(marked, 2)
    bx0, by0, bx1, by1 = plan.box
    assert 0 < bx0 and bx1 < 300 and 0 < by0 and by1 < 200  # context on every side
    # The covering box in texture coordinates spans the edges it crosses.
    assert cleanup_wrap.covering_box(plan.box, shift, (200, 300)) == (0, 0, 300, 200)


def test_gather_and_scatter_wrap_and_touch_nothing_else():
    tex = np.dstack([data.brick()[:200, :300].astype(np.float32) / 255] * 3 + [np.ones((200, 300),
                                                                                 np.float32)])
    buf = marks_buffer((200, 300), [(296, 50, 300, 60), (0, 50, 3, 60)])
    marked, shift = cleanup_wrap.find_marks_wrapped(buf)
    plan = cleanup_region.plan_region(marked, 1)
    region = cleanup_wrap.gather(tex, plan.box, shift)
    rolled = np.roll(tex, shift, axis=(0, 1))
    x0, y0, x1, y1 = plan.box
    assert np.array_equal(region, rolled[y0:y1, x0:x1])
    out = tex.copy()
    where = plan.weight > 0
    cleanup_wrap.scatter(out, plan.box, shift, np.zeros_like(region), where)
    changed = np.any(out != tex, axis=2)
    assert changed[50:60, 296:].all() and changed[50:60, :3].all()   # both sides of the edge
    assert changed.sum() == where.sum()
    assert not changed[:, 20:280].any()                              # the rest texel-exact


def test_no_shift_is_plain_slicing():
    tex = np.arange(60, dtype=np.float32).reshape(6, 10)
    assert np.array_equal(cleanup_wrap.gather(tex, (2, 1, 5, 4)), tex[1:4, 2:5])
    assert cleanup_wrap.covering_box((2, 1, 5, 4), (0, 0), (6, 10)) == (2, 1, 5, 4)
    assert cleanup_wrap.find_marks_wrapped(np.zeros((6, 10, 4), np.float32)) is None
