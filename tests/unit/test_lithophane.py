"""core/lithophane.py and core.images.lightness: photo -> printable lithophane arrays (mm)."""

import math

import numpy as np
import pytest
from skimage import data

from mapsmith.core import images, lithophane, mesh_check
from mapsmith.core.errors import InputError


def polys(mesh):
    return mesh_check.Polygons(mesh.co, mesh.loop_vertex, mesh.poly_start, mesh.poly_size)


def grey(value, h=40, w=60):
    return np.full((h, w, 3), value, np.uint8)


def front_z(mesh):
    return mesh.co[: mesh.n_front, 2]


def test_lightness_is_cie_lstar():
    # sRGB 119 is L* 50 (mid-grey to the eye); black 0, white 100; 18 % grey card L* 49.5.
    out = images.lightness(np.array([[[0, 0, 0], [119, 119, 119], [255, 255, 255]]], np.uint8))
    np.testing.assert_allclose(out[0], [0.0, 0.50, 1.0], atol=2e-3)
    card = images.lightness(np.full((1, 1, 3), images.linear_to_srgb(np.float32(0.18)), np.float32))
    assert card[0, 0] == pytest.approx(0.495, abs=2e-3)
    ramp = images.lightness(np.arange(256, dtype=np.uint8)[None, :, None].repeat(3, axis=2))
    assert np.all(np.diff(ramp[0]) > 0)


def test_mid_grey_prints_at_mid_thickness():
    """Perceptual, not linear: L* 50 grey sits half way between min and max thickness (a
    linear-luminance mapping would put it at 82 % of the way to the thick end)."""
    mesh = lithophane.build(grey(119), size=20.0, border=0.0)
    assert np.median(front_z(mesh)) == pytest.approx(0.8 + 0.5 * 2.2, abs=0.01)


@pytest.mark.parametrize("shape", ["FLAT", "CURVED"])
def test_watertight_manifold_and_outward(shape):
    mesh = lithophane.build(data.astronaut(), size=40.0, shape=shape)
    checks = mesh_check.check_manifold(mesh)
    assert checks["watertight"] and checks["euler"] == 2, checks
    assert mesh_check.volume(mesh) > 0
    assert mesh_check.count_bodies(polys(mesh)) == 1


def test_flat_plate_size_thickness_frame_and_resolution():
    rgb = data.astronaut()                                       # 512 x 512
    mesh = lithophane.build(rgb, size=60.0, min_thickness=1.0, max_thickness=4.0, border=5.0)
    lo, hi = mesh.co.min(axis=0), mesh.co.max(axis=0)
    np.testing.assert_allclose(lo, (-30.0, -30.0, 0.0), atol=1e-4)
    np.testing.assert_allclose(hi, (30.0, 30.0, 4.0), atol=1e-4)
    assert mesh.grid_shape == (301, 301)                         # 0.2 mm for a 0.4 mm nozzle
    rows, cols = mesh.grid_shape
    z = np.zeros(rows * cols, np.float32)
    z[mesh.grid_index] = front_z(mesh)
    z = z.reshape(rows, cols)
    assert np.all(z[:, :20] == pytest.approx(4.0)) and np.all(z[-20:, :] == pytest.approx(4.0))
    picture = z[30:-30, 30:-30]
    assert picture.min() >= 1.0 - 1e-5 and picture.max() <= 4.0 + 1e-5
    assert picture.std() > 0.3                                   # a picture, not a flat plate
    assert np.all(mesh.co[mesh.n_front:, 2] == 0.0)              # the back is flat on z = 0
    # A coarser nozzle, a coarser grid.
    assert lithophane.build(rgb, size=60.0, nozzle=0.6).grid_shape == (201, 201)


def test_dark_is_thick_when_positive_and_thin_when_negative():
    rgb = np.zeros((50, 100, 3), np.uint8)
    rgb[:, :50] = 255                                            # white left, black right
    for tone, left, right in (("POSITIVE", 0.8, 3.0), ("NEGATIVE", 3.0, 0.8)):
        mesh = lithophane.build(rgb, size=40.0, border=0.0, tone=tone)
        x, z = mesh.co[: mesh.n_front, 0], front_z(mesh)
        assert np.median(z[x < -5]) == pytest.approx(left, abs=1e-4), tone
        assert np.median(z[x > 5]) == pytest.approx(right, abs=1e-4), tone


def test_transparent_pixels_count_as_white():
    rgba = np.zeros((20, 20, 4), np.uint8)                       # black, fully transparent
    mesh = lithophane.build(rgba, size=10.0, border=0.0)
    assert front_z(mesh).max() == pytest.approx(0.8, abs=1e-5)


def test_curved_is_a_cylinder_section_standing_up():
    mesh = lithophane.build(grey(255, 100, 100), size=50.0, border=0.0, shape="CURVED",
                            curve_angle=90.0)
    x, y, z = mesh.co.T.astype(np.float64)
    radius = 50.0 / (math.pi / 2)
    back = mesh.co[mesh.n_front:].astype(np.float64)
    r_back = np.hypot(back[:, 0], radius - back[:, 1])           # the axis is at (0, radius)
    np.testing.assert_allclose(r_back, radius, atol=1e-3)
    r_front = np.hypot(x[: mesh.n_front], radius - y[: mesh.n_front])
    np.testing.assert_allclose(r_front, radius + 0.8, atol=1e-3)   # white: 0.8 mm everywhere
    assert z.min() == pytest.approx(-25.0) and z.max() == pytest.approx(25.0)
    # The picture faces -Y: the outside of the curve is nearest the viewer at the middle.
    assert y[: mesh.n_front].min() == pytest.approx(-0.8, abs=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_thickness=3.0, max_thickness=2.0), "must be greater than the minimum"),
    (dict(min_thickness=0.0), "Minimum thickness must be greater than 0"),
    (dict(border=60.0), "leaves no room for the picture"),
    (dict(shape="CURVED", curve_angle=359.0), "at most 300 degrees"),
    (dict(shape="ROUND"), "Shape must be FLAT or CURVED"),
    (dict(tone="SEPIA"), "Tone must be POSITIVE or NEGATIVE"),
    (dict(size=2000.0, nozzle=0.2), "more than 4,096"),
])
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        lithophane.build(grey(128), **kwargs)
