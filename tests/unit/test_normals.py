import numpy as np
import pytest

from mapsmith.core import normals


def hemisphere(size=201, radius=None):
    """Depth of a hemisphere filling the short side: 1 at the centre, 0 at and beyond the rim.

    At strength 1 its relief height is exactly its radius (see RELIEF_OF_SHORT_SIDE), so its
    true normals are the sphere's: ((x - cx) / r, (cy - y) / r, z / r).
    """
    radius = radius or size / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2.0
    dx, dy = xx - c, c - yy                  # y up
    r2 = (dx ** 2 + dy ** 2) / radius ** 2
    depth = np.sqrt(np.clip(1.0 - r2, 0.0, None)).astype(np.float32)
    truth = np.dstack([dx / radius, dy / radius, depth])
    return depth, truth, r2


def test_hemisphere_normals_point_outward_and_match_the_sphere():
    depth, truth, r2 = hemisphere()
    n = normals.decode(normals.normals_from_depth(depth))
    inner = r2 < 0.8 ** 2
    angle = np.degrees(np.arccos(np.clip((n * truth).sum(-1), -1, 1)))
    assert angle[inner].max() < 4.0, angle[inner].max()

    c = depth.shape[0] // 2
    right, left = n[c, c + 60], n[c, c - 60]
    top, bottom = n[c - 60, c], n[c + 60, c]
    assert right[0] > 0.4 and left[0] < -0.4
    assert top[1] > 0.4 and bottom[1] < -0.4          # row 0 is the top; Y is up
    assert abs(right[1]) < 0.05 and abs(top[0]) < 0.05
    assert (n[depth > 0][:, 2] > 0).all()


def test_strength_scales_the_tilt():
    depth, _, _ = hemisphere()
    c = depth.shape[0] // 2
    weak = normals.decode(normals.normals_from_depth(depth, strength=0.5))[c, c + 60]
    strong = normals.decode(normals.normals_from_depth(depth, strength=2.0))[c, c + 60]
    assert 0 < weak[0] < strong[0]
    flat = normals.normals_from_depth(depth, strength=0.0)
    assert (flat == normals.FLAT).all()


def test_resolution_independent():
    small, _, _ = hemisphere(101)
    large, _, _ = hemisphere(401)
    a = normals.decode(normals.normals_from_depth(small))[50, 75]
    b = normals.decode(normals.normals_from_depth(large))[200, 300]
    assert np.abs(a - b).max() < 0.03


def test_flat_depth_is_flat_and_background_exact():
    depth = np.zeros((64, 80), np.float32)
    depth[10:50, 20:60] = 0.7
    out = normals.normals_from_depth(depth)
    assert out.dtype == np.uint8 and out.shape == (64, 80, 3)
    assert (out == normals.FLAT).all()                 # plateau AND background


def test_silhouette_cliff_makes_no_wall_of_sideways_normals():
    # A person-like plateau with a soft, anti-aliased edge ramp dropping to the background.
    depth, _, r2 = hemisphere(201, radius=80)
    depth = np.where(r2 < 1.0, 0.6 + 0.1 * depth, 0.0).astype(np.float32)
    depth[(r2 >= 1.0) & (r2 < 1.03)] = 0.3             # a ring of half-covered edge pixels
    n = normals.decode(normals.normals_from_depth(depth))
    fg = depth > 0
    assert n[fg][:, 2].min() > 0.5                      # nothing tips more than 60 degrees
    # The far side of the cliff is background, untouched.
    assert (normals.normals_from_depth(depth)[~fg] == normals.FLAT).all()


def test_background_exact_around_a_real_surface():
    depth, _, _ = hemisphere()
    out = normals.normals_from_depth(depth)
    assert (out[depth == 0] == normals.FLAT).all()


def test_encode_decode_round_trip_within_one_quantum():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(200, 200, 3)).astype(np.float32)
    v[..., 2] = np.abs(v[..., 2])
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    encoded = normals.encode(v)
    # Quantisation alone: every component within half a step (2/255 per step) of the truth.
    assert np.abs(encoded / 127.5 - 1.0 - v).max() <= 1.0 / 255.0 + 1e-6
    # Renormalising to unit length moves components by a further fraction of a step.
    back = normals.decode(encoded)
    assert np.allclose(np.linalg.norm(back, axis=-1), 1.0, atol=1e-5)
    assert np.abs(back - v).max() < 1.5 / 255.0
    angle = np.degrees(np.arccos(np.clip((back * v).sum(-1), -1.0, 1.0)))
    assert angle.max() < 0.5
    # Bytes -> unit vectors -> bytes moves no channel by more than one step.
    assert np.abs(normals.encode(back).astype(int) - encoded).max() <= 1


def test_encoding_fixed_points():
    up = np.array([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]], np.float32)
    assert normals.encode(up).tolist() == [[[128, 128, 255], [255, 128, 128], [128, 0, 128]]]
    flat = normals.decode(np.array([[normals.FLAT]], np.uint8))[0, 0]
    assert np.allclose(flat, [0, 0, 1], atol=0.01)


def test_flip_green_is_an_involution_and_negates_y():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(32, 32, 4), dtype=np.uint8)
    once = normals.flip_green(img)
    assert (normals.flip_green(once) == img).all()
    assert (once[..., [0, 2, 3]] == img[..., [0, 2, 3]]).all()
    assert np.allclose(normals.decode(once)[..., 1], -normals.decode(img)[..., 1], atol=1e-6)
    copy = img.copy()
    normals.flip_green(img)
    assert (img == copy).all()


def test_rejects_non_2d_depth():
    with pytest.raises(ValueError):
        normals.normals_from_depth(np.zeros((4, 4, 3), np.float32))
