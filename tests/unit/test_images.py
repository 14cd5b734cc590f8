"""core.images: the one home of image operations, (H, W) everywhere."""

import numpy as np
import pytest
from skimage import data

from mapsmith.core import images


def noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


# -- resize -----------------------------------------------------------------------------------
def test_resize_takes_height_then_width_on_every_path():
    for img in (noise(3, 4), noise(3, 4)[..., 0], np.zeros((3, 4, 3), np.float32),
                np.zeros((3, 4), np.float32)):
        for method in ("linear", "lanczos", "box") if img.dtype == np.uint8 or img.ndim == 2 \
                else ("linear",):
            assert images.resize(img, 6, 8, filter=method).shape[:2] == (6, 8), method


def test_resize_keeps_dtype():
    depth = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    out = images.resize(depth, 6, 8, filter="lanczos")
    assert out.dtype == np.float32 and out.shape == (6, 8) and 0 <= out.min() <= out.max() <= 1
    assert images.resize(noise(3, 4), 6, 8).shape == (6, 8, 3)
    same = noise(3, 4)
    assert images.resize(same, 3, 4) is same
    assert images.resize(noise(3, 4), 6, 8).dtype == np.uint8  # uint8: Pillow, dtype kept
    assert images.resize(depth, 6, 8).dtype == np.float32      # float: numpy linear


def test_resize_refuses_what_pillow_cannot_hold():
    with pytest.raises(ValueError, match="uint8 or float32"):
        images.resize(np.zeros((3, 4, 3), np.float32), 6, 8, filter="lanczos")


def test_linear_resize_keeps_a_ramp_and_averages_when_shrinking():
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (8, 1))
    small = images.resize(ramp, 8, 16)
    assert np.allclose(small.mean(), ramp.mean(), atol=1e-3)
    assert np.all(np.diff(small[0]) > 0)


# -- blur -------------------------------------------------------------------------------------
def test_exact_blur_preserves_constants_and_mass():
    a = np.full((30, 40), 3.0, np.float32)
    np.testing.assert_allclose(images.blur(a, 2.5, exact=True), 3.0, rtol=1e-5)
    impulse = np.zeros((41, 41), np.float32)
    impulse[20, 20] = 1.0
    b = images.blur(impulse, 2.0, exact=True)
    np.testing.assert_allclose(b.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(b, b.T, atol=1e-7)
    assert b[20, 20] == b.max()


def test_box_blur_approximates_the_exact_one():
    img = data.camera()[::4, ::4].astype(np.float32) / 255.0
    fast, exact = images.blur(img, 3.0), images.blur(img, 3.0, exact=True)
    assert np.abs(fast - exact)[10:-10, 10:-10].mean() < 0.01


def test_blur_takes_colour_images():
    rgb = data.astronaut()[::8, ::8].astype(np.float32) / 255.0
    for exact in (False, True):
        out = images.blur(rgb, 2.0, exact=exact)
        assert out.shape == rgb.shape
        np.testing.assert_allclose(out[..., 1], images.blur(rgb[..., 1], 2.0, exact=exact),
                                   atol=1e-6)


def test_masked_blur_keeps_the_silhouette_height():
    values = np.zeros((40, 40), np.float32)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    values[mask] = 0.8
    out = images.masked_blur(values, mask, 3.0)
    np.testing.assert_allclose(out[mask], 0.8, rtol=1e-5)  # no droop at the edge
    assert not out[~mask].any()
    plain = images.blur(values, 3.0, exact=True)
    assert plain[10, 10] < 0.5  # what a plain blur does to the corner


# -- dilation ---------------------------------------------------------------------------------
def test_dilate_matches_a_brute_force_running_maximum():
    rng = np.random.default_rng(1)
    grey = (rng.random((23, 31)) > 0.97).astype(np.uint8) * rng.integers(1, 256, (23, 31),
                                                                            dtype=np.uint8)
    for ry, rx in ((0, 0), (1, 1), (2, 5), (7, 3)):
        want = np.zeros_like(grey)
        for y in range(grey.shape[0]):
            for x in range(grey.shape[1]):
                want[y, x] = grey[max(0, y - ry):y + ry + 1, max(0, x - rx):x + rx + 1].max()
        assert np.array_equal(images.dilate(grey, ry, rx), want), (ry, rx)
    hole = grey > 0
    assert images.dilate(hole, 2).dtype == bool
    assert np.array_equal(images.dilate(hole, 2), images.dilate(grey, 2) > 0)


# -- pyramid fills ----------------------------------------------------------------------------
def test_pool_2x2_ignores_the_padding_of_odd_sizes():
    values = np.arange(15, dtype=np.float32).reshape(3, 5)
    weights = np.ones((3, 5), np.float32)
    sums, counts = images.pool_2x2(values * weights, weights)
    assert sums.shape == counts.shape == (2, 3)
    assert counts.tolist() == [[4, 4, 2], [2, 2, 1]]
    assert sums[1, 2] == values[2, 4]


def test_push_pull_and_membrane_fill_keep_known_values_and_fill_gaps():
    ramp = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (30, 1))
    hole = np.zeros(ramp.shape, bool)
    hole[10:20, 12:28] = True
    pushed = images.push_pull(np.where(hole, 0, ramp), (~hole).astype(np.float32))
    assert np.allclose(pushed[~hole], ramp[~hole], atol=1e-5)
    assert np.abs(pushed[hole] - ramp[hole]).max() < 0.2
    filled = images.membrane_fill(np.where(hole, 0, ramp)[..., None], hole)[..., 0]
    assert np.array_equal(filled[~hole], ramp[~hole])
    assert np.abs(filled[hole] - ramp[hole]).max() < 0.05  # a ramp is harmonic


# -- float -> byte, extent --------------------------------------------------------------------
def test_to_uint8_rounds_half_up_clips_and_zeroes_nan():
    x = np.array([-1.0, 0.0, 0.5 / 255, 1.49 / 255, 1.0, 2.0, np.nan], np.float32)
    assert images.to_uint8(x).tolist() == [0, 0, 1, 1, 255, 255, 0]
    assert images.to_uint8(np.array([0.5, 254.5, 300.0, -3.0]), peak=255.0).tolist() == \
        [1, 255, 255, 0]


def test_extent_puts_the_long_side_at_the_given_length():
    assert images.extent(300, 600, 0.2) == (0.2, 0.1)
    assert images.extent(600, 300, 0.2) == (0.1, 0.2)
    assert images.extent(5, 5, 1.0) == (1.0, 1.0)
