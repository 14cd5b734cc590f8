"""ClipDrop (cleanup, depth, normals) against the loopback fake, over real HTTP."""


import numpy as np
import pytest

from mapsmith.providers import ProviderError, Settings, create
from mapsmith.tests.servers.fake_services import BROKE_KEY, CLIPDROP_KEY
from mapsmith.tests.servers.helpers import assert_no_secret, fast, loopback_only, portrait, services  # noqa: F401

DEPTH = "/portrait-depth-estimation/v1"


def clipdrop(srv, key=CLIPDROP_KEY, **kw):
    return create("CLIPDROP", Settings(api_key=key, base_url=srv.url, **fast(**kw)))


def mask_for(img, value=255):
    m = np.zeros(img.shape[:2], np.uint8)
    m[2:8, 2:12] = value  # on the background, away from the "person"
    return m


def test_depth(services):
    img = portrait()
    result = clipdrop(services).depth(img)
    d = result.image
    assert d.shape == (48, 64) and d.dtype == np.float32
    assert d[0, 0] < 0.02 and d[24, 32] > 0.8  # 0 outside the person, nearest in the middle
    assert (result.credits.remaining, result.credits.consumed) == (999, 1)
    rec = services.requests[-1]
    assert (rec.method, rec.path, rec.key, rec.headers["x-api-key"]) == \
        ("POST", DEPTH, "valid", "<redacted>")
    assert (rec.files["image_file"].format, rec.files["image_file"].size) == ("PNG", (64, 48))


def test_normals(services):
    result = clipdrop(services).normals(portrait())
    n = result.image
    assert n.shape == (48, 64, 3) and n.dtype == np.uint8
    assert np.abs(n[0, 0].astype(int) - (128, 128, 255)).max() <= 3
    assert n[24, 32, 2] > 200  # facing the viewer in the middle of the blob
    assert result.credits.consumed == 1
    assert services.requests[-1].path == "/portrait-surface-normals/v1"


def test_cleanup_binarises_a_grey_mask(services):
    img = portrait()
    result = clipdrop(services).cleanup(img, mask_for(img, 90))
    assert result.image.shape == img.shape
    assert np.abs(result.image[5, 5].astype(int) - 210).max() <= 3  # filled from around
    assert np.array_equal(result.image[30:, 30:], img[30:, 30:])
    assert result.credits.remaining == 999 and result.credits.consumed is None
    rec = services.requests[-1]
    assert rec.path == "/cleanup/v1" and rec.files["mask_file"].format == "PNG"
    sent = rec.files["mask_file"].array()
    assert sent.shape == (48, 64) and set(np.unique(sent)) == {0, 255}


def test_cleanup_with_empty_mask_costs_nothing(services):
    img = portrait()
    with pytest.raises(ProviderError, match="mask is empty"):
        clipdrop(services).cleanup(img, np.zeros(img.shape[:2], np.uint8))
    assert services.requests == []


@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float32) / 255.0,
    lambda a: np.dstack([a, np.full(a.shape[:2], 128, np.uint8)]),
    lambda a: a[:, :, 0],
    lambda a: a.astype(np.uint16) * 257,
])
def test_any_image_array_is_sent_as_an_accepted_format(services, make):
    result = clipdrop(services).depth(make(portrait()))
    upload = services.requests[-1].files["image_file"]
    assert (upload.format, upload.mode) == ("PNG", "RGB") and result.image.shape == (48, 64)


@pytest.mark.parametrize("key, status, message", [
    ("wrong-key-0123456789", 403, r"^ClipDrop: API key rejected"),
    (BROKE_KEY, 402, r"^ClipDrop: no credits left \(402\)"),
])
def test_rejected_keys(services, key, status, message):
    with pytest.raises(ProviderError, match=message) as e:
        clipdrop(services, key).depth(portrait())
    assert e.value.status == status
    assert_no_secret(e.value, key)
    with pytest.raises(ProviderError, match=message):
        clipdrop(services, key).test_connection()


def test_missing_key_header_reaches_server_as_401(services):
    # Our client never sends without a key; a 401 from a proxy in between still reads well.
    services.fault(401)
    with pytest.raises(ProviderError, match=r"no API key reached the service.*\(401\)"):
        clipdrop(services).depth(portrait())


