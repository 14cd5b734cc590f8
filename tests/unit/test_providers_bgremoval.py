"""Background removal (RapidAPI) against the loopback fake, over real HTTP."""

import numpy as np
import pytest

from mapsmith.providers import ProviderError, Settings, create
from mapsmith.tests.servers.fake_services import BROKE_KEY, RAPIDAPI_HOST, RAPIDAPI_KEY
from mapsmith.tests.servers.helpers import assert_no_secret, fast, loopback_only, portrait, services  # noqa: F401


def bg(srv, key=RAPIDAPI_KEY, **kw):
    return create("BGREMOVAL", Settings(api_key=key, base_url=srv.url, **fast(**kw)))


@pytest.mark.parametrize("mode, query, shape", [
    ("CUTOUT", "fg-image", (48, 64, 4)),
    ("CUTOUT_SHADOW", "fg-image-shadow", (48, 64, 4)),
    ("MASK", "fg-mask", (48, 64)),
])
def test_every_mode(services, mode, query, shape):
    img = portrait()
    out = bg(services).background(img, mode).image
    assert out.shape == shape and out.dtype == np.uint8
    alpha = out if mode == "MASK" else out[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[24, 32] == 255
    if mode == "CUTOUT":
        assert np.array_equal(out[24, 32, :3], img[24, 32])
    rec = services.requests[-1]
    assert (rec.path, rec.query, rec.key) == ("/v1/results", {"mode": query}, "valid")
    assert rec.headers["x-rapidapi-key"] == "<redacted>"
    assert rec.headers["x-rapidapi-host"] == RAPIDAPI_HOST
    assert rec.files["image"].content_type == "image/png"


def test_oversized_input_is_fitted_and_brought_back(services):
    img = np.full((64, 4200, 3), 210, np.uint8)
    img[20:50, 1000:3000] = (40, 70, 110)
    result = bg(services).background(img, "CUTOUT").image
    assert services.requests[-1].files["image"].size == (4096, 62)
    assert result.shape == (64, 4200, 4)
    assert np.array_equal(result[:, :, :3], img)  # colours kept sharp, only alpha upscaled
    assert result[35, 2000, 3] == 255 and result[5, 100, 3] == 0


@pytest.mark.parametrize("fault, message", [
    ("failure_in_200", r"^Background Removal: could not process the image: Can not load image\."),
    ("bad_base64", r"invalid base64"),
    ("corrupt_image", r"damaged or incomplete image"),
    ("truncated_image", r"damaged or incomplete image"),
    ("bad_json", r"invalid JSON"),
    ("wrong_size", r"32x24 image for a 64x48 input"),
    (413, r"^Background Removal: image too large for the service even after resizing "
          r"to 64x48 \(413\)"),
    (422, r"^Background Removal: the service received no image \(422\)"),
])
def test_faults(services, fault, message):
    services.fault(fault)
    with pytest.raises(ProviderError, match=message) as e:
        bg(services).background(portrait(), "MASK")
    assert_no_secret(e.value, RAPIDAPI_KEY)


@pytest.mark.parametrize("key, message", [
    ("", r"^Background Removal: no API key set"),
    ("wrong-key-0123456789", r"^Background Removal: API key rejected.*not subscribed"),
    (BROKE_KEY, r"^Background Removal: no credits left \(402\)"),
])
def test_keys(services, key, message):
    with pytest.raises(ProviderError, match=message):
        bg(services, key).background(portrait())


def test_rate_limit_then_success_and_forever(services):
    services.fault(429, retry_after=0)
    assert bg(services).background(portrait(), "MASK").image.shape == (48, 64)
    services.fault(429, times=None, retry_after=0)
    with pytest.raises(ProviderError, match=r"rate limit.*\(429\)"):
        bg(services, max_retries=1).background(portrait(), "MASK")


def test_unknown_mode_sends_nothing(services):
    with pytest.raises(ProviderError, match="unknown mode"):
        bg(services).background(portrait(), "fg-image")
    assert services.requests == []


def test_connection_check_and_modes(services):
    provider = bg(services)
    assert provider.test_connection() == "Background Removal: service v1.5.0, ready"
    assert provider.modes() == ["fg-image", "fg-image-shadow", "fg-mask"]
    assert [r.path for r in services.requests] == ["/v1/version", "/v1/modes", "/v1/modes"]
    with pytest.raises(ProviderError, match="API key rejected"):
        bg(services, "wrong-key-0123456789").test_connection()
