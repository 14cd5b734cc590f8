"""providers.http over real loopback HTTP: pacing, retries, deadlines, answer caps, network
failures, key hygiene."""

import io
import logging
import math
import socket
import threading
import time
import tracemalloc
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from mapsmith.core import image_files
from mapsmith.providers import (
    Cancelled,
    CancelToken,
    ProviderError,
    Settings,
    create,
    deadline,
    http,
    pacing,
    scrubbing,
)
from mapsmith.tests.servers.fake_services import (
    CLIPDROP_KEY,
    ERASE_KEY,
    HUGE,
    RAPIDAPI_KEY,
)
from mapsmith.tests.servers.helpers import assert_no_secret, fast, loopback_only, portrait, services  # noqa: F401


class _Clock(CancelToken):
    """A clock for the pacer and a token whose waits move that clock instead of sleeping."""

    def __init__(self):
        super().__init__()
        self.now, self.waits = 0.0, []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        self.check()


def test_pacer_spaces_a_burst_over_the_window():
    clock = _Clock()
    pacer = pacing.Pacer(3, period=0.4, clock=clock)
    starts = []
    for _ in range(5):
        pacer.wait(clock)
        starts.append(clock.now)
    assert starts[2] < 0.1  # the first three go at once
    assert 0.39 <= starts[3] < 0.6 and 0.39 <= starts[4] < 0.6


def test_pacer_wait_is_cancellable():
    # How soon Esc ends a pacing wait is measured by tools/bench.py.
    pacer, token = pacing.Pacer(1, period=30.0), CancelToken()
    pacer.wait(token)
    threading.Timer(0.1, token.cancel).start()
    with pytest.raises(Cancelled):
        pacer.wait(token)


def test_pacers_are_shared_per_endpoint_and_base():
    assert pacing.pacer("a", "http://x", 5) is pacing.pacer("a", "http://x", 5)
    assert pacing.pacer("a", "http://x", 5) is not pacing.pacer("a", "http://y", 5)


@pytest.mark.parametrize("key", ["", "   ", "abc def ghi", "line\nbreak-secret"])
def test_missing_or_malformed_key_fails_before_any_request(services, key):
    provider = create("CLIPDROP", Settings(api_key=key, base_url=services.url, **fast()))
    with pytest.raises(ProviderError, match="^ClipDrop: .*(no API key|API key contains)") as e:
        provider.depth(portrait())
    assert services.requests == []
    if key.strip():
        assert_no_secret(e.value, key.strip())


def test_refused_connection():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: nothing listens there
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=f"http://127.0.0.1:{port}",
                                           **fast()))
    with pytest.raises(ProviderError, match=r"^ClipDrop: could not connect to 127\.0\.0\.1 "
                                            r"\(connection refused\)") as e:
        provider.depth(portrait())
    assert_no_secret(e.value, CLIPDROP_KEY)


def test_dns_failure():
    provider = create("BGREMOVAL", Settings(api_key=CLIPDROP_KEY,
                                            base_url="https://mapsmith-test.invalid", **fast()))
    with pytest.raises(ProviderError, match=r"^Background Removal: cannot find the server "
                                            r"mapsmith-test\.invalid \(DNS lookup failed\)"):
        provider.test_connection()


@pytest.mark.parametrize("url", ["ftp://example.invalid", "not a url", "http://"])
def test_bad_base_url(url):
    provider = create("ERASE", Settings(api_key=CLIPDROP_KEY, base_url=url, **fast()))
    with pytest.raises(ProviderError, match="^Erase: the service URL .* not an http"):
        provider.cleanup(portrait(), portrait()[:, :, 0])


def test_official_endpoints_by_default_and_one_base_when_set():
    official = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY)).client
    assert official.url("https://apis.clipdrop.co/cleanup/v1") == \
        "https://apis.clipdrop.co/cleanup/v1"
    proxied = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url="http://h:1/cd/")).client
    assert proxied.url("https://clipdrop-api.co/portrait-depth-estimation/v1") == \
        "http://h:1/cd/portrait-depth-estimation/v1"


