"""mapsmith.remove_background: background removal -> alpha cutout on a plane, or a mask image."""

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ..blender import meshes, nodes
from ..core import relief_mesh
from ..core.errors import InputError, ProviderError
from .job_operator import DrawsOptions, JobOperator, image_prop, provider_prop

MODES = (
    ("CUTOUT", "Cutout", "The photo with the background transparent, on a plane"),
    ("CUTOUT_SHADOW", "Cutout with Shadow", "The cutout keeping a soft shadow under the subject"),
    ("MASK", "Mask", "The person mask as its own image"),
)


class MAPSMITH_OT_remove_background(DrawsOptions, JobOperator, bpy.types.Operator):
    """Remove the photo's background: an alpha cutout on a plane, or the mask as an image"""

    bl_idname = "mapsmith.remove_background"
    bl_label = "Remove Background"
    capability = "background"

    image: image_prop()
    provider: provider_prop("background")
    mode: EnumProperty(name="Mode", items=MODES, default="CUTOUT")
    height: FloatProperty(
        name="Plane Height", default=1.0, min=0.001, soft_max=100.0,
        subtype="DISTANCE", unit="LENGTH", description="Height of the cutout plane")
    trim: BoolProperty(
        name="Trim Mesh", default=False,
        description="Cut the plane's mesh to the subject's outline too, so the cutout also "
                    "shows in solid view and in exports without alpha")
    trim_resolution: IntProperty(
        name="Trim Resolution", default=128, min=8, soft_max=512, max=2048,
        description="Vertices along the long side of the trimmed mesh")

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        layout.prop(props, "mode")
        if props.mode != "MASK":
            layout.prop(props, "height")
            row = layout.row(heading="Trim Mesh")
            row.prop(props, "trim", text="")
            sub = row.row()
            sub.active = props.trim
            sub.prop(props, "trim_resolution", text="")

    def prepare(self, context, source, provider):
        rgb, mode = source.rgba[..., :3], self.mode
        trim = self.trim and mode != "MASK"
        height, resolution = self.height, self.trim_resolution
        h, w = rgb.shape[:2]

        def work(token):
            token.progress(0.0, "removing the background")
            result = provider.background(rgb, mode, cancel=token)
            if not trim:
                return result, None
            token.progress(0.8, "trimming the mesh")
            alpha = result.image[..., 3].astype(np.float32) / 255.0
            try:
                mesh = relief_mesh.depth_to_relief(
                    alpha, resolution=resolution, long_side=height * max(w, h) / h,
                    relief_height=0.0, smoothing=0.0, background="CUT", background_level=0.5)
            except InputError:
                raise ProviderError("The cutout is empty: nothing to trim to") from None
            return result, mesh

        return work

    def finish(self, context, source, payload):
        result, trimmed = payload
        stem = source.stem
        note = f" ({result.note})" if result.note else ""
        if self.mode == "MASK":
            image = nodes.result_image(stem, "mask", result.image, non_color=True)
            return f'Mask "{image.name}"{note}'

        image = nodes.result_image(stem, "cutout", result.image, non_color=False)
        material, tree, bsdf, _output, tex = nodes.photo_material(stem, "cutout", image)
        tex.label = "Cutout"
        nodes.link_alpha(material, tree, bsdf, tex.outputs["Alpha"],
                         blended=self.mode == "CUTOUT_SHADOW")
        if trimmed is not None:
            mesh = meshes.from_relief(f"{stem} cutout", trimmed)
        else:
            mesh = meshes.plane(f"{stem} cutout", *meshes.plane_size(*source.size, self.height))
        obj = meshes.add_object(context, f"{stem} cutout", mesh, material)
        return f'Cutout "{obj.name}"{note}'
