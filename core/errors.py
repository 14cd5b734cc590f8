"""The errors Mapsmith shows to artists, and the cancel token work checks. bpy-free.

Every failure a user can cause is a :class:`MapsmithError` whose ``str()`` is a message fit to
show in Blender's status bar: it says what went wrong and what to do. Anything else that
escapes is a bug, reported as an internal error by the job runner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class MapsmithError(Exception):
    """A failure with a message fit to show an artist (``str(err)``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(MapsmithError, ValueError):
    """The data handed to a core function cannot be used (a flat depth map, a mask that
    covers the whole image, a resolution out of range). Also a ``ValueError``."""


class SourceError(MapsmithError):
    """No usable source image; the message tells the user what to do."""


class ProviderError(MapsmithError):
    """A provider (a service or the offline models) could not deliver."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Cancelled(MapsmithError):
    """The user cancelled (Esc or the Cancel button) while the work was running."""

    def __init__(self, message: str = "Cancelled"):
        super().__init__(message)


class CancelToken:
    """Handed to long work: check it between steps; raise :class:`Cancelled` when set."""

    def __init__(self, on_progress: Callable[[float, str], None] | None = None):
        self._event = threading.Event()
        self._on_progress = on_progress

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> None:
        """Sleep that wakes up (and raises) as soon as the user cancels."""
        if self._event.wait(seconds):
            raise Cancelled()

    def progress(self, fraction: float, text: str = "") -> None:
        self.check()
        if self._on_progress is not None:
            self._on_progress(max(0.0, min(1.0, fraction)), text)

    def part(self, start: float, end: float, prefix: str = "") -> CancelToken:
        """A token for one part of the work: its progress 0..1 shows as ``start``..``end``
        of this one (one progress bar for several requests); cancelling is shared."""
        sub = CancelToken(lambda f, text: self.progress(start + (end - start) * f,
                                                        prefix + text))
        sub._event = self._event
        return sub


NEVER_CANCELLED = CancelToken()
"""For callers with nothing to cancel: never set (nobody holds a reference that cancels it)."""
