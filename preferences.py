"""Add-on preferences. Property names are the public scripting interface: keep them.

API keys live only in memory for the Blender session (or come from the environment
variables ``MAPSMITH_*_API_KEY``). The key properties have getters and setters, so no value
is stored in the preferences data and nothing reaches userpref.blend or a scene .blend.
"""

from __future__ import annotations

import os

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from . import providers
from .providers import KEY_ENV, Settings

_session_keys: dict[str, str] = {}   # service -> key, memory only
last_status: dict[str, str] = {}      # service -> last "Test connection" line (no key in it)
last_credits: dict[str, str] = {}     # provider id -> credits its service reported last


def _key_prop(service: str, label: str):
    def get(_self):
        return _session_keys.get(service, "")

    def set(_self, value):
        _session_keys[service] = value.strip()

    return StringProperty(
        name=f"{label} API Key", subtype="PASSWORD", get=get, set=set,
        description=(f"Kept in memory for this session only, never saved. Leave empty to use "
                     f"the {KEY_ENV[service]} environment variable"),
    )


def _url_prop(label: str, official: str):
    return StringProperty(
        name=f"{label} URL", default="",
        description=f"Base URL of a proxy or compatible server. Empty: {official}",
    )


def _provider_enum(capability: str, what: str):
    items = [(pid, providers.label(pid),
              "Runs on this computer: no account, no network" if pid == "OFFLINE"
              else f"Send images to {providers.label(pid)} (needs an API key and online access)")
             for pid in providers.offering(capability)]
    return EnumProperty(name=what, items=items, default="OFFLINE",
                        description=f"Which service computes {what.lower()}")


def api_key(prefs, service: str) -> str:
    """The key from the preferences, else from the environment; '' when neither is set."""
    return getattr(prefs, f"{service}_api_key") or os.environ.get(KEY_ENV[service], "")


def provider_settings(prefs, provider_id: str) -> Settings:
    """What a provider needs, read on the main thread before a job starts."""
    service = providers.REGISTRY[provider_id][4]
    if service is None:
        return Settings(timeout_s=prefs.timeout_s, max_retries=prefs.max_retries,
                        user_models_dir=models_folder())
    return Settings(api_key=api_key(prefs, service), base_url=getattr(prefs, f"{service}_url"),
                    timeout_s=prefs.timeout_s, max_retries=prefs.max_retries)


def models_folder(create: bool = False) -> str:
    """The user's folder of downloaded models (Blender's extension user folder, models/)."""
    return bpy.utils.extension_path_user(__package__, path="models", create=create)


def get(context=None) -> "MapsmithPreferences":
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


class MapsmithPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    clipdrop_api_key: _key_prop("clipdrop", "ClipDrop")
    erase_api_key: _key_prop("erase", "Erase")
    bgremoval_api_key: _key_prop("bgremoval", "Background Removal")

    clipdrop_url: _url_prop("ClipDrop", "the official ClipDrop endpoints")
    erase_url: _url_prop("Erase", "https://www.aithriving.com")
    bgremoval_url: _url_prop("Background Removal", "https://background-removal4.p.rapidapi.com")

    depth_provider: _provider_enum("depth", "Depth")
    normals_provider: _provider_enum("normals", "Normals")
    background_provider: _provider_enum("background", "Background")
    cleanup_provider: _provider_enum("cleanup", "Cleanup")

    models_url: StringProperty(
        name="Models URL", default="",
        description="Where the model manager downloads learned models from: a mirror or a "
                    "local server with Hugging Face's layout. Empty: https://huggingface.co")

    timeout_s: FloatProperty(
        name="Timeout", default=60.0, min=1.0, max=600.0, subtype="TIME_ABSOLUTE", unit="TIME",
        description="Seconds to wait for a service before giving up on a request")
    max_retries: IntProperty(
        name="Retries", default=3, min=0, max=10,
        description="How often a rate-limited (429) or failing (5xx) request is retried, "
                    "with growing pauses that honour the service's Retry-After")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        col = layout.column(heading="Providers")
        for prop in ("depth_provider", "normals_provider", "background_provider",
                     "cleanup_provider"):
            col.prop(self, prop)
        if not bpy.app.online_access:
            box = layout.box()
            box.label(text="Online access is off: only the offline provider can run", icon="INFO")
            box.label(text="Turn it on in Preferences > System > Network to use a service")
        for service, label in (("clipdrop", "ClipDrop"), ("erase", "Erase"),
                               ("bgremoval", "Background Removal")):
            box = layout.box()
            box.label(text=label)
            box.prop(self, f"{service}_api_key")
            if not getattr(self, f"{service}_api_key") and os.environ.get(KEY_ENV[service]):
                box.label(text=f"Using {KEY_ENV[service]} from the environment", icon="CHECKMARK")
            box.prop(self, f"{service}_url")
            row = box.row()
            op = row.operator("mapsmith.test_connection", icon="URL")
            op.service = service
            if service in last_status:
                row.label(text=last_status[service])
        col = layout.column(heading="Network")
        col.prop(self, "timeout_s")
        col.prop(self, "max_retries")
        from .panels.models import draw_model_manager
        draw_model_manager(layout, self)


classes = (MapsmithPreferences,)
