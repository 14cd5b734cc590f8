"""mapsmith.normal_map: portrait surface normals -> normal-map texture in the material."""

import bpy

from ..blender import pixels
from .base import JobOperator, image_prop, provider_prop


class MAPSMITH_OT_normal_map(JobOperator, bpy.types.Operator):
    """Estimate the portrait's surface normals and wire them into the material as a normal map"""

    bl_idname = "mapsmith.normal_map"
    bl_label = "Normal Map"
    capability = "normals"

    image: image_prop()
    provider: provider_prop("normals")

    def prepare(self, context, source, provider):
        rgb = source.rgba[..., :3]
        return lambda token: provider.normals(rgb, cancel=token)

    def finish(self, context, source, result):
        pixels.new_image(f"{source.stem} normals", result.image, non_color=True)
        return result.note