def test_sessions_verify_tls_and_leave_retries_to_the_client():
    session = deadline.open_session()
    assert session.verify is True
    for scheme in ("https://x", "http://x"):
        adapter = session.get_adapter(scheme)
        assert isinstance(adapter, deadline._Adapter) and adapter.max_retries.total == 0


def test_long_retry_after_is_an_error_not_a_sleep(services):
    services.fault(429, retry_after=3600)
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url, **fast()))
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        provider.depth(portrait())
    assert len(services.requests) == 1  # no retry: reported, not waited for (time: bench.py)


def test_retry_wait_is_cancellable(services):
    services.fault(503, retry_after=30)
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url,
                                           **fast(timeout_s=20.0)))
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    with pytest.raises(Cancelled):
        provider.depth(portrait(), cancel=token)
    assert len(services.requests) == 1  # the 30 s wait ended without a retry (time: bench.py)


def test_cancelled_before_start_sends_nothing(services):
    token = CancelToken()
    token.cancel()
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url, **fast()))
    with pytest.raises(Cancelled):
        provider.depth(portrait(), cancel=token)
    assert services.requests == []


def test_key_never_in_reprs_and_scrubbed_from_echoed_text():
    settings = Settings(api_key=CLIPDROP_KEY, base_url="http://127.0.0.1:1")
    for name in ("CLIPDROP", "ERASE", "BGREMOVAL"):
        provider = create(name, settings)
        assert CLIPDROP_KEY not in repr(provider) + repr(provider.client) + repr(settings)
    client = create("CLIPDROP", settings).client
    assert CLIPDROP_KEY not in client.fail(f"the server said: bad key {CLIPDROP_KEY}").message
    assert repr(client.auth()) == "<api key>"


# -- timeout_s bounds the whole request; retries keep to the call's deadline (issue 11.8) ----
def _provider(pid, srv, key, **kw):
    return create(pid, Settings(api_key=key, base_url=srv.url, **fast(**kw)))


def _mask():
    mask = np.zeros((48, 64), np.uint8)
    mask[2:8, 2:12] = 255
    return mask


CALLS = {  # provider id -> (key, a call that uploads the portrait)
    "CLIPDROP": (CLIPDROP_KEY, lambda p: p.depth(portrait())),
    "ERASE": (ERASE_KEY, lambda p: p.cleanup(portrait(), _mask())),
    "BGREMOVAL": (RAPIDAPI_KEY, lambda p: p.background(portrait(), "CUTOUT")),
}


# The trickled answers would take many minutes: a test that runs into its timeout mark has
# found a deadline that does not hold. How soon they end is measured by make bench.
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["trickle", "trickle_headers"])
@pytest.mark.parametrize("pid", sorted(CALLS))
def test_a_trickling_answer_ends_at_the_timeout(services, pid, kind):
    """One byte every 0.4 s: the answer would take minutes; timeout_s=1 ends the call with a
    timeout, whether the trickle is in the body or already in the status line."""
    key, call = CALLS[pid]
    services.fault(kind, seconds=0.4)
    provider = _provider(pid, services, key, timeout_s=1.0, max_retries=2)
    with pytest.raises(ProviderError, match=r": no answer within 1 s \(timeout\); the service "
                                            r"may be busy, try again$") as e:
        call(provider)
    assert len(services.requests) == 1     # a timeout is not retried: it may have been charged
    assert e.value.retryable
    assert_no_secret(e.value, key)


@pytest.mark.timeout(60)
def test_cancel_ends_a_trickling_request_at_once(services):
    services.fault("trickle", seconds=0.4)
    provider = _provider("CLIPDROP", services, CLIPDROP_KEY, timeout_s=30.0)
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    with pytest.raises(Cancelled):           # the socket is shut, not read to its end
        provider.depth(portrait(), cancel=token)


