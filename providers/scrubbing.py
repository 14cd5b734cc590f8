"""Keeping secrets out of text: API keys and ``user:password@`` in service addresses.

bpy-free and dependency-free (the preferences use it to clean a typed URL without loading
``requests``). Every text that leaves :mod:`.http` for a message or a status line goes
through :func:`scrub` first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

# scheme://user:password@ (or user:password@ without a scheme) at the start of an address
_USERINFO = re.compile(r"^([^/?#@]*//)?([^/?#]*)@")
# the same anywhere in a text (a server or a library quoting an address)
_USERINFO_IN_TEXT = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s@]*@")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (as is, URL-quoted or JSON-escaped) replaced by ``***``
    and every ``user:password@`` in an address removed. Secrets of any length are masked;
    :class:`.http.Client` refuses keys too short to mask without mangling the message."""
    forms = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return _USERINFO_IN_TEXT.sub(r"\1***@", text)


def url_credentials(url: str) -> list:
    """The user name and password written into ``url`` (none: []), as typed and decoded."""
    found = _USERINFO.match(url.strip())
    if not found:
        return []
    userinfo = found.group(2)
    parts = [userinfo, *userinfo.split(":", 1)]
    return [p for part in parts for p in {part, unquote(part)} if p]


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed (an address safe to show or store)."""
    return _USERINFO.sub(lambda m: m.group(1) or "", url.strip(), count=1)
