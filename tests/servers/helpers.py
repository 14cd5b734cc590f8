"""Pytest fixtures and helpers for tests that talk to :class:`FakeServices`.

Import the fixtures into a test module (``from ...helpers import services, loopback_only``);
``loopback_only`` is autouse there: every name but loopback fails to resolve without a DNS
query leaving the machine (names under ``.invalid`` fail as RFC 6761 lets a resolver do).
"""

from __future__ import annotations

import socket
import traceback

import numpy as np
import pytest

from .fake_services import FakeServices

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def services():
    with FakeServices() as srv:
        yield srv


def fast(**kw):
    """Settings values that keep a fault test quick."""
    return {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.01, **kw}


def portrait(w: int = 64, h: int = 48) -> np.ndarray:
    """A plain light background with a dark "person" rectangle in the middle."""
    img = np.full((h, w, 3), 210, np.uint8)
    img[h // 5:h - h // 8, w // 3:w - w // 3] = (40, 70, 110)
    return img


def assert_no_secret(err: BaseException, key: str) -> None:
    """The key is nowhere in the message, repr or formatted traceback."""
    text = str(err) + repr(err) + "".join(traceback.format_exception(err))
    assert key not in text
