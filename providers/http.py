"""The HTTP side every service client shares: sessions, retries, pacing, error messages.

bpy-free. Decisions that hold for every service:

- Every request has a timeout (``Settings.timeout_s``) and verifies TLS; redirects are not
  followed (a redirect would carry the key header to another host).
- The key travels in an auth object, so it is neither in ``repr`` nor replaced by ``.netrc``,
  and it is scrubbed from any text a server echoes back. A missing key fails before any
  socket is opened.
- 429 and 5xx are retried (POST too: failed calls are not charged) up to
  ``Settings.max_retries`` times, honouring Retry-After, else backing off from
  ``Settings.backoff_s``; all waits go through the :class:`CancelToken`, so Esc works. A
  Retry-After beyond :data:`MAX_RETRY_AFTER_S` is reported rather than slept through.
  Connection failures are retried the same way; read failures are not (the service may
  already have done, and charged, the work).
- A client-side :class:`Pacer` keeps a batch under a service's per-minute limit.
- Every failure becomes a :class:`ProviderError` prefixed by the service's name.
"""

from __future__ import annotations

import collections
import http.client
import re
import socket
import threading
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, ProtocolError
from urllib3.util.retry import Retry

from .contract import NEVER_CANCELLED, CancelToken, Credits, ProviderError, Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 10.0
MAX_RETRY_AFTER_S = 60.0
DETAIL_CHARS = 300  # of a service's own error text

_STATUS_TEXT = {
    400: "the service rejected the request",
    401: "no API key reached the service; set one in the add-on preferences",
    402: "no credits left",
    403: "API key rejected; check it in the add-on preferences",
    404: "nothing at this address; check the service URL",
    413: "image too large for the service",
    422: "the service could not read the request",
    429: "too many requests (rate limit); wait a minute and try again",
    500: "the service had an internal error; try again later",
}
_DNS_TEXT = ("name or service not known", "nodename nor servname", "getaddrinfo failed",
             "temporary failure in name resolution", "no address associated",
             "failed to resolve")


class Pacer:
    """At most ``per_minute`` starts in any ``period`` seconds (a sliding window).

    Shared by all calls to one service endpoint, so a batch paces itself instead of meeting
    the server's 429s; waiting goes through the caller's :class:`CancelToken`.
    """

    def __init__(self, per_minute: int, period: float = 60.0, clock=time.monotonic):
        self.per_minute, self.period, self._clock = per_minute, period, clock
        self._starts = collections.deque()
        self._lock = threading.Lock()

    def wait(self, token: CancelToken = NEVER_CANCELLED) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.period:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                delay = self._starts[0] + self.period - now
            token.wait(delay)


_pacers: dict = {}
_pacers_lock = threading.Lock()


def pacer(endpoint: str, base_url: str, per_minute: int) -> Pacer:
    """The process-wide pacer of one endpoint at one base URL."""
    with _pacers_lock:
        return _pacers.setdefault((endpoint, base_url), Pacer(per_minute))


def credits_from(response: requests.Response, provider: str = "") -> Optional[Credits]:
    """x-remaining-credits / x-credits-consumed, where the service sends them."""
    def number(name):
        try:
            return int(float(response.headers[name]))
        except (KeyError, ValueError):
            return None
    found = Credits(number("x-remaining-credits"), number("x-credits-consumed"), provider)
    return found if (found.remaining, found.consumed) != (None, None) else None


class _KeyAuth(requests.auth.AuthBase):
    def __init__(self, headers: dict):
        self._headers = headers

    def __call__(self, request):
        request.headers.update(self._headers)
        return request

    def __repr__(self) -> str:
        return "<api key>"


class _Retry(Retry):
    """urllib3's Retry, sleeping through the CancelToken, refusing absurd Retry-After."""

    service = ""
    token = NEVER_CANCELLED
    backoff_s = 0.5

    def new(self, **kw):
        retry = super().new(**kw)
        retry.service, retry.token, retry.backoff_s = self.service, self.token, self.backoff_s
        return retry

    def sleep(self, response=None):
        delay = None
        if response is not None and self.respect_retry_after_header:
            try:
                delay = self.get_retry_after(response)
            except InvalidHeader:
                delay = None
        if delay is None:
            delay = min(MAX_BACKOFF_S, self.backoff_s * 2 ** max(0, len(self.history) - 1))
        if delay > MAX_RETRY_AFTER_S:
            status = getattr(response, "status", None)
            raise ProviderError(f"{self.service}: the service is busy and asks to wait "
                                f"{delay:.0f} s; try again later", status=status, retryable=True)
        self.token.wait(delay)


