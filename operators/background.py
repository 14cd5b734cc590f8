"""mapsmith.remove_background: background removal -> alpha cutout or mask image."""

import bpy
from bpy.props import EnumProperty

from ..blender import pixels
from .base import JobOperator, image_prop, provider_prop

MODES = (
    ("CUTOUT", "Cutout", "The photo with the background transparent, on a plane"),
    ("CUTOUT_SHADOW", "Cutout with Shadow", "The cutout keeping a soft shadow under the subject"),
    ("MASK", "Mask", "The person mask as its own image"),
)


class MAPSMITH_OT_remove_background(JobOperator, bpy.types.Operator):
    """Remove the photo's background: an alpha cutout on a plane, or the mask as an image"""

    bl_idname = "mapsmith.remove_background"
    bl_label = "Remove Background"
    capability = "background"

    image: image_prop()
    provider: provider_prop("background")
    mode: EnumProperty(name="Mode", items=MODES, default="CUTOUT")

    def prepare(self, context, source, provider):
        rgb, mode = source.rgba[..., :3], self.mode
        return lambda token: provider.background(rgb, mode, cancel=token)

    def finish(self, context, source, result):
        suffix = "mask" if self.mode == "MASK" else "cutout"
        pixels.new_image(f"{source.stem} {suffix}", result.image, non_color=self.mode == "MASK")
        return result.note
