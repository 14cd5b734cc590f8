"""providers.http over real loopback HTTP: pacing, retries, network failures, key hygiene."""

import socket
import threading

import pytest

from mapsmith.providers import CancelToken, Cancelled, ProviderError, Settings, create, http
from mapsmith.tests.servers.fake_services import CLIPDROP_KEY
from mapsmith.tests.servers.helpers import (assert_no_secret, fast, loopback_only,  # noqa: F401
                                            portrait, services)


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
    pacer = http.Pacer(3, period=0.4, clock=clock)
    starts = []
    for _ in range(5):
        pacer.wait(clock)
        starts.append(clock.now)
    assert starts[2] < 0.1  # the first three go at once
    assert 0.39 <= starts[3] < 0.6 and 0.39 <= starts[4] < 0.6


def test_pacer_wait_is_cancellable():
    # How soon Esc ends a pacing wait is measured by tools/bench.py.
    pacer, token = http.Pacer(1, period=30.0), CancelToken()
    pacer.wait(token)
    threading.Timer(0.1, token.cancel).start()
    with pytest.raises(Cancelled):
        pacer.wait(token)


def test_pacers_are_shared_per_endpoint_and_base():
    assert http.pacer("a", "http://x", 5) is http.pacer("a", "http://x", 5)
    assert http.pacer("a", "http://x", 5) is not http.pacer("a", "http://y", 5)


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


def test_sessions_verify_tls_and_retry_within_bounds():
    session = http.open_session("S", Settings(max_retries=4), CancelToken())
    retry = session.get_adapter("https://x").max_retries
    assert session.verify is True
    assert (retry.status, retry.connect, retry.read) == (4, 4, False)
    assert {429, 500, 503} <= set(retry.status_forcelist) and "POST" in retry.allowed_methods


def test_long_retry_after_is_an_error_not_a_sleep(services):
    services.fault(429, retry_after=3600)
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url, **fast()))
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        provider.depth(portrait())
    assert len(services.requests) == 1  # no retry: reported, not waited for (time: bench.py)


def test_retry_wait_is_cancellable(services):
    services.fault(503, retry_after=30)
    provider = create("CLIPDROP", Settings(api_key=CLIPDROP_KEY, base_url=services.url, **fast()))
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