def open_session(service: str, settings: Settings, token: CancelToken) -> requests.Session:
    """A session whose adapter retries as described in the module docstring."""
    retry = _Retry(total=None, connect=settings.max_retries, read=False, other=0,
                   status=settings.max_retries, status_forcelist=RETRY_STATUSES,
                   allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False,
                   respect_retry_after_header=True)
    retry.service, retry.token, retry.backoff_s = service, token, settings.backoff_s
    session = requests.Session()
    session.verify = True
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Client:
    """One service's HTTP side: URL, key headers, session, error mapping.

    ``key_headers`` turns the key into the service's auth headers.
    """

    def __init__(self, service: str, settings: Settings,
                 key_headers: Callable[[str], dict]):
        self.service, self.settings = service, settings
        self._key_headers = key_headers

    def __repr__(self) -> str:
        return f"<Client {self.service} {self.settings.base_url or 'official endpoint'}>"

    def fail(self, text: str, **kw) -> ProviderError:
        return ProviderError(self.scrub(f"{self.service}: {text}"), **kw)

    def scrub(self, text: str) -> str:
        """Hide the key in text a server may echo (a key under 8 characters is no secret,
        and replacing it would mangle ordinary words)."""
        key = self.settings.api_key.strip()
        return text.replace(key, "***") if len(key) >= 8 else text

    def url(self, official: str) -> str:
        """``official`` (a documented endpoint URL), or its path under ``Settings.base_url``
        when one is set (a proxy or a compatible server takes every endpoint's path)."""
        parts = urlsplit(official)
        base = (self.settings.base_url.strip() or f"{parts.scheme}://{parts.netloc}").rstrip("/")
        checked = urlsplit(base)
        if checked.scheme not in ("http", "https") or not checked.hostname:
            raise self.fail(f"the service URL {base!r} is not an http(s) address")
        return f"{base}/{parts.path.lstrip('/')}"

    def auth(self) -> _KeyAuth:
        """The key as the service's auth headers; fails before any socket opens without one."""
        key = self.settings.api_key.strip()
        if not key:
            raise self.fail("no API key set; add one in the add-on preferences")
        if not re.fullmatch(r"[\x21-\x7e]+", key):
            raise self.fail("the API key contains spaces or unusual characters; paste it again")
        return _KeyAuth(self._key_headers(key))

    def request(self, method: str, url: str, *, token: CancelToken = NEVER_CANCELLED,
                pace: Optional[Pacer] = None, **kwargs) -> requests.Response:
        """Send, retrying and pacing; a 2xx response or a :class:`ProviderError`."""
        auth = self.auth()
        token.check()
        if pace is not None:
            pace.wait(token)
        session = open_session(self.service, self.settings, token)
        try:
            response = session.request(method, url, auth=auth, timeout=self.settings.timeout_s,
                                       allow_redirects=False, **kwargs)
        except requests.RequestException as err:
            raise self._network_error(err, url) from None
        finally:
            session.close()
        token.check()
        if not 200 <= response.status_code < 300:
            raise self.status_error(response)
        return response

    def status_error(self, response: requests.Response, hints: Optional[dict] = None):
        """A non-2xx answer -> ProviderError; ``hints`` overrides the text per status."""
        status = response.status_code
        text = (hints or {}).get(status) or _STATUS_TEXT.get(status)
        if text is None:
            if 300 <= status < 400:
                text = "the service answered with a redirect; check the service URL"
            elif status >= 500:
                text = "the service is unavailable; try again later"
            else:
                text = "the request failed"
        detail = self.detail(response)
        return self.fail(f"{text} ({status})" + (f": {detail}" if detail else ""),
                         status=status, retryable=status in RETRY_STATUSES)

    def detail(self, response: requests.Response) -> str:
        """The service's own error text (JSON error/message/detail, or short plain text)."""
        ctype = response.headers.get("content-type", "")
        text = ""
        if "json" in ctype:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                found = next((body[k] for k in ("error", "message", "detail") if body.get(k)), "")
                if isinstance(found, list):  # FastAPI style: [{"msg": ...}, ...]
                    found = "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e)
                                      for e in found)
                text = str(found)
        elif ctype.startswith("text/plain") or (ctype.startswith("text/") and
                                                not response.text.lstrip().startswith("<")):
            text = response.text
        text = " ".join(text.split())
        if len(text) > DETAIL_CHARS:
            text = text[:DETAIL_CHARS - 1] + "\u2026"
        return text

    def json(self, response: requests.Response):
        try:
            return response.json()
        except ValueError:
            raise self.fail("the service sent an unreadable answer (invalid JSON)") from None

    def _network_error(self, err: requests.RequestException, url: str) -> ProviderError:
        host = urlsplit(url).hostname or url
        causes = list(_causes(err))
        if isinstance(err, requests.Timeout):
            return self.fail(f"no answer within {self.settings.timeout_s:g} s (timeout); "
                             "the service may be busy, try again", retryable=True)
        if isinstance(err, requests.exceptions.SSLError):
            return self.fail(f"the secure connection to {host} failed (TLS certificate "
                             "not trusted)")
        if isinstance(err, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return self.fail("the service URL is not valid; check it in the add-on preferences")
        if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError"
               or any(t in str(c).lower() for t in _DNS_TEXT) for c in causes):
            return self.fail(f"cannot find the server {host} (DNS lookup failed); check the "
                             "internet connection and the service URL", retryable=True)
        if any(isinstance(c, ConnectionRefusedError) or "refused" in str(c).lower()
               for c in causes):
            return self.fail(f"could not connect to {host} (connection refused)",
                             retryable=True)
        if any(isinstance(c, (ProtocolError, http.client.RemoteDisconnected,
                              ConnectionResetError)) for c in causes):
            return self.fail("the connection was dropped before the answer arrived",
                             retryable=True)
        if isinstance(err, requests.ConnectionError):
            return self.fail(f"could not connect to {host}", retryable=True)
        return self.fail(f"the request failed ({type(err).__name__})")


def _causes(err: BaseException, depth: int = 0):
    """The exception and what it wraps (urllib3 hides the socket error a few levels down)."""
    if err is None or depth > 8:
        return
    yield err
    inner = [getattr(err, "reason", None), err.__cause__, err.__context__]
    inner += [a for a in getattr(err, "args", ()) if isinstance(a, BaseException)]
    for sub in inner:
        if isinstance(sub, BaseException) and sub is not err:
            yield from _causes(sub, depth + 1)
