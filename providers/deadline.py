"""One HTTP attempt's deadline: a watchdog that shuts the attempt's sockets when its time is
up or the user cancels, so a blocked connect, upload or read (or a server trickling its answer
byte by byte) returns at once. bpy-free.

:func:`open_session` gives a ``requests`` session whose connections (direct, and through an
HTTP proxy) hand every new socket to the running attempt's :class:`Watchdog`;
``with Watchdog(seconds, token):`` around the whole attempt, answer included.
"""

from __future__ import annotations

import socket
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .contract import CancelToken

WATCH_INTERVAL_S = 0.05          # how often the watchdog looks at the cancel token

_current = threading.local()  # the running attempt's Watchdog, in the requesting thread


class Watchdog:
    """One attempt's end: when ``seconds`` have passed or the token is cancelled, the
    attempt's sockets are shut down, so a blocked connect, upload or read (or a server
    trickling its answer byte by byte) returns at once. Use as a context manager around the
    whole attempt, answer included."""

    def __init__(self, seconds: float, token: CancelToken):
        self.seconds, self.token = seconds, token
        self.expired = False
        self._sockets: list = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mapsmith-http-deadline",
                                        daemon=True)

    def __enter__(self) -> Watchdog:
        self._end = time.monotonic() + self.seconds
        _current.watchdog = self
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        _current.watchdog = None
        self._done.set()
        self._thread.join()
        self._sockets.clear()

    def watch(self, sock) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def _watch(self) -> None:
        while not self._done.wait(min(WATCH_INTERVAL_S, max(0.0, self._end - time.monotonic()))):
            if self.token.cancelled or time.monotonic() >= self._end:
                with self._lock:
                    self.expired = not self.token.cancelled
                    sockets = list(self._sockets)
                for sock in sockets:
                    _shut(sock)
                return


def _shut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):  # already closed, or detached by TLS wrapping
        pass


def _watched(sock):
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None and sock is not None:
        watchdog.watch(sock)
    return sock


class _WatchedConnection:
    """Hands each new socket (and its TLS wrapper) to the running attempt's watchdog."""

    def _new_conn(self):
        return _watched(super()._new_conn())

    def connect(self):
        super().connect()
        _watched(self.sock)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = type("WatchedHTTPConnection", (_WatchedConnection, HTTPConnection), {})


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = type("WatchedHTTPSConnection", (_WatchedConnection, HTTPSConnection), {})


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with watched connections (directly and through an HTTP proxy)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **kwargs):
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


def open_session() -> requests.Session:
    """A session for one attempt: TLS verified, no retries of its own, watched sockets."""
    session = requests.Session()
    session.verify = True
    adapter = _Adapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
