"""The "Mapsmith" sidebar tab in the 3D View and the Image Editor. Drawing only."""

import bpy

from .. import preferences
from ..blender import sources


def _draw_source(layout, context):
    try:
        image = sources.find_image(context)
    except sources.SourceError:
        image = None
    if image is not None:
        layout.label(text=image.name, icon="IMAGE_DATA")
    elif sources.has_source(context):
        layout.label(text="Last render", icon="RENDER_RESULT")
    else:
        layout.label(text="No image: open one or select an Image Texture node", icon="INFO")


class _MapsmithPanel:
    bl_region_type = "UI"
    bl_category = "Mapsmith"


class _MainPanel(_MapsmithPanel):
    bl_label = "Mapsmith"

    def draw(self, context):
        layout = self.layout
        prefs = preferences.get(context)
        _draw_source(layout, context)

        col = layout.column(align=True)
        col.operator("mapsmith.material_setup", icon="MATERIAL")
        col.separator()
        col.operator("mapsmith.depth_relief", icon="MOD_DISPLACE")
        col.operator("mapsmith.normal_map", icon="NORMALS_FACE")
        row = col.row(align=True)
        row.operator("mapsmith.remove_background", text="Cutout", icon="IMAGE_RGB_ALPHA").mode = "CUTOUT"
        row.operator("mapsmith.remove_background", text="Mask", icon="IMAGE_ALPHA").mode = "MASK"

        box = layout.box()
        box.label(text="Texture Cleanup", icon="BRUSH_DATA")
        col = box.column(align=True)
        col.operator("mapsmith.cleanup_paint_mask", icon="BRUSH_DATA")
        col.operator("mapsmith.cleanup_apply", icon="CHECKMARK")

        box = layout.box()
        box.use_property_split = True
        box.label(text="Providers", icon="WORLD")
        for prop in ("depth_provider", "normals_provider", "background_provider",
                     "cleanup_provider"):
            box.prop(prefs, prop)
        if not bpy.app.online_access:
            box.label(text="Online access off: offline only", icon="INFO")


class MAPSMITH_PT_view3d(_MainPanel, bpy.types.Panel):
    bl_idname = "MAPSMITH_PT_view3d"
    bl_space_type = "VIEW_3D"


class MAPSMITH_PT_image(_MainPanel, bpy.types.Panel):
    bl_idname = "MAPSMITH_PT_image"
    bl_space_type = "IMAGE_EDITOR"


classes = (MAPSMITH_PT_view3d, MAPSMITH_PT_image)
