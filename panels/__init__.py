"""The "Mapsmith" sidebar tab in the 3D View and the Image Editor. Drawing only."""

import bpy

from .. import preferences, providers
from ..blender import job_session, sources
from ..operators import background, batch, lithophane, material, normals, relief
from . import places


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


# -- Running jobs: progress and Cancel ----------------------------------------------------------
def draw_running_jobs(layout):
    """Each running job: a progress bar with what it is doing, and its Cancel button (Esc over
    the area it was started from cancels too). Drawn from the live job sessions only, so
    nothing stays behind when a job ends, whatever window or workspace is showing."""
    for session in job_session.running():
        row = layout.row(align=True)
        row.progress(factor=session.progress, type="BAR", text=session.text)
        op = row.operator("mapsmith.cancel_job", text="Cancel", icon="CANCEL")
        op.job = session.owner


class _MapsmithPanel:
    bl_region_type = "UI"
    bl_category = "Mapsmith"


class _MainPanel(_MapsmithPanel):
    bl_label = "Mapsmith"

    def draw(self, context):
        layout = self.layout
        prefs = preferences.get(context)
        draw_running_jobs(layout)
        _draw_source(layout, context)

        layout.operator("mapsmith.material_setup", icon="MATERIAL")

        box = layout.box()
        box.label(text="Texture Cleanup", icon="BRUSH_DATA")
        col = box.column(align=True)
        col.operator("mapsmith.cleanup_paint_mask", icon="BRUSH_DATA")
        props = _options(context, "mapsmith.cleanup_apply")
        if props is not None:
            row = box.row(align=True)
            row.prop(props, "grow")
            row.prop(props, "keep_mask", toggle=True)
            chosen = providers.RECORDS[preferences.get(context).cleanup_provider]
            if chosen.honours("cleanup", "exclude_person"):
                box.prop(props, "exclude_person")
            box.prop(props, "tileable")
        col = box.column(align=True)
        col.operator("mapsmith.cleanup_apply", icon="CHECKMARK")
        col.operator("mapsmith.cleanup_discard", icon="X")

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


# -- One sub-panel per capability ---------------------------------------------------------------
# The options shown are the operator's own remembered properties
# (``WindowManager.operator_properties_last``): what is set here is what the button (and the
# next run from a script) uses, and the Adjust Last Operation panel edits the same values.

def _options(context, idname):
    return context.window_manager.operator_properties_last(idname)


class _CapabilityPanel(_MapsmithPanel):
    """The operator's own options (its ``draw_options``, shared with Adjust Last Operation)
    and its button."""

    bl_options = {"DEFAULT_CLOSED"}
    op = None             # the operator class
    icon = "NONE"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        props = _options(context, self.op.bl_idname)
        if props is not None:
            self.op.draw_options(layout, props)
        layout.operator(self.op.bl_idname, icon=self.icon)


class _ReliefPanel(_CapabilityPanel):
    bl_label = "Depth Relief"
    op = relief.MAPSMITH_OT_depth_relief
    icon = "MOD_DISPLACE"


class _NormalsPanel(_CapabilityPanel):
    bl_label = "Normal Map"
    op = normals.MAPSMITH_OT_normal_map
    icon = "NORMALS_FACE"


class _BackgroundPanel(_CapabilityPanel):
    bl_label = "Background"
    op = background.MAPSMITH_OT_remove_background
    icon = "IMAGE_RGB_ALPHA"


class _MaterialPanel(_CapabilityPanel):
    bl_label = "One-Click Material"
    op = material.MAPSMITH_OT_material_setup
    icon = "MATERIAL"


class _PrintPanel(_CapabilityPanel):
    bl_label = "3D Print"
    op = lithophane.MAPSMITH_OT_lithophane
    icon = "IMAGE_REFERENCE"

    def draw(self, context):
        super().draw(context)
        self.layout.separator()
        self.layout.operator("mapsmith.export_print", icon="EXPORT")


class _BatchPanel(_CapabilityPanel):
    bl_label = "Batch Maps"
    op = batch.MAPSMITH_OT_batch_maps
    icon = "DOCUMENTS"


def _sub_panels():
    made = []
    for space, parent in (("VIEW_3D", MAPSMITH_PT_view3d), ("IMAGE_EDITOR", MAPSMITH_PT_image)):
        for base in (_MaterialPanel, _ReliefPanel, _NormalsPanel, _BackgroundPanel,
                     _PrintPanel, _BatchPanel):
            name = f"{parent.bl_idname}_{base.op.bl_idname.split('.')[1]}"
            made.append(type(name, (base, bpy.types.Panel), {
                "bl_idname": name, "bl_space_type": space, "bl_parent_id": parent.bl_idname}))
    return tuple(made)


classes = (MAPSMITH_PT_view3d, MAPSMITH_PT_image, *_sub_panels(), *places.classes)
