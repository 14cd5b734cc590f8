"""mapsmith.material_setup: one click, a photo plane with cutout, normals and displacement."""

import bpy

from .base import JobOperator, image_prop, provider_prop


class MAPSMITH_OT_material_setup(JobOperator, bpy.types.Operator):
    """Build a plane sized to the photo with colour, alpha cutout, normal map and depth"""

    bl_idname = "mapsmith.material_setup"
    bl_label = "One-Click Material"
    capability = "depth"

    image: image_prop()
    provider: provider_prop("depth")

    def prepare(self, context, source, provider):
        raise NotImplementedError

    def finish(self, context, source, result):
        raise NotImplementedError
