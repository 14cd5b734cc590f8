"""The model manager box of the add-on preferences. Drawing only."""

from __future__ import annotations

import pathlib

import bpy

from ..providers.offline import downloads, learned


def _state(info, folder: pathlib.Path) -> tuple[str, str]:
    """(text, icon) of a model's state: installed, partly downloaded, or not there."""
    if downloads.installed(info, folder):
        return "Installed", "CHECKMARK"
    part = downloads.partial_bytes(info, folder)
    if part:
        return (f"Partly downloaded ({part / 1e6:.1f} of {info.size_mb:.0f} MB): Download "
                "resumes"), "TIME"
    return "Not installed: the built-in method is used", "DOT"


def draw_model_manager(layout, prefs) -> None:
    from .. import preferences
    folder = pathlib.Path(preferences.models_folder())
    box = layout.box()
    box.label(text="Learned Models (optional)", icon="FILE_3D")
    box.label(text="Downloaded only when you click Download; each replaces a built-in method")
    if not bpy.app.online_access:
        box.label(text="Online access is off: turn it on in Preferences > System > Network "
                       "to download", icon="INFO")
    box.prop(prefs, "models_url")
    for info in learned.CATALOGUE:
        sub = box.box()
        row = sub.row()
        row.label(text=f"{info.label}  ({info.licence}, {info.size_mb:.0f} MB)")
        installed = downloads.installed(info, folder)
        op = row.operator("mapsmith.download_model", text="Download", icon="IMPORT")
        op.model = info.id
        remove = row.row()
        remove.enabled = installed or bool(downloads.partial_bytes(info, folder))
        remove.operator("mapsmith.remove_model", text="Remove", icon="TRASH").model = info.id
        sub.label(text=f"Improves: {info.improves}")
        text, icon = _state(info, folder)
        sub.label(text=text, icon=icon)
    box.label(text=f"Folder: {folder}")