def test_rate_limit_then_success_honours_retry_after(services):
    services.fault(429, retry_after=1)
    result = clipdrop(services).depth(portrait())
    first, retry = services.requests
    # as the server saw it
    assert retry.time - first.time >= 0.95 and result.image.shape == (48, 64)
    assert [r.status for r in services.requests] == [429, 200]


def test_server_rate_limiter_then_success(services):
    services.rate_limits["normals"], services.rate_period = 2, 1.0
    provider = clipdrop(services)
    for _ in range(3):
        provider.normals(portrait(16, 12))
    assert [r.status for r in services.requests] == [200, 200, 429, 200]


def test_rate_limit_forever(services):
    services.fault(429, times=None, retry_after=0)
    with pytest.raises(ProviderError, match=r"^ClipDrop: too many requests .*\(429\)") as e:
        clipdrop(services, max_retries=2).cleanup(portrait(), mask_for(portrait()))
    assert e.value.status == 429 and len(services.requests) == 3  # the first and 2 retries


def test_server_error_once_is_retried(services):
    services.fault(500)
    assert clipdrop(services).normals(portrait()).image.shape == (48, 64, 3)
    assert [r.status for r in services.requests] == [500, 200]


def test_server_error_forever(services):
    services.fault(500, times=None)
    with pytest.raises(ProviderError, match=r"internal error; try again later \(500\): "
                                            r"Injected failure") as e:
        clipdrop(services).depth(portrait())
    assert e.value.retryable


def test_bad_request_shows_the_services_text(services):
    services.fault(400)
    with pytest.raises(ProviderError, match=r"^ClipDrop: the service rejected the request "
                                            r"\(400\): Injected failure$"):
        clipdrop(services).depth(portrait())


def test_timeout(services):
    services.fault("delay", seconds=1.0)
    with pytest.raises(ProviderError, match=r"no answer within 0.3 s \(timeout\)"):
        clipdrop(services, timeout_s=0.3).depth(portrait())  # how soon: tools/bench.py
    assert len(services.requests) == 1  # a read timeout is not retried: it may be charged


def test_dropped_connection(services):
    services.fault("drop")
    with pytest.raises(ProviderError, match="connection was dropped"):
        clipdrop(services).depth(portrait())


@pytest.mark.parametrize("fault", ["corrupt_image", "truncated_image"])
def test_damaged_image_body(services, fault):
    services.fault(fault)
    with pytest.raises(ProviderError, match="^ClipDrop: .*damaged or incomplete image"):
        clipdrop(services).cleanup(portrait(), mask_for(portrait()))


def test_answer_of_the_wrong_size(services):
    services.fault("wrong_size")
    with pytest.raises(ProviderError, match="32x24 image for a 64x48 input"):
        clipdrop(services).depth(portrait())


def test_a_200_that_is_not_an_image(services):
    services.fault("bad_json")  # a 200 whose body is not the promised image
    with pytest.raises(ProviderError, match="damaged"):
        clipdrop(services).depth(portrait())


def test_connection_check_spends_no_credit(services):
    status = clipdrop(services).test_connection()
    assert status.startswith("ClipDrop: reachable, key not refused")
    assert services.credits[CLIPDROP_KEY] == 1000 and services.requests[-1].status == 400


def test_depth_keeps_a_16_bit_answer_at_full_precision(services):
    """A compatible server answering a 16-bit PNG: the depth keeps its fine levels (it used
    to be cut to 256 levels when decoded)."""
    from mapsmith.tests.servers.fake_services import depth_of
    services.depth_16bit = True
    img = portrait()
    d = clipdrop(services).depth(img).image
    assert d.dtype == np.float32 and d.shape == (48, 64)
    expected = (depth_of(img) * 65535 + 0.5).astype(np.uint16) / 65535.0
    np.testing.assert_allclose(d, expected, atol=1e-6)
    inside = d[d > 0]
    assert np.abs(inside * 255 - np.round(inside * 255)).max() > 0.1   # not on the 8-bit grid
