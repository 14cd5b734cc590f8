"""core.plane_size: the photo plane's size by height, pixels per unit and camera frame."""

import pytest

from mapsmith.core import plane_size
from mapsmith.core.errors import InputError


def test_by_height_keeps_the_aspect():
    assert plane_size.by_height(1920, 1080, 2.0) == pytest.approx((2.0 * 1920 / 1080, 2.0))


def test_by_pixels_per_unit():
    assert plane_size.by_pixels_per_unit(1920, 1080, 1000.0) == pytest.approx((1.92, 1.08))
    with pytest.raises(InputError, match="more than 0"):
        plane_size.by_pixels_per_unit(10, 10, 0.0)


@pytest.mark.parametrize("photo, fill, expected", [
    ((2000, 1000), False, (1.6, 0.8)),     # wider than the 16:9 frame: fit by width
    ((2000, 1000), True, (1.8, 0.9)),      # fill: cover the frame's height
    ((1000, 1000), False, (0.9, 0.9)),     # square in a wide frame: fit by height
    ((1000, 1000), True, (1.6, 1.6)),      # fill: cover the width
])
def test_in_frame_fits_or_fills(photo, fill, expected):
    w, h = plane_size.in_frame(*photo, 1.6, 0.9, fill)
    assert (w, h) == pytest.approx(expected)
    assert w / h == pytest.approx(photo[0] / photo[1])
    if fill:
        assert w >= 1.6 - 1e-9 and h >= 0.9 - 1e-9
    else:
        assert w <= 1.6 + 1e-9 and h <= 0.9 + 1e-9


def test_frame_grows_with_distance_unless_orthographic():
    assert plane_size.frame_at_distance(0.36, 0.2, 1.0, 5.0, False) == pytest.approx((1.8, 1.0))
    assert plane_size.frame_at_distance(0.36, 0.2, 1.0, 5.0, True) == (0.36, 0.2)
    with pytest.raises(InputError, match="behind the camera"):
        plane_size.frame_at_distance(0.36, 0.2, 1.0, -1.0, False)


def test_an_empty_image_is_a_clear_error():
    with pytest.raises(InputError, match="no area"):
        plane_size.by_height(0, 10, 1.0)
