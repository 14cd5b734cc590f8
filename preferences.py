"""Add-on preferences. Property names are the public scripting interface: keep them.

Each remote provider's record (``providers.REMOTE``) gives it ``<service>_api_key`` and
``<service>_url`` (e.g. ``clipdrop_api_key``, ``clipdrop_url``); each capability has its
``<capability>_provider`` choice. API keys live only in memory for the Blender session (or
come from the record's environment variable, ``MAPSMITH_*_API_KEY``). The key properties have
getters and setters, so no value is stored in the preferences data and nothing reaches
userpref.blend or a scene .blend. Opting in to "Remember Keys on This Computer" also keeps
them in a file only the user can read (blender/keystore.py).
"""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from . import providers
from .blender import keystore
from .providers import ProviderRecord, Settings

_session_keys: dict[str, str] = {}   # service -> key, memory only
last_status: dict[str, str] = {}      # service -> last "Test connection" line (no key in it)
last_credits: dict[str, str] = {}     # provider id -> credits its service reported last


_SERVICES = {record.service: record for record in providers.REMOTE}


def _key_prop(record: ProviderRecord):
    service = record.service

    def get(_self):
        return _session_keys.get(service, "")

    def set(_self, value):
        _session_keys[service] = value.strip()
        if keystore.remembered():
            keystore.save(_session_keys)

    return StringProperty(
        name=f"{record.label} API Key", subtype="PASSWORD", get=get, set=set,
        description=(f"Never saved in a .blend or the preferences; kept for this session only, "
                     f"unless Remember Keys on This Computer is on. Leave empty to use the "
                     f"{record.key_env} environment variable"),
    )


def _drop_url_credentials(prefs, _context):
    """A user name or password typed into a URL preference is removed at once: preferences
    are saved to userpref.blend, and Mapsmith sends only the API key."""
    from .providers.scrubbing import url_credentials, without_credentials
    for prop in prefs.bl_rna.properties:
        name = prop.identifier
        if name.endswith("_url") and url_credentials(getattr(prefs, name)):
            setattr(prefs, name, without_credentials(getattr(prefs, name)))


def _url_prop(record: ProviderRecord):
    return StringProperty(
        name=f"{record.label} URL", default="", update=_drop_url_credentials,
        description=(f"Base URL of a proxy or compatible server. Empty: "
                     f"{' and '.join(record.official_bases)}"),
    )


def _provider_enum(capability: str, what: str):
    items = [(pid, providers.label(pid),
              f"Send images to {providers.label(pid)} (needs an API key and online access)"
              if providers.is_remote(pid) else "Runs on this computer: no account, no network")
             for pid in providers.offering(capability)]
    return EnumProperty(name=what, items=items, default="OFFLINE",
                        description=f"Which service computes {what.lower()}")


def api_key(prefs, service: str) -> str:
    """The key from the preferences, else from the environment; '' when neither is set."""
    return (getattr(prefs, f"{service}_api_key")
            or os.environ.get(_SERVICES[service].key_env, ""))


def provider_settings(prefs, provider_id: str) -> Settings:
    """What a provider needs, read on the main thread before a job starts."""
    record = providers.RECORDS[provider_id]
    if not record.remote:
        return Settings(timeout_s=prefs.timeout_s, max_retries=prefs.max_retries,
                        user_models_dir=models_folder())
    return Settings(api_key=api_key(prefs, record.service),
                    base_url=getattr(prefs, f"{record.service}_url"),
                    timeout_s=prefs.timeout_s, max_retries=prefs.max_retries)


# -- Remember Keys on This Computer (the file itself: blender/keystore.py) -----------------

def _get_remember(_self):
    return keystore.remembered()


def _set_remember(_self, value):
    if value:
        keystore.save(_session_keys)
    else:
        keystore.forget()


def restore_keys() -> None:
    """On enable: the remembered keys, if the user opted in."""
    _session_keys.update(keystore.load())


def drop_keys() -> None:
    """On disable: the keys leave memory (the remembered file stays)."""
    _session_keys.clear()


