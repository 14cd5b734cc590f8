"""core/texture_maps.py on real textures (scikit-image's brick, grass, gravel)."""

import numpy as np
import pytest
from skimage import data

from mapsmith.core import texture_maps as tm
from mapsmith.core.errors import InputError
from mapsmith.tests.textures import mortar_mask, seamless


@pytest.fixture(scope="module")
def brick():
    return data.brick()  # 512 x 512 grey, light mortar between darker bricks


def test_mortar_lower_than_brick_faces(brick):
    maps = tm.texture_maps(brick)
    mortar = mortar_mask(brick)
    assert 0.03 < mortar.mean() < 0.4
    assert maps.light_is_low      # light mortar is recognised as the grooves
    assert maps.height[mortar].mean() < maps.height[~mortar].mean() - 0.15


def test_invert_flips_the_guess(brick):
    mortar = mortar_mask(brick)
    flipped = tm.texture_maps(brick, invert=True)
    assert flipped.height[mortar].mean() > flipped.height[~mortar].mean()


@pytest.mark.parametrize("name", ["gravel", "grass"])
def test_dark_gaps_read_low(name):
    texture = getattr(data, name)()
    maps = tm.texture_maps(texture)
    assert not maps.light_is_low
    lum = tm.luminance(texture)
    dark = lum < np.percentile(lum, 10)
    assert maps.height[dark].mean() < maps.height.mean() - 0.1


@pytest.mark.parametrize("name", ["brick", "grass", "gravel"])
def test_normals_unit_and_facing_the_viewer(name):
    maps = tm.texture_maps(getattr(data, name)())
    n = maps.normals
    assert n.shape == maps.height.shape + (3,)
    assert np.allclose(np.linalg.norm(n, axis=2), 1.0, atol=1e-5)
    mean = n.reshape(-1, 3).mean(axis=0)
    assert mean[2] > 0.8 and abs(mean[0]) < 0.05 and abs(mean[1]) < 0.05
    assert 0.0 <= maps.height.min() and maps.height.max() <= 1.0
    assert 0.0 <= maps.cavity.min() and maps.cavity.max() <= 1.0


def test_normals_point_downhill():
    # Height rising to the right and towards the top row: normals lean left and down.
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    ramp = (x - y) / 128.0 + 0.5
    n = tm.normals_from_height(ramp)
    assert n[32, 32, 0] < -0.01 and n[32, 32, 1] < -0.01 and n[32, 32, 2] > 0.9


def test_lighting_gradient_is_not_a_slope():
    # A flat pattern under a strong left-to-right light falloff: the height must not tilt.
    rng = np.random.default_rng(1)
    pattern = rng.random((256, 256)).astype(np.float32) * 0.2 + 0.4
    light = np.linspace(0.3, 1.0, 256, dtype=np.float32)[None, :]
    height, _ = tm.height_map(pattern * light, auto_polarity=False)
    left, right = height[:, :64].mean(), height[:, -64:].mean()
    assert abs(left - right) < 0.03


def test_fine_detail_keeps_its_depth():
    # Fine bumps on a wide gentle swell: the bumps keep most of the height range.
    y, x = np.mgrid[0:256, 0:256].astype(np.float32)
    swell = 0.5 + 0.3 * np.sin(x / 256 * np.pi)
    bumps = 0.05 * np.sin(x / 3.0) * np.sin(y / 3.0)
    height, _ = tm.height_map(swell + bumps, auto_polarity=False)
    fine = height - np.mean(height, axis=0, keepdims=True)
    assert fine.std() > 0.5 * height.std()


@pytest.mark.parametrize("name", ["brick", "gravel"])
def test_tileable_maps_are_seamless(name):
    tile = seamless(getattr(data, name)())
    shift = (tile.shape[0] // 3, tile.shape[1] // 5)
    maps = tm.texture_maps(tile, tileable=True)
    shifted = tm.texture_maps(np.roll(tile, shift, axis=(0, 1)), tileable=True)
    # Wrap-around filtering: shifting the texture shifts its maps, edges included.
    for a, b in ((maps.height, shifted.height), (maps.cavity, shifted.cavity),
                 (maps.normals, shifted.normals)):
        assert np.abs(np.roll(a, shift, axis=(0, 1)) - b).max() < 2e-3
    # Left and right edges (top and bottom) continue each other like interior neighbours.
    h = maps.height
    inner = np.abs(np.diff(h, axis=1)).mean()
    assert np.abs(h[:, 0] - h[:, -1]).mean() < 1.5 * inner
    inner = np.abs(np.diff(h, axis=0)).mean()
    assert np.abs(h[0] - h[-1]).mean() < 1.5 * inner


def test_without_tileable_the_edges_do_not_wrap():
    tile = seamless(data.gravel())
    shift = (tile.shape[0] // 3, tile.shape[1] // 5)
    plain = tm.texture_maps(tile).height
    shifted = tm.texture_maps(np.roll(tile, shift, axis=(0, 1))).height
    assert np.abs(np.roll(plain, shift, axis=(0, 1)) - shifted).max() > 0.05


def test_colour_and_alpha_accepted():
    rgba = np.dstack([data.coffee(), np.full(data.coffee().shape[:2], 255, np.uint8)])
    maps = tm.texture_maps(rgba)
    assert maps.height.shape == rgba.shape[:2]


@pytest.mark.parametrize("bad", [np.zeros((2, 2), np.uint8), np.zeros((8, 8, 2), np.uint8),
                                 np.zeros(5, np.uint8)])
def test_bad_input_is_a_message(bad):
    with pytest.raises(InputError):
        tm.texture_maps(bad)


def test_flat_texture_gives_flat_maps():
    maps = tm.texture_maps(np.full((32, 32), 128, np.uint8))
    assert np.allclose(maps.height, 0.5, atol=1e-3)
    assert np.allclose(maps.normals[..., 2], 1.0, atol=1e-4)


def test_bad_options_are_messages(brick):
    with pytest.raises(InputError):
        tm.texture_maps(brick, detail_scale=0)
    with pytest.raises(InputError):
        tm.texture_maps(brick, strength=float("nan"))
