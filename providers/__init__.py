"""Service clients and the offline provider behind one interface (see ``contract``). bpy-free."""

from __future__ import annotations

import importlib

from .contract import (BACKGROUND_MODES, CAPABILITIES, CancelToken, Cancelled, Credits,
                   Provider, ProviderError, Result, Settings)

# id -> (module, class name, label, capabilities, preference prefix for key/url or None)
REGISTRY = {
    "OFFLINE": ("offline", "OfflineProvider", "Offline (built in)",
                ("depth", "normals", "background", "cleanup"), None),
    "CLIPDROP": ("clipdrop", "ClipDropProvider", "ClipDrop",
                 ("depth", "normals", "cleanup"), "clipdrop"),
    "ERASE": ("erase", "EraseProvider", "Erase", ("cleanup",), "erase"),
    "BGREMOVAL": ("bgremoval", "BackgroundRemovalProvider", "Background Removal",
                  ("background",), "bgremoval"),
}

# Environment variables that stand in for an empty key preference.
KEY_ENV = {
    "clipdrop": "MAPSMITH_CLIPDROP_API_KEY",
    "erase": "MAPSMITH_ERASE_API_KEY",
    "bgremoval": "MAPSMITH_BGREMOVAL_API_KEY",
}


def offering(capability: str) -> list[str]:
    """Provider ids that offer ``capability``, offline first."""
    return [pid for pid, entry in REGISTRY.items() if capability in entry[3]]


def label(provider_id: str) -> str:
    return REGISTRY[provider_id][2]


def is_remote(provider_id: str) -> bool:
    return REGISTRY[provider_id][4] is not None


def create(provider_id: str, settings: Settings = Settings()) -> Provider:
    """Instantiate a provider; its module is imported only when first used."""
    try:
        module_name, class_name = REGISTRY[provider_id][:2]
    except KeyError:
        raise ProviderError(f"Unknown provider {provider_id!r}") from None
    module = importlib.import_module(f".{module_name}", __package__)
    return getattr(module, class_name)(settings)


__all__ = [
    "BACKGROUND_MODES", "CAPABILITIES", "CancelToken", "Cancelled", "Credits", "KEY_ENV",
    "Provider", "ProviderError", "REGISTRY", "Result", "Settings", "create", "is_remote",
    "label", "offering",
]
