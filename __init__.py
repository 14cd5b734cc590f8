# SPDX-License-Identifier: GPL-3.0-or-later
"""Mapsmith: relief meshes, normal maps, alpha cutouts and texture cleanup from photos.

Layout: ``core/`` and ``providers/`` are bpy-free (numpy + Pillow + requests); ``blender/``,
``operators/``, ``panels/`` and ``preferences.py`` are the thin Blender layer.
"""

import bpy

from . import operators, panels, preferences
from .blender import cleanup_undo

_classes = (*preferences.classes, *operators.classes, *panels.classes)


def register():
    for cls in _classes:
        bpy.utils.register_class(cls)
    cleanup_undo.register()
    bpy.types.TOPBAR_MT_file_export.append(operators.export_print.menu_func)


def unregister():
    bpy.types.TOPBAR_MT_file_export.remove(operators.export_print.menu_func)
    cleanup_undo.unregister()
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
