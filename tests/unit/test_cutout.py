"""core/cutout.py: every background answer made ready to composite (islands, edge colour)."""

import numpy as np
import pytest
from scipy import ndimage
from skimage import data

from mapsmith.core import cutout
from mapsmith.core.errors import InputError


def pulled_to_wall(photo, rgba):
    """Share of the soft edge pixels (alpha 0.05..0.95) at least 20 levels closer to the
    nearest wall colour (the photo at the nearest pixel of alpha <= 0.05) than to the
    nearest subject colour (the photo at the nearest pixel of alpha >= 0.95): the issue's
    "pulled towards the background" figure."""
    a = rgba[..., 3].astype(np.float32) / 255.0
    colour, photo = rgba[..., :3].astype(np.float32), photo.astype(np.float32)
    edge = (a > 0.05) & (a < 0.95)
    _, (wy, wx) = ndimage.distance_transform_edt(a > 0.05, return_indices=True)
    _, (sy, sx) = ndimage.distance_transform_edt(a < 0.95, return_indices=True)
    to_wall = np.linalg.norm(colour - photo[wy, wx], axis=2)
    to_subject = np.linalg.norm(colour - photo[sy, sx], axis=2)
    return float((to_wall + 20.0 <= to_subject)[edge].mean())


@pytest.fixture(scope="module")
def astronaut_cutout():
    from mapsmith.providers import create
    photo = data.astronaut()
    return photo, create("OFFLINE").background(photo, "CUTOUT").image


def test_astronaut_edge_no_longer_carries_the_wall(astronaut_cutout):
    photo, raw = astronaut_cutout
    out = cutout.refine(photo, raw)
    assert pulled_to_wall(photo, raw) > 0.3           # measured 0.45
    assert pulled_to_wall(photo, out) < 0.1           # measured 0.05
    assert np.array_equal(out[..., 3], raw[..., 3])   # no islands there: alpha untouched
    solid = (raw[..., 3] == 255) | (raw[..., 3] == 0)
    assert np.array_equal(out[solid], raw[solid])     # only the soft edge is recoloured


def test_edge_colour_off_and_despill(astronaut_cutout):
    photo, raw = astronaut_cutout
    assert np.array_equal(cutout.refine(photo, raw, edge_colour=False), raw)
    none, full = (cutout.refine(photo, raw, despill=d) for d in (0.0, 1.0))
    assert not np.array_equal(none, full)


def _disc(h, w, cy, cx, r):
    y, x = np.mgrid[:h, :w]
    return np.clip(r + 0.5 - np.hypot(y - cy, x - cx), 0, 1)


def test_islands_that_do_not_touch_the_person_are_dropped():
    photo = np.full((120, 160, 3), 200, np.uint8)
    person = _disc(120, 160, 60, 60, 40)
    scrap = _disc(120, 160, 20, 140, 6)               # a piece of the background
    friend = _disc(120, 160, 80, 135, 20)             # a second subject, a quarter the size
    alpha = np.round(np.maximum.reduce([person, scrap, friend]) * 255).astype(np.uint8)
    mask = cutout.refine(photo, alpha)
    assert mask[20, 140] == 0 and not mask[10:31, 130:151].any()     # soft edge too
    assert mask[60, 60] == 255 and mask[80, 135] == 255
    assert np.array_equal(cutout.refine(photo, alpha, keep_islands=True), alpha)
    rgba = np.dstack([photo, alpha])
    out = cutout.refine(photo, rgba, edge_colour=False)
    assert out[20, 140, 3] == 0 and np.array_equal(out[..., :3], photo)


def test_service_colours_and_shadow_are_left_alone():
    # A service that recoloured its edge itself, and a dark shadow: not the photo's colour,
    # so not re-estimated.
    photo = np.zeros((64, 64, 3), np.uint8)
    photo[:, 32:] = 230
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    rgba = np.dstack([np.full_like(photo, 90), alpha])
    assert np.array_equal(cutout.refine(photo, rgba, keep_islands=True), rgba)


def test_material_mask_and_colour(astronaut_cutout):
    photo, raw = astronaut_cutout
    mask, colour = cutout.refine_mask(photo, raw[..., 3])
    assert np.array_equal(mask, raw[..., 3])
    assert pulled_to_wall(photo, np.dstack([colour[..., :3], mask])) < 0.1
    changed = colour[..., 3] == 255
    assert changed.any() and np.array_equal(colour[~changed, :3], photo[~changed])
    assert not changed[(mask == 0) | (mask == 255)].any()
    assert cutout.refine_mask(photo, raw[..., 3], edge_colour=False)[1] is None


def test_bad_input():
    photo = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InputError):
        cutout.refine(photo, np.zeros((9, 10), np.uint8))
    with pytest.raises(InputError):
        cutout.refine(photo, np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(InputError):
        cutout.refine(photo, np.zeros((10, 10), np.uint8), despill=1.5)


def test_a_small_piece_holding_the_face_is_kept():
    from mapsmith.providers.offline.face import face_mask
    photo = data.astronaut()
    face = face_mask(photo)
    assert face is not None and face[150, 225]        # the detector finds her face
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[100:200, 180:270] = 255                     # the head, cut off from the body
    alpha[300:, :] = 255                              # a body ten times its size
    assert not cutout.refine(photo, alpha)[150, 225]   # by size alone the head would go
    kept = cutout.refine(photo, alpha, keep=face)
    assert kept[150, 225] == 255 and kept[400, 100] == 255
