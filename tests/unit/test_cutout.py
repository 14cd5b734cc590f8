"""core/cutout.py: every background answer made ready to composite (islands, edge colour)."""

import json
import pathlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage import data

from mapsmith.core import cutout
from mapsmith.core.errors import InputError

LEFT_EDGE = pathlib.Path(__file__).resolve().parent.parent / "data" / "astronaut_left_edge.json"


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


def left_edge_truth():
    """The hand-traced outline of the astronaut's left side (tests/data): bool (512, 512)
    masks of the subject inside the outline and of the region the outline covers."""
    truth = json.loads(LEFT_EDGE.read_text(encoding="utf-8"))
    canvas = Image.new("L", (512, 512), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in truth["polygon"]], fill=1, outline=1)
    region = np.zeros((512, 512), bool)
    region[truth["region"]["y_from"]:, :truth["region"]["x_below"]] = True
    return np.asarray(canvas, bool), region


def left_edge_figures(before, after):
    """Against the traced outline, in its region: the pixels with any alpha more than 5 px
    outside the outline before and after (the issue's "background kept far from the true
    edge"), and the share of the subject's solid pixels (alpha >= 128 before, inside the
    outline) still solid after. ``before`` and ``after`` are alpha, uint8 (512, 512)."""
    inside, region = left_edge_truth()
    far = (ndimage.distance_transform_edt(~inside) > 5) & region
    solid = (before >= 128) & inside & region
    return (int(((before > 0) & far).sum()), int(((after > 0) & far).sum()),
            float((after[solid] >= 128).mean()))


@pytest.fixture(scope="module")
def astronaut_cutout():
    from mapsmith.providers import create
    photo = data.astronaut()
    return photo, create("OFFLINE").background(photo, "CUTOUT").image


def test_astronaut_edge_no_longer_carries_the_wall(astronaut_cutout):
    photo, raw = astronaut_cutout
    out = cutout.refine(photo, raw)
    assert pulled_to_wall(photo, raw) > 0.3           # measured 0.45
    # measured 0.068: the flag strip's soft pixels are gone from the count (0.048 with them)
    assert pulled_to_wall(photo, out) < 0.1
    # Alpha is the answer's except the flag strip (0) and a 1 px fade along that cut.
    cut = (out[..., 3] == 0) & (raw[..., 3] > 0)
    changed = out[..., 3] != raw[..., 3]
    assert (out[..., 3] <= raw[..., 3]).all()
    assert not (changed & ~ndimage.binary_dilation(cut, np.ones((3, 3)))).any()
    solid = ~changed & ((raw[..., 3] == 255) | (raw[..., 3] == 0))
    assert np.array_equal(out[solid], raw[solid])     # only the soft edge is recoloured


def test_flag_piece_joined_to_the_sleeve_goes(astronaut_cutout):
    """Issue 15: the strip of the flag along the astronaut's left sleeve is joined to her, so
    the island rule kept it; against the hand-traced outline of that side it goes, and the
    sleeve stays."""
    photo, raw = astronaut_cutout
    out = cutout.refine(photo, raw, edge_colour=False)
    assert cutout.drop_islands(raw[..., 3]).sum() == raw[..., 3].sum()    # islands: none
    far_before, far_after, kept = left_edge_figures(raw[..., 3], out[..., 3])
    assert far_before > 2500                          # measured 3004
    assert far_after < 200                            # measured 78
    assert kept >= 0.99                               # measured 0.9917 (a shadowed fold)
    inside, region = left_edge_truth()
    lost = (raw[..., 3] >= 128) & (out[..., 3] < 128)
    assert lost[~region].sum() == 0                   # hair, helmet, the dark table: untouched
    kept_all = cutout.refine(photo, raw, edge_colour=False, keep_islands=True)
    assert np.array_equal(kept_all, raw)              # Keep Islands keeps the flag piece too


def test_edge_colour_off_and_despill(astronaut_cutout):
    photo, raw = astronaut_cutout
    plain = cutout.refine(photo, raw, edge_colour=False)
    assert np.array_equal(plain[..., :3], raw[..., :3])
    assert np.array_equal(cutout.refine(photo, raw, edge_colour=False, keep_islands=True), raw)
    none, full = (cutout.refine(photo, raw, despill=d) for d in (0.0, 1.0))
    assert not np.array_equal(none, full)


def _joined_scene():
    """A 256 px photo: an orange disc (the subject) with an orange arm, on a blue-grey
    wall with a red stripe; the answer's mask also holds a stretch of wall and stripe
    joined to the disc along a short boundary (what a remover takes along)."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[:256, :256]
    photo = np.empty((256, 256, 3), np.float32)
    photo[:] = (90, 110, 150)                         # the wall
    photo[(x + y) % 80 < 25] = (150, 30, 40)          # stripes of it, all over
    disc = np.hypot(y - 150, x - 128) <= 60
    arm = (np.abs(y - 150) <= 8) & (x >= 188) & (x < 240)
    photo[disc | arm] = (230, 120, 60)
    photo[disc] *= (1.0 - 0.3 * ((x[disc] - 68) / 120.0))[:, None]    # shading
    photo += rng.normal(0, 6, photo.shape)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    r = np.hypot(y - 150, x - 128)
    blob = (np.hypot(y - 88, x - 90) <= 12) & ~disc  # wall, joined along 20 px
    strip = (r > 60) & (r <= 72) & (x > 150) & (y > 160)     # a stretch along the disc
    mask = np.where(disc | arm | blob | strip, 255, 0).astype(np.uint8)
    return photo, mask, disc | arm, blob, strip


def test_background_stretch_joined_to_the_subject_goes():
    photo, mask, subject, blob, strip = _joined_scene()
    assert cutout.drop_islands(mask).sum() == mask.sum()       # one piece: islands keep it
    out = cutout.refine(photo, mask)
    near = ndimage.binary_dilation(subject, iterations=2)     # the cut may miss 1-2 px
    assert not out[(blob | strip) & ~near].any()              # the wall's stretches go
    assert (out[subject] >= 85).all()                         # the subject stays, arm too,
    assert (out[ndimage.binary_erosion(subject, np.ones((3, 3)))] == 255).all()  # rim faded
    assert np.array_equal(cutout.refine(photo, mask, keep_islands=True), mask)
    keep = np.zeros_like(subject)
    keep[88, 90] = True                                       # e.g. a face found there
    kept = cutout.refine(photo, mask, keep=keep)
    assert (kept[blob] == 255).all() and not kept[strip & ~near].any()
    # An answer whose colours there are not the photo's (a service's shadow) keeps them.
    rgba = np.dstack([photo, mask])
    rgba[blob | strip, :3] //= 3
    assert (cutout.refine(photo, rgba, edge_colour=False)[blob | strip, 3] == 255).all()


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
    assert np.array_equal(mask, cutout.refine(photo, raw, edge_colour=False)[..., 3])
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
