"""core.image_files: decoding defensively, encoding, fitting uploads to service limits."""

import io

import numpy as np
import pytest
from PIL import Image

from mapsmith.core import image_files
from mapsmith.providers import ProviderError, bgremoval, clipdrop


def noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.mark.parametrize("shape", [(8, 12), (8, 12, 3), (8, 12, 4)])
def test_png_round_trip_is_exact(shape):
    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[len(shape) if len(shape) == 2 else shape[2]]
    assert np.array_equal(image_files.decode(image_files.encode(a), service="S", mode=mode), a)


def test_jpeg_and_webp_encode_close_and_jpeg_drops_alpha():
    a = np.full((16, 16, 4), 100, np.uint8)
    for fmt in ("JPEG", "WEBP"):
        out = image_files.decode(image_files.encode(a, fmt), service="S", mode="RGB")
        assert out.shape == (16, 16, 3) and abs(int(out.mean()) - 100) <= 2
    assert Image.open(io.BytesIO(image_files.encode(a, "JPEG"))).mode == "RGB"


@pytest.mark.parametrize("body", [b"", b"not an image at all",
                                  image_files.encode(noise(32, 32))[:300],
                                  image_files.encode(noise(32, 32), "JPEG")[:500],
                                  b"\x89PNG\r\n\x1a\n" + b"\0" * 64])
def test_damaged_bodies_raise_provider_error_with_service(body):
    with pytest.raises(ProviderError, match=r"^ClipDrop: .*(damaged|empty)"):
        image_files.decode(body, service="ClipDrop")


def test_wrong_size_and_missing_alpha_are_errors():
    data = image_files.encode(noise(10, 20))
    with pytest.raises(ProviderError, match="20x10 image for a 40x20 input"):
        image_files.decode(data, service="S", size=(40, 20))
    with pytest.raises(ProviderError, match="without transparency"):
        image_files.decode(data, service="S", mode="RGBA")
    assert image_files.decode(data, service="S", mode="L", size=(20, 10)).shape == (10, 20)


def test_base64_decoding():
    import base64
    data = image_files.encode(noise(4, 4))
    text = base64.b64encode(data).decode()
    assert image_files.decode_base64(text, service="S").shape == (4, 4, 3)
    decoded = image_files.decode_base64("data:image/png;base64," + text, service="S")
    assert decoded.shape == (4, 4, 3)
    for bad in ("%%% nope %%%", "", None, "abc"):
        with pytest.raises(ProviderError, match="^S: "):
            image_files.decode_base64(bad, service="S")


def test_array_normalisation():
    assert image_files.as_uint8(np.array([[0.0, 1.0, 2.0]])).tolist() == [[0, 255, 255]]
    assert image_files.as_uint8(np.array([[0, 65535]], np.uint16)).tolist() == [[0, 255]]
    assert image_files.as_uint8(np.array([[True, False]])).tolist() == [[255, 0]]
    assert image_files.as_rgb(np.zeros((2, 3))).shape == (2, 3, 3)
    assert image_files.as_rgb(np.zeros((2, 3, 4), np.uint8)).shape == (2, 3, 3)
    with pytest.raises(ProviderError):
        image_files.as_uint8(np.zeros((2, 3, 5)))


def test_scaled_size_with_documented_limits():
    w, h = image_files.scaled_size((6000, 4000), clipdrop.CLEANUP_LIMITS)
    assert w * h <= 16_000_000 and abs(w / h - 1.5) < 0.01 and w * h > 15_900_000
    w, h = image_files.scaled_size((7000, 5000), clipdrop.PORTRAIT_LIMITS)
    assert w * h <= 25_000_000 and w * h > 24_900_000
    assert image_files.scaled_size((5000, 100), bgremoval.LIMITS) == (4096, 81)
    assert image_files.scaled_size((4096, 4096), bgremoval.LIMITS) == (4096, 4096)
    assert image_files.scaled_size((640, 480), clipdrop.CLEANUP_LIMITS) == (640, 480)


def test_fit_keeps_small_images_lossless():
    a = noise(20, 30)
    f = image_files.fit(a, image_files.Limits(("PNG", "JPEG")), service="S")
    assert (f.format, f.size, f.scaled, f.mime, f.filename) == ("PNG", (30, 20), False,
                                                                 "image/png", "image.png")
    assert np.array_equal(image_files.decode(f.data, service="S"), a)


def test_fit_downscales_to_pixel_and_side_limits():
    f = image_files.fit(noise(60, 80), image_files.Limits(("PNG",), max_pixels=1200), service="S")
    assert f.size[0] * f.size[1] <= 1200 and f.source_size == (80, 60) and f.scaled
    assert Image.open(io.BytesIO(f.data)).size == f.size
    f = image_files.fit(noise(10, 5000), bgremoval.LIMITS, service="S")
    assert f.size == (4096, 8)


def test_fit_reencodes_to_jpeg_when_png_is_too_big():
    a = noise(128, 128)  # noise: PNG ~ 49 KB, JPEG a fraction of it
    f = image_files.fit(a, image_files.Limits(("PNG", "JPEG"), max_bytes=40_000), service="S")
    assert f.format == "JPEG" and f.size == (128, 128) and len(f.data) <= 40_000


def test_fit_shrinks_when_no_lossy_format_is_allowed():
    limits = image_files.Limits(("PNG",), max_bytes=20_000)
    f = image_files.fit(noise(128, 128), limits, service="S")
    assert f.format == "PNG" and len(f.data) <= 20_000 and f.size[0] < 128


def test_fit_gives_up_with_a_clear_error():
    with pytest.raises(ProviderError, match="^Erase: .*cannot be made small enough"):
        image_files.fit(noise(64, 64), image_files.Limits(("PNG",), max_bytes=10), service="Erase")


def test_16_bit_grey_keeps_every_level_as_float():
    """A 16-bit depth answer decoded with mode F keeps its 65536 levels (it used to be cut to
    8 bits: 256 levels, steps of 1/255 that print as terraces)."""
    ramp = np.arange(0, 65536, 16, dtype=np.uint16).reshape(64, 64)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    out = image_files.decode(buf.getvalue(), service="S", mode="F", size=(64, 64))
    assert out.dtype == np.float32 and out.shape == (64, 64)
    np.testing.assert_allclose(out, ramp / 65535.0, atol=1e-7)
    assert np.unique(out).size == 4096
    # 8-bit and colour answers come back as the same 0..1 scale.
    grey8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out8 = image_files.decode(image_files.encode(grey8), service="S", mode="F")
    np.testing.assert_allclose(out8, grey8 / 255.0, atol=1e-7)
    rgb = np.repeat(grey8[..., None], 3, axis=2)
    np.testing.assert_allclose(image_files.decode(image_files.encode(rgb), service="S", mode="F"),
                               grey8 / 255.0, atol=1e-7)