def draw_remember(layout, prefs) -> None:
    box = layout.box()
    box.prop(prefs, "remember_keys")
    col = box.column(align=True)
    if keystore.remembered():
        col.label(text="Keys are kept, readable only by you, in:", icon="LOCKED")
        col.label(text=keystore.path())
        row = col.row()
        row.operator("wm.path_open", text="Open Folder", icon="FILE_FOLDER").filepath = \
            keystore.folder()
        row.operator("mapsmith.forget_keys", icon="TRASH")
    else:
        col.label(text="Keys are forgotten when Blender closes", icon="UNLOCKED")


def models_folder(create: bool = False) -> str:
    """The user's folder of downloaded models (Blender's extension user folder, models/)."""
    return bpy.utils.extension_path_user(__package__, path="models", create=create)


def get(context=None) -> MapsmithPreferences:
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


def _bed_prop(axis: str, default: float):
    return FloatProperty(
        name=f"Bed {axis}", default=default, min=1.0, max=5000.0,
        description=f"Your printer's build volume along {axis}, in millimetres: Export for "
                    "3D Print warns when a print does not fit and can scale it down")


def bed_size_mm(prefs) -> tuple:
    return (prefs.bed_size_x, prefs.bed_size_y, prefs.bed_size_z)


def _draw_printing(prefs, layout):
    col = layout.column(heading="3D Printer Bed (mm)", align=True)
    for axis in "xyz":
        col.prop(prefs, f"bed_size_{axis}")


class MapsmithPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    # <service>_api_key and <service>_url of each remote provider: added below the class

    depth_provider: _provider_enum("depth", "Depth")
    normals_provider: _provider_enum("normals", "Normals")
    background_provider: _provider_enum("background", "Background")
    cleanup_provider: _provider_enum("cleanup", "Cleanup")

    remember_keys: BoolProperty(
        name="Remember Keys on This Computer", get=_get_remember, set=_set_remember,
        description="Keep the API keys in a file only your user account can read, in "
                    "Mapsmith's folder of your Blender user settings (never in a .blend or the "
                    "preferences). Turn off, or Forget Keys, to delete that file")
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
    use_disk_cache: BoolProperty(
        name="Keep Answers on Disk", default=False,
        description="Also keep the services' answers (depth, normals, masks) in the "
                    "extension's user folder, so re-running after a restart costs no credit. "
                    "Answers are always kept in memory for this session")

    # -- 3D printing (mapsmith.export_print) ------------------------------------------------
    bed_size_x: _bed_prop("X", 220.0)
    bed_size_y: _bed_prop("Y", 220.0)
    bed_size_z: _bed_prop("Z", 250.0)

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
        for service, record in _SERVICES.items():
            box = layout.box()
            box.label(text=record.label)
            box.prop(self, f"{service}_api_key")
            if not getattr(self, f"{service}_api_key") and os.environ.get(record.key_env):
                box.label(text=f"Using {record.key_env} from the environment", icon="CHECKMARK")
            box.prop(self, f"{service}_url")
            row = box.row()
            op = row.operator("mapsmith.test_connection", icon="URL")
            op.service = service
            if service in last_status:
                row.label(text=last_status[service])
        draw_remember(layout, self)
        col = layout.column(heading="Network")
        col.prop(self, "timeout_s")
        col.prop(self, "max_retries")
        self.draw_cache(layout)
        from .panels.models import draw_model_manager
        draw_model_manager(layout, self)
        _draw_printing(self, layout)

    def draw_cache(self, layout):
        """The answer cache: keep answers on disk (off by default) and Clear Cache."""
        row = layout.row()
        row.prop(self, "use_disk_cache")
        row.operator("mapsmith.clear_cache", icon="TRASH")


for _record in providers.REMOTE:
    MapsmithPreferences.__annotations__[f"{_record.service}_api_key"] = _key_prop(_record)
    MapsmithPreferences.__annotations__[f"{_record.service}_url"] = _url_prop(_record)
del _record

classes = (MapsmithPreferences,)
