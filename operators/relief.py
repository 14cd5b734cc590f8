"""mapsmith.depth_relief: portrait depth -> relief mesh."""

import bpy

from ..blender import pixels
from .base import JobOperator, image_prop, provider_prop


class MAPSMITH_OT_depth_relief(JobOperator, bpy.types.Operator):
    """Estimate the portrait's depth and build a relief mesh from it"""

    bl_idname = "mapsmith.depth_relief"
    bl_label = "Depth Relief"
    capability = "depth"

    image: image_prop()
    provider: provider_prop("depth")

    def prepare(self, context, source, provider):
        rgb = source.rgba[..., :3]
        return lambda token: provider.depth(rgb, cancel=token)

    def finish(self, context, source, result):
        pixels.new_image(f"{source.stem} depth", result.image, non_color=True)
        return result.note