def test_retry_pauses_end_within_the_calls_deadline(services):
    """500 forever, pauses 0.6, 1.2, 2.4 ... s: with timeout_s=0.5 and 5 retries the call may
    take (5 + 1) * 0.5 = 3 s, so the third pause is not taken and the 500 is reported."""
    services.fault(500, times=None)
    provider = _provider("CLIPDROP", services, CLIPDROP_KEY, timeout_s=0.5, max_retries=5,
                         backoff_s=0.6)
    with pytest.raises(ProviderError, match=r"internal error; try again later \(500\)"):
        provider.depth(portrait())
    assert len(services.requests) == 3       # the third pause would pass the deadline


def test_a_retry_after_beyond_the_deadline_is_reported_not_slept(services):
    services.fault(503, times=None, retry_after=5)
    provider = _provider("BGREMOVAL", services, RAPIDAPI_KEY, timeout_s=1.0, max_retries=3)
    with pytest.raises(ProviderError, match=r"^Background Removal: the service is busy and asks "
                                            r"to wait 5 s; try again later$"):
        provider.background(portrait(), "MASK")
    assert len(services.requests) == 1       # reported at once, not slept through


# -- answers are capped by what the service can legitimately send (issue 11.9) ---------------
@pytest.mark.parametrize("kind", ["huge", "huge_chunked"])
@pytest.mark.parametrize("pid", sorted(CALLS))
def test_an_oversized_answer_fails_without_being_read(services, pid, kind):
    """A 300 MiB answer (announced, or streamed without a length) to a 64x48 upload fails
    with a clear message, having read at most the cap (about 1 MB): memory stays flat."""
    key, call = CALLS[pid]
    services.fault(kind)
    provider = _provider(pid, services, key, timeout_s=30.0)
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError, match=r": the answer is too large \((314\.6 MB "
                                                r"announced; )?at most 1\.\d MB expected\)") as e:
            call(provider)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "not read" in str(e.value) and "check the service URL" in str(e.value)
    assert ("314.6 MB announced" in str(e.value)) == (kind == "huge")
    assert peak < 24 * 2 ** 20                        # not the 300 MiB, nor a multiple of it
    time.sleep(0.2)                                  # let the server notice the client left
    assert services.body_bytes_sent < HUGE / 8       # socket buffers, not the whole body
    assert len(services.requests) == 1


@pytest.mark.parametrize("fmt, channels", [("PNG", 4), ("JPEG", 3)])
def test_answer_caps_hold_the_worst_legitimate_answer(fmt, channels):
    """The cap fits what the document promises back (same size, that format), noise included."""
    img = np.random.default_rng(1).integers(0, 256, (300, 400, channels), np.uint8)
    buf = io.BytesIO()
    image_files.to_pil(img).save(buf, fmt, **({"quality": 100, "subsampling": 0}
                                              if fmt == "JPEG" else {}))
    cap = image_files.answer_bytes((400, 300), fmt) - image_files.ANSWER_SLACK
    assert len(buf.getvalue()) < cap
    assert len(buf.getvalue()) * 4 / 3 < image_files.answer_bytes((400, 300), fmt, in_json=True)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_small_image_claiming_huge_dimensions_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("L", (12000, 12000)).save(buf, "PNG")   # 140 kB of zeros, 144 MB decoded
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError, match=r"sent back a 12000x12000 image for a 64x48"):
            image_files.decode(buf.getvalue(), service="S", mode="L", size=(64, 48))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20


# -- secrets never leave (issue 11.7) --------------------------------------------------------
SHORT_KEYS = ["Z", "q9X", "Zq9#W", "s3cRET7"]


@pytest.mark.parametrize("key", SHORT_KEYS)
@pytest.mark.parametrize("pid", sorted(CALLS))
def test_a_short_key_is_refused_before_any_request(services, pid, key):
    provider = create(pid, Settings(api_key=key, base_url=services.url, **fast()))
    with pytest.raises(ProviderError, match=r": the API key is too short to be a real key; "
                                            r"paste the whole key") as e:
        CALLS[pid][1](provider)
    assert services.requests == []
    assert_no_secret(e.value, key)


