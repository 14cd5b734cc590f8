"""mapsmith.remove_background: background removal -> alpha cutout on a plane, or a mask image."""

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ..blender import meshes, nodes
from ..core import cutout, relief_mesh
from ..core.errors import InputError, ProviderError
from ..providers.offline.face import face_mask
from .job_operator import DrawsOptions, JobOperator, image_prop, provider_prop
from .placement import PlaneOptions

MODES = (
    ("CUTOUT", "Cutout", "The photo with the background transparent, on a plane"),
    ("CUTOUT_SHADOW", "Cutout with Shadow", "The cutout keeping a soft shadow under the subject"),
    ("MASK", "Mask", "The person mask as its own image"),
)


def edge_colour_prop():
    return BoolProperty(
        name="Edge Colour", default=True,
        description="Give the cutout's soft edge (hair, blurred outlines) the subject's own "
                    "colour instead of the old background's, so no pale or dark fringe shows "
                    "over a new background")


def despill_prop():
    return FloatProperty(
        name="Despill", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
        description="How much of the old background's colour cast to take out of the edge")


def keep_islands_prop():
    return BoolProperty(
        name="Keep Islands", default=False,
        description="Keep pieces of the cutout that do not touch the subject, and stretches "
                    "of background joined to it (what the remover took along with the "
                    "subject); off: they are dropped")


class MAPSMITH_OT_remove_background(DrawsOptions, PlaneOptions, JobOperator, bpy.types.Operator):
    """Cut the person out of a portrait: a cutout on a plane, or the person mask"""

    bl_idname = "mapsmith.remove_background"
    bl_label = "Remove Background"
    capability = "background"
    request_options = ("image", "provider", "mode")   # the rest only shape the plane

    image: image_prop()
    provider: provider_prop("background")
    mode: EnumProperty(name="Mode", items=MODES, default="CUTOUT",
                       description="What the background removal makes")
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
    edge_colour: edge_colour_prop()
    despill: despill_prop()
    keep_islands: keep_islands_prop()

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        layout.prop(props, "mode")
        if props.mode != "MASK":
            PlaneOptions.draw_placement(layout, props)
            row = layout.row(heading="Trim Mesh")
            row.prop(props, "trim", text="")
            sub = row.row()
            sub.active = props.trim
            sub.prop(props, "trim_resolution", text="")
            layout.prop(props, "edge_colour")
            sub = layout.row()
            sub.active = props.edge_colour
            sub.prop(props, "despill", slider=True)
        layout.prop(props, "keep_islands")

    def prepare(self, context, source, provider):
        rgb, mode = source.rgba[..., :3], self.mode
        trim = self.trim and mode != "MASK"
        self._placed = self.plane_placement(context, source.size) if mode != "MASK" else None
        width, resolution = max(self._placed.size) if trim else 0.0, self.trim_resolution
        refine = dict(edge_colour=self.edge_colour, despill=self.despill,
                      keep_islands=self.keep_islands)

        def work(token):
            token.progress(0.0, "removing the background")
            result = provider.background(rgb, mode, cancel=token)
            result.image = cutout.refine(rgb, result.image, keep=face_mask(rgb), cancel=token,
                                         **refine)
            if not trim:
                return result, None
            token.progress(0.8, "trimming the mesh")
            alpha = result.image[..., 3].astype(np.float32) / 255.0
            try:
                mesh = relief_mesh.depth_to_relief(
                    alpha, resolution=resolution, long_side=width, relief_height=0.0,
                    smoothing=0.0, background="CUT", background_level=0.5, min_island=0.0)
            except InputError:
                raise ProviderError("The cutout is empty: nothing to trim to") from None
            return result, mesh

        return work

    def finish(self, context, source, payload):
        result, trimmed = payload
        stem = source.stem
        note = f" ({result.note})" if result.note else ""
        if self.mode == "MASK":
            image = nodes.result_image(source, "mask", result.image, non_color=True)
            image.use_fake_user = True       # nothing uses it yet: kept on save all the same
            return f'Mask "{image.name}"{note}'

        image = nodes.result_image(source, "cutout", result.image, non_color=False)
        material, tree, bsdf, _output, tex = nodes.photo_material(source, "cutout", image)
        tex.label = "Cutout"
        nodes.link_alpha(material, tree, bsdf, tex.outputs["Alpha"],
                         blended=self.mode == "CUTOUT_SHADOW")
        if trimmed is not None:
            mesh = meshes.from_relief(f"{stem} cutout", trimmed)
        else:
            mesh = meshes.plane(f"{stem} cutout", *self._placed.size)
        obj = meshes.add_object(context, f"{stem} cutout", mesh, material)
        self.place_plane(obj, material, self._placed)
        return f'Cutout "{obj.name}"{note}'
