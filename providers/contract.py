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

import numpy as np

# Cancelled is re-exported: the contract names every error a provider may raise.
from ..core.errors import NEVER_CANCELLED, Cancelled, CancelToken, ProviderError  # noqa: F401

BACKGROUND_REMOVAL_MODES = ("CUTOUT", "CUTOUT_SHADOW", "MASK")

# Options a capability call takes beyond its images (keyword-only, with these defaults). The
# operators always pass them; a provider honours those its record lists under ``options``
# and ignores the others (a service cannot, say, keep the person out of its inpainting).
OPTIONS = {
    "depth": {},
    "normals": {},
    "background": {},
    "cleanup": {"exclude_person": False},  # never copy from the person (the selfie mask)
}


@dataclasses.dataclass(frozen=True)
class ProviderRecord:
    """Everything the add-on knows about a provider without running it, declared once as the
    provider class's ``record``. The registry (``providers.RECORDS``), the preferences (enum
    items, ``<service>_api_key`` / ``<service>_url`` fields, the environment variable) and Test
    Connection are derived from it, so a new provider is one module (plus its fake service
    and tests): subclass :class:`Provider`, set ``record``, implement its capabilities.
    """

    id: str                       # enum identifier in preferences and operators: "CLIPDROP"
    label: str                    # what the artist reads everywhere: "ClipDrop"
    capabilities: frozenset       # of the keys of OPTIONS
    service: str = ""             # preference prefix of a remote one: clipdrop_api_key, ..._url
    key_env: str = ""             # environment variable standing in for an empty key preference
    endpoints: tuple = ()         # (name, official URL) pairs, as the service's document gives them
    options: tuple = ()           # (capability, (option, ...)) pairs this provider honours

    def __post_init__(self):
        unknown = set(self.capabilities) - set(OPTIONS)
        if unknown:
            raise ValueError(f"{self.id}: unknown capabilities {sorted(unknown)}")
        for capability, names in self.options:
            if capability not in self.capabilities or not set(names) <= set(OPTIONS[capability]):
                raise ValueError(f"{self.id}: {capability} options {names} are not declared")
        if self.remote and not (self.service and self.key_env):
            raise ValueError(f"{self.id}: a remote provider needs a service name and a key_env")

    @property
    def remote(self) -> bool:
        """Whether it sends images over the network (and so needs a key and online access)."""
        return bool(self.endpoints)

    def endpoint(self, name: str) -> str:
        """The official URL of one endpoint (``Settings.base_url`` may stand in for its base)."""
        return dict(self.endpoints)[name]

    @property
    def official_bases(self) -> tuple:
        """The scheme://host of each official endpoint, in order, without repeats."""
        bases = [url.split("/", 3)[:3] for _name, url in self.endpoints]
        return tuple(dict.fromkeys("/".join(parts) for parts in bases))

    def honours(self, capability: str, option: str) -> bool:
        return option in dict(self.options).get(capability, ())


@dataclasses.dataclass(frozen=True)
class Credits:
    """What a service reports about credits (``None`` where it does not say)."""

    remaining: int | None = None
    consumed: int | None = None
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
    credits: Credits | None = None
    note: str = ""  # e.g. "approximate depth (offline)"; shown to the user after the run


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a provider needs from the preferences, captured on the main thread.

    ``api_key`` and ``base_url`` (which may hold ``user:password@``) are excluded from
    ``repr`` so they can never reach a log line by accident.
    """

    api_key: str = dataclasses.field(default="", repr=False)
    base_url: str = dataclasses.field(default="", repr=False)  # empty = the official one
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5  # first wait before a retry; doubles each time, capped (http.py)
    user_models_dir: str = ""  # offline: the folder of downloaded models ("" = none)


class Provider:
    """Base class. A subclass sets ``record`` (a :class:`ProviderRecord`) and implements the
    methods of the capabilities it lists; each method takes its ``OPTIONS`` as keywords."""

    record: ProviderRecord

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def label(self) -> str:
        return self.record.label

    @property
    def capabilities(self) -> frozenset:
        return self.record.capabilities

    @property
    def remote(self) -> bool:
        return self.record.remote

    def __init__(self, settings: Settings | None = None):
        self.settings = settings if settings is not None else Settings()

    def __repr__(self) -> str:  # never shows the key, nor a password in the URL
        from .scrubbing import without_credentials
        shown = without_credentials(self.settings.base_url) or "official endpoint"
        return f"<{type(self).__name__} {shown}>"

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
                cancel: CancelToken = NEVER_CANCELLED, exclude_person: bool = False) -> Result:
        self._unsupported("cleanup")

    def cache_identity(self) -> str:
        """What, besides the request itself, decides this provider's answers (the answer
        cache keys on it): the service's address; the offline provider adds its models."""
        return self.settings.base_url

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """A one-line status for the "Test connection" button (credits where reported)."""
        return f"{self.label}: ready"
