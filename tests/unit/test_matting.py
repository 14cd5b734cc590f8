"""core/matting.py: cutout edges carry the subject's colour, not the old background's."""

import numpy as np
import pytest
from skimage import data

from mapsmith.core import matting
from mapsmith.core.errors import Cancelled, CancelToken, InputError

WALL = np.float32([0.85, 0.85, 0.8])     # a pale wall, like the astronaut's backdrop


@pytest.fixture(scope="module")
def scene():
    """A textured subject (the coffee photo) in a soft-edged disc in front of a pale wall."""
    subject = data.coffee()[:256, :256].astype(np.float32) / 255.0
    y, x = np.mgrid[0:256, 0:256].astype(np.float32)
    r = np.hypot(y - 128, x - 128)
    alpha = np.clip((100.0 - r) / 12.0, 0.0, 1.0)        # a 12 px soft edge
    wall = np.broadcast_to(WALL, subject.shape)
    image = alpha[..., None] * subject + (1 - alpha[..., None]) * wall
    return image.astype(np.float32), alpha.astype(np.float32), subject


def pulled_to_wall(colours, subject, alpha):
    """Share of edge pixels whose colour is closer to the wall than to the true subject."""
    edge = (alpha > 0.05) & (alpha < 0.95)
    to_wall = np.linalg.norm(colours - WALL, axis=2)
    to_subject = np.linalg.norm(colours - subject, axis=2)
    return float((to_wall < to_subject)[edge].mean())


def test_edge_colours_come_from_the_subject(scene):
    image, alpha, subject = scene
    before = pulled_to_wall(image, subject, alpha)
    after = pulled_to_wall(matting.cutout_colours(image, alpha, despill_amount=0.0),
                           subject, alpha)
    assert before > 0.4
    assert after < 0.1


def test_estimate_reproduces_the_image(scene):
    image, alpha, _ = scene
    fg, bg = matting.estimate_foreground(image, alpha)
    recomposed = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    assert np.abs(recomposed - image).mean() < 0.01
    # The background estimate under the subject's edge is the wall.
    edge = (alpha > 0.2) & (alpha < 0.8)
    assert np.abs(bg[edge] - WALL).mean() < 0.05


def test_opaque_and_transparent_pixels_keep_the_image(scene):
    image, alpha, _ = scene
    out = matting.cutout_colours(image, alpha)
    solid = (alpha >= matting.EDGE_HIGH) | (alpha <= matting.EDGE_LOW)
    assert np.array_equal(out[solid], image[solid])


def test_despill_removes_a_coloured_cast():
    # A grey subject in front of a green screen, with a green cast left in its edge.
    alpha = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (32, 1))
    green = np.broadcast_to(np.float32([0.1, 0.9, 0.1]), alpha.shape + (3,))
    fg = np.full(alpha.shape + (3,), 0.5, np.float32)
    fg[..., 1] += 0.2 * (1 - alpha)                     # the spill
    cleaned = matting.despill(fg, green, alpha, 1.0)
    spill = lambda c: c[..., 1] - c[..., [0, 2]].mean(axis=-1)  # noqa: E731
    assert spill(cleaned).max() < 0.25 * spill(fg).max()
    assert np.array_equal(matting.despill(fg, green, alpha, 0.0), fg)
    grey = np.full_like(green, 0.7)
    assert np.allclose(matting.despill(fg, grey, alpha, 1.0), fg)


def test_real_portrait_edge(portrait_mask):
    image, alpha = portrait_mask
    out = matting.cutout_colours(image, alpha)
    fg, bg = matting.estimate_foreground(image, alpha)
    edge = (alpha > 0.05) & (alpha < 0.95)

    def pulled(colours):
        return float((np.linalg.norm(colours - bg, axis=2)
                      < np.linalg.norm(colours - fg, axis=2))[edge].mean())

    assert pulled(image) > 0.3
    assert pulled(out) < 0.1


@pytest.fixture(scope="module")
def portrait_mask():
    from mapsmith.providers import create
    rgb = data.astronaut()
    mask = create("OFFLINE").background(rgb, "MASK").image
    return rgb.astype(np.float32) / 255.0, mask.astype(np.float32) / 255.0


def test_bad_input_and_cancel(scene):
    image, alpha, _ = scene
    with pytest.raises(InputError):
        matting.estimate_foreground(image, alpha[:10])
    with pytest.raises(InputError):
        matting.despill(image, image, alpha, 2.0)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        matting.cutout_colours(image, alpha, cancel=token)
