"""Service clients and the offline provider behind one interface (see ``contract``). bpy-free.

Every module (or package) here other than the shared ``contract`` and ``http`` holds one
provider: a :class:`Provider` subclass whose ``record`` says what it is. The registry below is
read from those records, so adding a provider touches no file but its own.
"""

from __future__ import annotations

import importlib
import pkgutil

from .contract import (
    BACKGROUND_REMOVAL_MODES,
    OPTIONS,
    Cancelled,
    CancelToken,
    Credits,
    Provider,
    ProviderError,
    ProviderRecord,
    Result,
    Settings,
)

_SHARED = ("contract", "http")


def _discover() -> dict:
    """id -> provider class, the offline provider first, then by module name (the order of
    the enum items, whose positions the saved preferences keep)."""
    names = sorted((m.name for m in pkgutil.iter_modules(__path__) if m.name not in _SHARED),
                   key=lambda name: (name != "offline", name))
    found = {}
    for name in names:
        module = importlib.import_module(f".{name}", __package__)
        for cls in vars(module).values():
            if (isinstance(cls, type) and issubclass(cls, Provider) and "record" in vars(cls)
                    and cls.__module__ == module.__name__):
                if cls.record.id in found:
                    raise RuntimeError(f"two providers declare the id {cls.record.id!r}")
                found[cls.record.id] = cls
    return found


CLASSES = _discover()
RECORDS = {pid: cls.record for pid, cls in CLASSES.items()}
REMOTE = [record for record in RECORDS.values() if record.remote]  # the ones with a key and URL


def offering(capability: str) -> list[str]:
    """Provider ids that offer ``capability``, offline first."""
    return [pid for pid, record in RECORDS.items() if capability in record.capabilities]


def label(provider_id: str) -> str:
    return RECORDS[provider_id].label


def is_remote(provider_id: str) -> bool:
    return RECORDS[provider_id].remote


def options(provider: Provider, capability: str, **values) -> dict:
    """The options of a ``capability`` call (declared in ``contract.OPTIONS``) that
    ``provider`` honours; the others are left out, so every provider takes what it gets."""
    declared = OPTIONS[capability]
    unknown = set(values) - set(declared)
    if unknown:
        raise TypeError(f"{capability} declares no option {sorted(unknown)}")
    return {k: v for k, v in values.items() if provider.record.honours(capability, k)}


def create(provider_id: str, settings: Settings | None = None) -> Provider:
    """An instance of the provider ``provider_id``."""
    try:
        cls = CLASSES[provider_id]
    except KeyError:
        raise ProviderError(f"Unknown provider {provider_id!r}") from None
    return cls(settings)


__all__ = [
    "BACKGROUND_REMOVAL_MODES", "CLASSES", "CancelToken", "Cancelled", "Credits", "OPTIONS",
    "Provider", "ProviderError", "ProviderRecord", "RECORDS", "REMOTE", "Result", "Settings",
    "create", "is_remote", "label", "offering", "options",
]
