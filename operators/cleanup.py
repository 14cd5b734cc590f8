"""mapsmith.cleanup_paint_mask / mapsmith.cleanup_apply: paint defects, inpaint them."""

import bpy

from .base import JobOperator, image_prop, provider_prop


class MAPSMITH_OT_cleanup_paint_mask(bpy.types.Operator):
    """Create (or resume) a cleanup mask on the active texture and start painting it"""

    bl_idname = "mapsmith.cleanup_paint_mask"
    bl_label = "Paint Cleanup Mask"
    bl_options = {"REGISTER", "UNDO"}

    image: image_prop()

    @classmethod
    def poll(cls, context):
        return context.active_object is not None

    def execute(self, context):
        self.report({"ERROR"}, "Not implemented yet")
        return {"CANCELLED"}


class MAPSMITH_OT_cleanup_apply(JobOperator, bpy.types.Operator):
    """Inpaint the texels painted in the cleanup mask; every other texel stays as it was"""

    bl_idname = "mapsmith.cleanup_apply"
    bl_label = "Apply Cleanup"
    capability = "cleanup"

    image: image_prop()
    provider: provider_prop("cleanup")

    def prepare(self, context, source, provider):
        raise NotImplementedError

    def finish(self, context, source, result):
        raise NotImplementedError
