"""The provider interface every service client and the offline provider implement.

bpy-free. Images cross this boundary as numpy arrays in the usual image orientation
(row 0 is the TOP row), display-referred 8-bit:

- ``rgb``:    uint8 (H, W, 3) or (H, W, 4); a provider ignores alpha unless it says otherwise.
- depth:      float32 (H, W) in 0..1, 1 = nearest to the camera, 0 = background (ClipDrop's
              convention: "0 outside the person").
- normals:    uint8 (H, W, 3) encoded as ClipDrop encodes them: RGB = XYZ mapped from -1..1
              to 0..255, X right, Y up (OpenGL), Z towards the viewer; background (128,128,255).
- background: CUTOUT / CUTOUT_SHADOW -> uint8 (H, W, 4) RGBA; MASK -> uint8 (H, W), 255 = person.
- cleanup:    image uint8 (H, W, 3) and mask uint8 (H, W), 0 = keep, >0 = clean up (grey =
              strength where the service supports it) -> uint8 (H, W, 3) of the same size.

Every result comes back at the size of its input. Every failure a user can meet is raised as
:class:`ProviderError` with a message an artist understands; API keys never appear in it.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..core.errors import NEVER_CANCELLED, CancelToken, Cancelled, ProviderError

CAPABILITIES = ("depth", "normals", "background", "cleanup")
BACKGROUND_MODES = ("CUTOUT", "CUTOUT_SHADOW", "MASK")


@dataclasses.dataclass(frozen=True)
class Credits:
    """What a service reports about credits (``None`` where it does not say)."""

    remaining: Optional[int] = None
    consumed: Optional[int] = None
    provider: str = ""  # id of the provider whose service reported them ("CLIPDROP", ...)

    def __str__(self) -> str:
        parts = []
        if self.remaining is not None:
            parts.append(f"{self.remaining} credits left")
        if self.consumed is not None:
            parts.append(f"{self.consumed} used")
        return ", ".join(parts)


@dataclasses.dataclass
class Result:
    image: np.ndarray
    credits: Optional[Credits] = None
    note: str = ""  # e.g. "approximate depth (offline)"; shown to the user after the run


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a provider needs from the preferences, captured on the main thread.

    ``api_key`` is excluded from ``repr`` so it can never reach a log line by accident.
    """

    api_key: str = dataclasses.field(default="", repr=False)
    base_url: str = ""  # empty = the documented official endpoint
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5  # first wait before a retry; doubles each time, capped (http.py)
    user_models_dir: str = ""  # offline: the folder of downloaded models ("" = none)


class Provider:
    """Base class. Subclasses set ``id``, ``label``, ``capabilities`` and implement those."""

    id = ""
    label = ""
    capabilities: frozenset = frozenset()
    remote = True  # False only for the offline provider: needs no network and no key

    def __init__(self, settings: Settings = Settings()):
        self.settings = settings

    def __repr__(self) -> str:  # never shows the key
        return f"<{type(self).__name__} {self.settings.base_url or 'official endpoint'}>"

    def _unsupported(self, capability: str):
        raise ProviderError(f"{self.label} does not offer {capability}")

    def depth(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        self._unsupported("depth")

    def normals(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        self._unsupported("surface normals")

    def background(self, rgb: np.ndarray, mode: str = "CUTOUT", *,
                   cancel: CancelToken = NEVER_CANCELLED) -> Result:
        self._unsupported("background removal")

    def cleanup(self, rgb: np.ndarray, mask: np.ndarray, *,
                cancel: CancelToken = NEVER_CANCELLED) -> Result:
        self._unsupported("cleanup")

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """A one-line status for the "Test connection" button (credits where reported)."""
        return f"{self.label}: ready"
