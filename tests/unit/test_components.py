"""core/components.py against scikit-image's labelling (test venv only) on real masks."""

import numpy as np
import pytest
from skimage import data, measure

from mapsmith.core import components
from mapsmith.core.errors import InputError


def same_partition(ours, theirs):
    """Equal up to the numbering of the components."""
    pairs = np.unique(np.stack([ours.ravel(), theirs.ravel()]), axis=1)
    return (len(np.unique(pairs[0])) == pairs.shape[1]
            and len(np.unique(pairs[1])) == pairs.shape[1])


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scikit_image_on_noise(seed, connectivity):
    mask = np.random.default_rng(seed).random((97, 131)) > 0.55
    ours, n = components.label(mask, connectivity=connectivity)
    theirs, m = measure.label(mask, connectivity=1 if connectivity == 4 else 2,
                              return_num=True)
    assert n == m
    assert same_partition(ours, theirs)
    assert np.array_equal(ours > 0, mask)


def test_matches_on_a_real_image():
    mask = data.coins() > 120
    ours, n = components.label(mask)
    theirs, m = measure.label(mask, connectivity=2, return_num=True)
    assert n == m and same_partition(ours, theirs)


def test_spiral_is_one_component():
    # A long winding path: the worst case for label propagation.
    mask = np.zeros((64, 64), bool)
    top, left, bottom, right = 0, 0, 63, 63
    while top <= bottom and left <= right:
        mask[top, left:right + 1] = True
        mask[top:bottom + 1, right] = True
        mask[bottom, left:right + 1] = True
        mask[top + 2:bottom + 1, left] = True
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
        if top <= bottom:
            mask[top, left - 2:left] = True
    _, n = components.label(mask, connectivity=4)
    assert n == measure.label(mask, connectivity=1, return_num=True)[1]


def test_keep_large_and_keep_seed():
    mask = np.zeros((50, 50), bool)
    mask[5:30, 5:30] = True          # 625 px: the subject
    mask[40:43, 40:43] = True        # 9 px speck
    mask[2:4, 45:47] = True          # 4 px speck, but holding the seed
    seed = np.zeros_like(mask)
    seed[3, 46] = True
    out = components.keep_large(mask, 0.05, keep=seed)
    assert out[10, 10] and out[3, 46] and not out[41, 41]
    assert np.array_equal(components.keep_large(mask, 0.0), mask)


def test_touching_keeps_the_components_holding_a_seed():
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = True            # holds the seed
    mask[8:10, 8:10] = True          # joins it only diagonally
    mask[12:18, 12:18] = True        # elsewhere
    seed = np.zeros_like(mask)
    seed[0, 0] = seed[5, 5] = True   # outside the mask, and in the first square
    four = components.touching(mask, seed, connectivity=4)
    assert four[2:8, 2:8].all() and four.sum() == 36
    eight = components.touching(mask, seed)
    assert eight[8:10, 8:10].all() and eight.sum() == 40
    assert not components.touching(mask, np.zeros_like(mask)).any()


def test_fill_holes():
    mask = np.zeros((40, 40), bool)
    mask[5:35, 5:35] = True
    mask[10:12, 10:12] = False       # small hole: filled
    mask[15:30, 15:30] = False       # large hole: kept
    mask[0:3, 0:3] = False           # background at the border: never a hole
    out = components.fill_holes(mask, 10)
    assert out[10, 10] and not out[20, 20] and not out[0, 0]


def test_boxes_and_sizes():
    mask = np.zeros((10, 10), bool)
    mask[1:3, 2:5] = True
    mask[6:9, 7:8] = True
    labels, n = components.label(mask)
    assert n == 2
    assert components.sizes(labels, n).tolist() == [91, 6, 3]
    assert components.boxes(labels, n).tolist() == [[1, 2, 3, 5], [6, 7, 9, 8]]


def test_empty_and_bad():
    labels, n = components.label(np.zeros((5, 5), bool))
    assert n == 0 and not labels.any()
    with pytest.raises(InputError):
        components.label(np.zeros(5, bool))
    with pytest.raises(InputError):
        components.label(np.zeros((5, 5), bool), connectivity=6)
