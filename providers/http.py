"""The HTTP side every service client shares: sessions, deadlines, size caps, retries,
pacing, error messages.

bpy-free. Decisions that hold for every service:

- ``Settings.timeout_s`` bounds each attempt as a whole (connect, upload, answer), not each
  socket read: a watchdog (:mod:`.deadline`) shuts the attempt's socket when its time is up
  (or the user cancels), so a server trickling its answer cannot hold a job. All attempts of
  one call, and the pauses between them, end within ``(max_retries + 1) * timeout_s``.
- Answers are streamed and capped: the caller says how many bytes its answer can
  legitimately take (``max_bytes``, derived from the service's document); a bigger answer,
  announced or not, fails as soon as it is seen, without being read. Error answers are read
  only as far as their message (:data:`ERROR_BODY_BYTES`).
- TLS is verified; redirects are not followed (a redirect would carry the key header to
  another host).
- Secrets: the key travels in an auth object, so it is neither in ``repr`` nor replaced by
  ``.netrc``; a key shorter than :data:`MIN_KEY_CHARS` or with odd characters is refused
  before any socket opens; a service URL holding a user name or password is refused, never
  echoed. Every text that leaves this module for a message or status line (errors, the
  service's own words) goes through :func:`.scrubbing.scrub` first.
- 429 and 5xx are retried (POST too: failed calls are not charged) up to
  ``Settings.max_retries`` times, honouring Retry-After, else backing off from
  ``Settings.backoff_s``; all waits go through the :class:`CancelToken`, so Esc works. A
  Retry-After beyond :data:`MAX_RETRY_AFTER_S` (or beyond the call's deadline) is reported
  rather than slept through. Connection failures are retried the same way; read failures and
  timeouts are not (the service may already have done, and charged, the work).
- A client-side :class:`.pacing.Pacer` keeps a batch under a service's per-minute limit.
- Every failure becomes a :class:`ProviderError` prefixed by the service's name.
"""

from __future__ import annotations

import email.utils
import http.client
import math
import re
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
import requests.auth
from urllib3.exceptions import ConnectTimeoutError, ProtocolError

from .contract import NEVER_CANCELLED, CancelToken, Credits, ProviderError, Settings
from .deadline import Watchdog, open_session
from .pacing import Pacer
from .scrubbing import scrub, url_credentials, without_credentials

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 10.0
MAX_RETRY_AFTER_S = 60.0
DETAIL_CHARS = 300  # of a service's own error text
MIN_KEY_CHARS = 8   # every key these services issue is far longer; shorter is a typo
DEFAULT_ANSWER_BYTES = 1 << 20   # an answer without an image (version, modes, a JSON note)
ERROR_BODY_BYTES = 64 << 10      # of an error answer: its message is at the start
CHUNK_BYTES = 64 << 10

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


def credits_from(response: requests.Response, provider: str = "") -> Credits | None:
    """x-remaining-credits / x-credits-consumed, where the service sends them."""
    def number(name):
        try:
            return int(float(response.headers[name]))
        except (KeyError, ValueError, OverflowError):
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


class _NotSent(Exception):
    """The connection never stood (DNS, refused, connect timeout): safe to send again."""

    def __init__(self, error: ProviderError):
        super().__init__(error.message)
        self.error = error


