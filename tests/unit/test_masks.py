"""core.masks: binarise, grow, feather, bbox (fast numpy, exact where it matters)."""

import math

import numpy as np
import pytest

from mapsmith.core import masks


def dot(h=41, w=41, y=20, x=20):
    m = np.zeros((h, w), np.uint8)
    m[y, x] = 255
    return m


def test_binarise_is_strict_0_255():
    m = np.array([[0, 1, 128, 255]], np.uint8)
    assert masks.binarise(m).tolist() == [[0, 255, 255, 255]]
    assert masks.binarise(m, threshold=128).tolist() == [[0, 0, 0, 255]]
    assert masks.binarise(np.array([[0.0, 0.2, 1.0]])).tolist() == [[0, 255, 255]]
    assert masks.binarise(np.array([[False, True]])).tolist() == [[0, 255]]
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 1, 2] = 9
    assert masks.binarise(rgb).tolist() == [[0, 255]]


def test_binarise_at_another_size_keeps_thin_strokes():
    m = np.zeros((100, 100), np.uint8)
    m[:, 51] = 255  # one pixel wide, off the nearest-neighbour grid of a 4x downscale
    small = masks.binarise(m, (25, 25))
    assert small.shape == (25, 25) and set(np.unique(small)) == {0, 255}
    assert small[:, 12].all()


def test_grow_by_pixels_is_a_near_disc():
    r = 10
    g = masks.grow(dot(), r) > 0
    ys, xs = np.nonzero(g)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 30, 10, 30)
    assert not g[20 - 8, 20 - 8]  # the square's corner is outside the disc
    assert g[20 - 7, 20 - 7]  # (7, 7) is within radius 10
    assert abs(g.sum() / (math.pi * r * r) - 1) < 0.1


def test_grow_by_fraction_follows_the_cleanup_tip():
    m = np.zeros((100, 100), np.uint8)
    m[40:60, 30:70] = 255  # 40 wide: 15 % -> 6 px more, 3 px each side
    x0, y0, x1, y1 = masks.bbox(masks.grow(m, fraction=0.15))
    assert (x0, x1, y0, y1) == (27, 73, 37, 63)
    assert masks.bbox(masks.grow(m, 5, fraction=0.15)) == (25, 35, 75, 65)


def test_grow_keeps_grey_and_edges():
    m = np.zeros((20, 20), np.uint8)
    m[0, 0] = 100
    g = masks.grow(m, 3)
    assert set(np.unique(g)) == {0, 100} and g.shape == (20, 20) and g[3, 0] == 100
    assert not masks.grow(np.zeros((5, 5), np.uint8), 3).any()
    assert np.array_equal(masks.grow(m, 0), m)


def test_grow_works_on_large_masks():
    # How fast: tools/bench.py ("masks.grow 2048² by 60 px").
    m = np.zeros((2048, 2048), np.uint8)
    m[500:1500, 700:1200] = 255
    g = masks.grow(m, 60)
    assert masks.bbox(g) == (640, 440, 1260, 1560)


def test_feather_is_a_narrow_soft_seam():
    m = np.zeros((30, 30), np.uint8)
    m[10:20, 10:20] = 255
    f = masks.feather(m, 1)
    assert f.dtype == np.float32 and f.min() == 0.0 and f.max() == 1.0
    row = f[15]
    assert row[12] == 1.0 and row[7] == 0.0
    soft = row[(row > 0) & (row < 1)]
    assert 2 <= soft.size <= 4  # a 1-2 px ramp on each side
    assert np.allclose(masks.feather(np.full((6, 6), 255, np.uint8), 2), 1.0)  # no edge fade
    assert np.array_equal(masks.feather(m, 0), m / 255.0)


def test_bbox_with_margin_clamped():
    m = np.zeros((50, 80), np.uint8)
    m[10:20, 30:40] = 1
    assert masks.bbox(m) == (30, 10, 40, 20)
    assert masks.bbox(m, 5) == (25, 5, 45, 25)
    assert masks.bbox(m, 15) == (15, 0, 55, 35)
    assert masks.bbox(m, fraction=0.5) == (25, 5, 45, 25)
    assert masks.bbox(np.zeros((3, 3))) is None


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError):
        masks.as_mask(np.zeros(5))
