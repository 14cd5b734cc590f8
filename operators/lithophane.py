"""mapsmith.lithophane: a photo -> a printable plate that shows the photo against a light."""

import math

import numpy as np

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import EnumProperty, FloatProperty

from ..blender import meshes, printing
from ..core import lithophane
from .job_operator import DrawsOptions, JobOperator, image_prop

SHAPES = (
    ("FLAT", "Flat", "A flat plate: prints lying on its back, the picture side up"),
    ("CURVED", "Curved", "A section of a cylinder, for a lamp shade or to stand on a shelf "
                         "without a stand: prints standing on its edge"),
)
TONES = (
    ("POSITIVE", "Positive", "Thin where the photo is light: the photo shows when lit from "
                             "behind"),
    ("NEGATIVE", "Negative", "Thin where the photo is dark: an inverted image"),
)


def _mm_prop(name, default_mm, description, **kw):
    return FloatProperty(name=name, default=default_mm / 1000.0, min=kw.pop("min", 0.00001),
                         subtype="DISTANCE", unit="LENGTH", precision=4,
                         description=description, **kw)


class MAPSMITH_OT_lithophane(DrawsOptions, JobOperator, bpy.types.Operator):
    bl_idname = "mapsmith.lithophane"
    bl_label = "Lithophane"
    bl_description = ("Make a printable lithophane from the photo: a plate thin where the photo "
                      "is light and thick where it is dark, that shows the photo against a light")
    needs_provider = False

    image: image_prop()
    size: _mm_prop("Size", lithophane.DEFAULT_SIZE,
                   "Long side of the plate, frame included", soft_max=0.3, min=0.005)
    min_thickness: _mm_prop("Minimum Thickness", lithophane.DEFAULT_MIN_THICKNESS,
                            "Thickness where the picture is brightest (0.8 mm: two nozzle lines)",
                            soft_max=0.003)
    max_thickness: _mm_prop("Maximum Thickness", lithophane.DEFAULT_MAX_THICKNESS,
                            "Thickness where the picture is darkest, and of the frame",
                            soft_max=0.01)
    border: _mm_prop("Frame", lithophane.DEFAULT_BORDER,
                     "Width of the frame round the picture, at the maximum thickness (0: none)",
                     min=0.0, soft_max=0.02)
    shape: EnumProperty(name="Shape", items=SHAPES, default="FLAT",
                        description="A flat plate, or a curved one that stands on its own")
    curve_angle: FloatProperty(
        name="Curve", default=math.radians(lithophane.DEFAULT_CURVE_ANGLE),
        min=math.radians(1.0), max=math.radians(lithophane.MAX_CURVE_ANGLE), subtype="ANGLE",
        description="How far the curved plate wraps round: the arc of the cylinder section")
    tone: EnumProperty(name="Tone", items=TONES, default="POSITIVE",
                       description="Which way brightness maps to thickness")
    nozzle: _mm_prop("Nozzle", lithophane.DEFAULT_NOZZLE,
                     "Your printer's nozzle: the mesh has a vertex every half nozzle width, the "
                     "finest detail it can print", soft_max=0.001, min=0.00005)

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        col = layout.column(align=True)
        col.prop(props, "size")
        col.prop(props, "min_thickness")
        col.prop(props, "max_thickness")
        col.prop(props, "border")
        layout.prop(props, "shape")
        if props.shape == "CURVED":
            layout.prop(props, "curve_angle")
        layout.prop(props, "tone")
        layout.prop(props, "nozzle")

    def draw_provider(self, layout):
        pass                               # no provider: it works on the photo alone

    def prepare(self, context, source, provider):
        mm = printing.mm_per_unit(context)
        rgb = source.rgba
        options = dict(size=self.size * mm, min_thickness=self.min_thickness * mm,
                       max_thickness=self.max_thickness * mm, border=self.border * mm,
                       shape=self.shape, curve_angle=math.degrees(self.curve_angle),
                       tone=self.tone, nozzle=self.nozzle * mm)

        def work(token):
            token.progress(0.1, "building the lithophane")
            mesh = lithophane.build(rgb, cancel=token, **options)
            mesh.co *= np.float32(1.0 / mm)      # millimetres -> Blender units
            return mesh

        return work

    def finish(self, context, source, rm):
        stem = source.stem
        mm = printing.mm_per_unit(context)
        mesh = meshes.from_relief(f"{stem} lithophane", rm)
        obj = meshes.add_object(context, f"{stem} lithophane", mesh,
                                printing.lithophane_material(source, mm))
        if self.shape == "CURVED":
            obj.rotation_euler = (0.0, 0.0, 0.0)  # built standing: the picture faces -Y
        x, y, z = (d * mm for d in obj.dimensions)
        return rpt_('Lithophane "{name}": {x:.0f} x {y:.0f} x {z:.0f} mm, {vertices:,} '
                    "vertices. Export it with Export for 3D Print").format(
                        name=obj.name, x=x, y=y, z=z, vertices=len(mesh.vertices))
