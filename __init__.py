# SPDX-License-Identifier: GPL-3.0-or-later
"""Mapsmith: relief meshes, normal maps and alpha cutouts from portraits; texture cleanup.

Layout: ``core/`` and ``providers/`` are bpy-free (numpy + Pillow + requests); ``blender/``,
``operators/``, ``panels/`` and ``preferences.py`` are the thin Blender layer.
"""

import bpy

from . import operators, panels, preferences
from .blender import cleanup_undo
from .operators import job_operator

_classes = (*preferences.classes, *operators.classes, *panels.classes)


def register():
    for cls in _classes:
        bpy.utils.register_class(cls)
    panels.places.append_menus()
    preferences.restore_keys()
    cleanup_undo.register()
    job_operator.register()
    bpy.types.TOPBAR_MT_file_export.append(operators.export_print.menu_func)


def unregister():
    bpy.types.TOPBAR_MT_file_export.remove(operators.export_print.menu_func)
    job_operator.unregister()      # running jobs end first (their timers, their threads)
    cleanup_undo.unregister()
    panels.places.remove_menus()
    preferences.drop_keys()
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
