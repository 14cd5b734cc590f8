"""Erase against the loopback fake, over real HTTP."""

import numpy as np
import pytest

from mapsmith.providers import ProviderError, Settings, create
from mapsmith.tests.servers.fake_services import BROKE_KEY, ERASE_KEY
from mapsmith.tests.servers.helpers import assert_no_secret, fast, loopback_only, portrait, services  # noqa: F401


def erase(srv, key=ERASE_KEY, **kw):
    return create("ERASE", Settings(api_key=key, base_url=srv.url, **fast(**kw)))


def grey_mask(img, value=128):
    m = np.zeros(img.shape[:2], np.uint8)
    m[2:8, 2:12] = value
    m[3:5, 3:5] = 255
    return m


def test_cleanup_keeps_the_grey_mask(services):
    img = portrait()
    img[2:8, 2:12] = (0, 0, 0)  # a blemish on the background
    result = erase(services).cleanup(img, grey_mask(img))
    assert result.image.shape == img.shape and result.note == "seed 1050625087"
    assert 90 <= result.image[6, 8].mean() <= 120  # half strength: halfway to the background
    assert result.image[3, 3].mean() > 190  # full strength
    rec = services.requests[-1]
    assert (rec.path, rec.headers["authorization"], rec.key) == \
        ("/api/edit/erase", "<redacted>", "valid")
    assert rec.form == {"output_format": "png"}
    assert set(np.unique(rec.files["mask"].array())) == {0, 128, 255}
    assert rec.files["image"].mode == "RGB"  # alpha never doubles as a mask
    assert services.credits[ERASE_KEY] == 994  # "6 credits per successful result"


def test_seed_is_sent_and_checked(services):
    provider = erase(services)
    provider.seed = 42
    assert provider.cleanup(portrait(), grey_mask(portrait())).note == "seed 42"
    assert services.requests[-1].form["seed"] == "42"
    provider.seed = 4294967295
    with pytest.raises(ProviderError, match="seed must be"):
        provider.cleanup(portrait(), grey_mask(portrait()))
    assert len(services.requests) == 1


def test_rgba_input_and_odd_mask_dtypes(services):
    img = np.dstack([portrait(), np.zeros((48, 64), np.uint8)])
    mask = grey_mask(img).astype(np.float32) / 255.0
    assert erase(services).cleanup(img, mask).image.shape == (48, 64, 3)
    assert services.requests[-1].files["image"].mode == "RGB"


@pytest.mark.parametrize("fault, message", [
    ("failure_in_200", r"^Erase: the service could not process the image: Generation failed"),
    ("bad_base64", r"^Erase: .*invalid base64"),
    ("corrupt_image", r"^Erase: .*damaged or incomplete image"),
    ("truncated_image", r"^Erase: .*damaged or incomplete image"),
    ("bad_json", r"^Erase: the service sent an unreadable answer \(invalid JSON\)"),
    ("wrong_size", r"32x24 image for a 64x48 input"),
    ("drop", r"^Erase: the connection was dropped"),
])
def test_faults(services, fault, message):
    services.fault(fault)
    with pytest.raises(ProviderError, match=message) as e:
        erase(services).cleanup(portrait(), grey_mask(portrait()))
    assert_no_secret(e.value, ERASE_KEY)


@pytest.mark.parametrize("key, message", [
    ("", r"^Erase: no API key set"),
    ("wrong-key-0123456789", r"^Erase: API key rejected.*\(403\): Invalid authorization token"),
    (BROKE_KEY, r"^Erase: no credits left \(402\): Insufficient credits"),
])
def test_keys(services, key, message):
    with pytest.raises(ProviderError, match=message) as e:
        erase(services, key).cleanup(portrait(), grey_mask(portrait()))
    if key:
        assert_no_secret(e.value, key)
    else:
        assert services.requests == []


def test_server_errors_retry_then_give_up(services):
    services.fault(502)
    assert erase(services).cleanup(portrait(), grey_mask(portrait())).image.shape == (48, 64, 3)
    services.fault(500, times=None)
    with pytest.raises(ProviderError, match=r"^Erase: the service had an internal error"):
        erase(services).cleanup(portrait(), grey_mask(portrait()))


def test_timeout(services):
    services.fault("delay", seconds=1.0)
    with pytest.raises(ProviderError, match=r"^Erase: no answer within 0.2 s"):
        erase(services, timeout_s=0.2).cleanup(portrait(), grey_mask(portrait()))


def test_connection_check(services):
    assert erase(services).test_connection() == "Erase: reachable, key not refused"
    assert services.credits[ERASE_KEY] == 1000
    with pytest.raises(ProviderError, match="API key rejected"):
        erase(services, "wrong-key-0123456789").test_connection()