def test_a_key_the_server_echoes_is_masked_everywhere(services, caplog):
    """Version text, error texts and the service's failure reasons all carry the key."""
    caplog.set_level(logging.DEBUG)
    services.fault("echo_key", times=None)
    status = _provider("BGREMOVAL", services, RAPIDAPI_KEY).test_connection()
    assert status == "Background Removal: service v1.5.0 (key ***), ready"
    wrong = "wrong-but-long-key-0042"
    with pytest.raises(ProviderError) as e:
        _provider("BGREMOVAL", services, wrong).background(portrait())
    assert str(e.value) == ("Background Removal: API key rejected; check it in the add-on "
                            "preferences (403): You are not subscribed to this API. (key ***)")
    assert_no_secret(e.value, wrong)
    with pytest.raises(ProviderError) as e:
        _provider("ERASE", services, wrong).cleanup(portrait(), _mask())
    assert_no_secret(e.value, wrong)
    note = _provider("ERASE", services, ERASE_KEY).cleanup(portrait(), _mask()).note
    assert note == "seed 1050625087 (key ***)"                  # the report shows the note
    for key in (RAPIDAPI_KEY, ERASE_KEY, wrong):
        assert key not in caplog.text


@pytest.mark.parametrize("position", [0, 250, 290, 296, 299])
def test_a_key_is_masked_before_a_long_text_is_cut(position):
    """A key across the 300-character cut of a service's text: not even its start shows."""
    client = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY)).client
    text = client.quote("x" * position + CLIPDROP_KEY + " tail " * 80)
    assert CLIPDROP_KEY[:6] not in text and len(text) <= http.DETAIL_CHARS


def test_scrub_masks_every_form_of_a_secret_and_url_credentials():
    key = 'k3y/with+odd"chars'
    text = (f'raw {key}; quoted {quote(key, safe="")}; json {key.replace(chr(34), "")}'
            f'; escaped {key.replace(chr(34), chr(92) + chr(34))}; at ftp://bob:pw9@host/x')
    out = scrubbing.scrub(text, [key])
    assert key not in out and quote(key, safe="") not in out
    assert 'k3y/with+odd\\"chars' not in out and "bob" not in out and "pw9" not in out
    assert "ftp://***@host/x" in out


@pytest.mark.parametrize("url, password", [
    ("ftp://alice:hunter2hunter2@files.example.invalid/x", "hunter2hunter2"),
    ("alice:hunter2hunter2@files.example.invalid", "hunter2hunter2"),
    ("http://alice:hunter2hunter2@127.0.0.1:9/api", "hunter2hunter2"),
    ("https://alice:hunt%40er2@example.invalid", "hunt@er2"),
    ("https://only-a-token-0123456789@example.invalid", "only-a-token-0123456789"),
])
def test_url_credentials_are_refused_and_never_echoed(url, password):
    provider = create("ERASE", Settings(api_key=ERASE_KEY, base_url=url, **fast()))
    with pytest.raises(ProviderError, match="^Erase: the service URL ") as e:
        provider.cleanup(portrait(), _mask())
    assert_no_secret(e.value, password)
    assert_no_secret(e.value, "alice")
    assert password not in repr(provider) + repr(provider.client)


def test_an_http_url_with_credentials_sends_nothing(services):
    url = services.url.replace("http://", "http://alice:hunter2hunter2@")
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=url, **fast()))
    with pytest.raises(ProviderError, match=r"holds a user name or password; remove it"):
        provider.depth(portrait())
    assert services.requests == []


# -- settings a script or a broken preference can hold (issue 11.10) ------------------------
@pytest.mark.parametrize("url", ["http://[::1", "http://[::1/x", "http://127.0.0.1:99999",
                                 "http://127.0.0.1:port", "https://[not-an-address]"])
def test_a_malformed_url_is_a_message(url):
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=url, **fast()))
    with pytest.raises(ProviderError, match=r"^ClipDrop: the service URL .* is not a valid "
                                            r"address; fix or clear it in the add-on"):
        provider.depth(portrait())


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_a_timeout_that_is_not_a_duration_is_a_message(services, value):
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url,
                                           timeout_s=value))
    with pytest.raises(ProviderError, match=r"^ClipDrop: the Timeout preference \(timeout_s\) "
                                            r"is .*, not a number of seconds; set it to 1\.\.600"):
        provider.depth(portrait())
    assert services.requests == []