class _TooLarge(Exception):
    def __init__(self, announced: int | None = None):
        super().__init__()
        self.announced = announced


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), None when absent or unreadable."""
    value = (response.headers.get("retry-after") or "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.1f} GB"


# -- the client ---------------------------------------------------------------------------
class Client:
    """One service's HTTP side: URL, key headers, deadline, size cap, retries, messages.

    ``key_headers`` turns the key into the service's auth headers.
    """

    def __init__(self, service: str, settings: Settings,
                 key_headers: Callable[[str], dict]):
        self.service, self.settings = service, settings
        self._key_headers = key_headers

    def __repr__(self) -> str:
        base = without_credentials(self.settings.base_url) or "official endpoint"
        return f"<Client {self.service} {self.scrub(base)}>"

    # -- text that leaves this module ---------------------------------------------------
    def _secrets(self) -> list:
        key = self.settings.api_key
        return [key, key.strip(), *url_credentials(self.settings.base_url)]

    def scrub(self, text: str) -> str:
        """Hide this client's key and URL credentials in ``text`` (see :func:`scrub`)."""
        return scrub(text, self._secrets())

    def fail(self, text: str, **kw) -> ProviderError:
        return ProviderError(self.scrub(f"{self.service}: {text}"), **kw)

    def quote(self, text, limit: int = DETAIL_CHARS) -> str:
        """A service's own words, fit for a message: scrubbed (before shortening, so no part
        of a key survives a cut), on one line, printable, at most ``limit`` characters."""
        text = self.scrub(str(text))
        text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
        return text if len(text) <= limit else text[:limit - 1] + "\u2026"

    # -- checks before any socket opens ---------------------------------------------------
    def url(self, official: str) -> str:
        """``official`` (a documented endpoint URL), or its path under ``Settings.base_url``
        when one is set (a proxy or a compatible server takes every endpoint's path)."""
        official_parts = urlsplit(official)
        base = (self.settings.base_url.strip()
                or f"{official_parts.scheme}://{official_parts.netloc}").rstrip("/")
        shown = self.scrub(without_credentials(base))
        try:
            parts = urlsplit(base)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError:
            raise self.fail(f"the service URL {shown!r} is not a valid address; fix or clear "
                            "it in the add-on preferences") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(f"the service URL {shown!r} is not an http(s) address; fix or "
                            "clear it in the add-on preferences")
        if url_credentials(base):
            raise self.fail(f"the service URL {shown!r} holds a user name or password; remove "
                            "it (Mapsmith sends only the API key)")
        return f"{base}/{official_parts.path.lstrip('/')}"

    def auth(self) -> _KeyAuth:
        """The key as the service's auth headers; fails before any socket opens without one."""
        key = self.settings.api_key.strip()
        # These messages are built without the key, and never scrubbed: masking a very
        # short key would mangle the message around it (and so reveal it).
        if not key:
            raise ProviderError(f"{self.service}: no API key set; add one in the add-on "
                                "preferences")
        if not re.fullmatch(r"[\x21-\x7e]+", key):
            raise ProviderError(f"{self.service}: the API key contains spaces or unusual "
                                "characters; paste it again")
        if len(key) < MIN_KEY_CHARS:
            raise ProviderError(f"{self.service}: the API key is too short to be a real key; "
                                "paste the whole key from the service's dashboard")
        return _KeyAuth(self._key_headers(key))

    def _timeout(self) -> float:
        value = self.settings.timeout_s
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise ProviderError(f"{self.service}: the Timeout preference (timeout_s) is "
                                f"{value!r}, not a number of seconds; set it to 1..600 "
                                "(60 is the default)")
        return float(value)

    # -- the request ----------------------------------------------------------------------
    def request(self, method: str, url: str, *, token: CancelToken = NEVER_CANCELLED,
                pace: Pacer | None = None, max_bytes: int = DEFAULT_ANSWER_BYTES,
                **kwargs) -> requests.Response:
        """Send, retrying and pacing; a 2xx response whose body (at most ``max_bytes``) is
        already read, or a :class:`ProviderError`."""
        auth = self.auth()
        timeout = self._timeout()
        retries = max(0, int(self.settings.max_retries))
        token.check()
        if pace is not None:
            pace.wait(token)
        end = time.monotonic() + timeout * (retries + 1)
        for attempt in range(retries + 1):
            seconds = min(timeout, end - time.monotonic())
            try:
                response = self._attempt(method, url, auth, seconds, max_bytes, token, kwargs)
            except _NotSent as failed:
                if attempt == retries:
                    raise failed.error from None
                self._pause(None, attempt, end, token, failed.error)
                continue
            if 200 <= response.status_code < 300:
                return response
            error = self.status_error(response)
            if response.status_code not in RETRY_STATUSES or attempt == retries:
                raise error
            self._pause(response, attempt, end, token, error)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _pause(self, response, attempt: int, end: float, token: CancelToken,
               error: ProviderError) -> None:
        """Wait before the next attempt, or raise when the wait is too long to be worth it."""
        asked = _retry_after(response) if response is not None else None
        delay = asked if asked is not None else min(
            MAX_BACKOFF_S, self.settings.backoff_s * 2 ** attempt)
        if asked is not None and (asked > MAX_RETRY_AFTER_S or
                                  time.monotonic() + asked >= end):
            raise self.fail(f"the service is busy and asks to wait {asked:.0f} s; try again "
                            "later", status=response.status_code, retryable=True)
        if time.monotonic() + delay >= end:
            raise error from None
        token.wait(delay)

    def _attempt(self, method, url, auth, seconds, max_bytes, token, kwargs):
        """One request within ``seconds``, its answer read (capped); no retry here."""
        if seconds <= 0:
            raise self._timed_out()
        session = open_session()
        response = None
        with Watchdog(seconds, token) as watchdog:
            try:
                response = session.request(method, url, auth=auth, timeout=(seconds, seconds),
                                           allow_redirects=False, stream=True, **kwargs)
                ok = 200 <= response.status_code < 300
                self._read(response, max_bytes if ok else ERROR_BODY_BYTES, strict=ok)
            except _TooLarge as err:
                raise self._too_large(max_bytes, err.announced) from None
            except (requests.RequestException, OSError, ValueError,
                    http.client.HTTPException) as err:
                token.check()
                if watchdog.expired:
                    raise self._timed_out() from None
                error = self._network_error(err, url)
                if _never_connected(err):
                    raise _NotSent(error) from None
                raise error from None
            finally:
                if response is not None:
                    response.close()
                session.close()
        token.check()
        if watchdog.expired:
            raise self._timed_out()
        return response

    @staticmethod
    def _read(response: requests.Response, limit: int, *, strict: bool) -> None:
        """Read the body into ``response.content``, at most ``limit`` bytes: beyond them
        :class:`_TooLarge` when ``strict``, else the rest is left unread (an error page)."""
        announced = response.headers.get("content-length", "").strip()
        if strict and announced.isdigit() and int(announced) > limit:
            raise _TooLarge(int(announced))
        chunks, total = [], 0
        for chunk in response.iter_content(CHUNK_BYTES):
            total += len(chunk)
            if total > limit:
                if strict:
                    raise _TooLarge()
                chunks.append(chunk[:limit - (total - len(chunk))])
                break
            chunks.append(chunk)
        # requests keeps the body it read in _content (its own Response.content does so).
        response._content = b"".join(chunks)
        response._content_consumed = True

    def _timed_out(self) -> ProviderError:
        return self.fail(f"no answer within {self.settings.timeout_s:g} s (timeout); the "
                         "service may be busy, try again", retryable=True)

    def _too_large(self, limit: int, announced: int | None) -> ProviderError:
        size = f"{_megabytes(announced)} announced; " if announced else ""
        return self.fail(f"the answer is too large ({size}at most {_megabytes(limit)} "
                         "expected), so it was not read; the server at this address does not "
                         "behave like the service: try again, or check the service URL")

    def status_error(self, response: requests.Response, hints: dict | None = None):
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
        return self.quote(text)

    def text(self, response: requests.Response, limit: int = DETAIL_CHARS) -> str:
        """A plain-text answer (e.g. a version), fit for a status line (see :meth:`quote`)."""
        return self.quote(response.text, limit)

    def json(self, response: requests.Response):
        try:
            return response.json()
        except ValueError:
            raise self.fail("the service sent an unreadable answer (invalid JSON)") from None

    def _network_error(self, err: BaseException, url: str) -> ProviderError:
        host = urlsplit(url).hostname or "the server"
        causes = list(_causes(err))
        if isinstance(err, requests.Timeout):
            return self._timed_out()
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
        if any(isinstance(c, (ProtocolError, http.client.HTTPException, ConnectionResetError,
                              BrokenPipeError)) for c in causes) \
                and not _never_connected(err):
            return self.fail("the connection was dropped before the answer arrived",
                             retryable=True)
        if isinstance(err, (requests.ConnectionError, OSError)):
            return self.fail(f"could not connect to {host}", retryable=True)
        return self.fail(f"the request failed ({type(err).__name__})")


def _never_connected(err: BaseException) -> bool:
    """True when the failure came before a connection stood (nothing was sent)."""
    return any(isinstance(c, (ConnectTimeoutError, socket.gaierror, ConnectionRefusedError))
               for c in _causes(err))


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
