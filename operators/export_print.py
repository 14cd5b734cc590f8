"""mapsmith.export_print: the selected mesh -> a print-ready STL (or OBJ, PLY) in millimetres."""

from __future__ import annotations

import os
import pathlib

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import BoolProperty, EnumProperty, StringProperty

from .. import preferences
from ..blender import printing
from ..core import mesh_check
from ..core.errors import InputError, MapsmithError

FORMATS = (
    ("STL", "STL", "Binary STL: every slicer reads it"),
    ("OBJ", "OBJ", "Wavefront OBJ, Z up like the STL (no materials)"),
    ("PLY", "PLY", "Binary PLY, Z up"),
)
ORIENTATIONS = (
    ("LOCAL", "Back on the Bed", "Lay the object on its back: its own axes, local Z up. A "
                                 "Mapsmith relief or flat lithophane lies front up, a curved "
                                 "lithophane stands on its edge, however they stand in the scene"),
    ("SCENE", "As in the Scene", "Keep the orientation the objects have in the scene (world Z up)"),
)

last_report: mesh_check.Report | None = None   # the last export's figures, for scripts


def _meshes(context):
    """What to export: the selected mesh objects, else the active one if it is a mesh."""
    chosen = [o for o in context.selected_objects if o.type == "MESH"]
    active = context.view_layer.objects.active
    if not chosen and active is not None and active.type == "MESH":
        chosen = [active]
    return chosen


class MAPSMITH_OT_export_print(bpy.types.Operator):
    bl_idname = "mapsmith.export_print"
    bl_label = "Export for 3D Print"
    bl_description = ("Export the selected mesh for a slicer: millimetres, laid on its back at "
                      "Z = 0, checked for holes, size, volume and thin walls")
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="File Path", subtype="FILE_PATH", options={"SKIP_SAVE"},
                             description="Where the print file is written")
    filter_glob: StringProperty(default="*.stl;*.obj;*.ply", options={"HIDDEN"})
    check_existing: BoolProperty(default=True, options={"HIDDEN"})
    file_format: EnumProperty(name="Format", items=FORMATS, default="STL",
                              description="The file format the slicer reads")
    orientation: EnumProperty(name="Orientation", items=ORIENTATIONS, default="LOCAL",
                              description="How the print lies on the bed")
    largest_part_only: BoolProperty(
        name="Largest Part Only", default=False,
        description="Leave out loose crumbs: export only the part with the most faces (a "
                    "cut-out relief can leave small islands that would not stick to the bed)")
    fit_to_bed: BoolProperty(
        name="Fit to Bed", default=False,
        description="Scale the print down (uniformly) when it is larger than the printer bed "
                    "set in the add-on preferences")

    @classmethod
    def poll(cls, context):
        if not _meshes(context):
            cls.poll_message_set("No mesh selected: select the relief, lithophane or mesh "
                                 "to print")
            return False
        return True

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(self, "file_format")
        layout.prop(self, "orientation")
        layout.prop(self, "largest_part_only")
        bed = preferences.bed_size_mm(preferences.get(context))
        objects = _meshes(context)
        if objects:
            size = printing.approx_size_mm(context, objects, self._frame(context, objects))
            if not mesh_check.fits(size, bed):
                box = layout.box()
                box.label(text="Larger than the bed: " + " x ".join(f"{s:.0f}" for s in size)
                          + " mm", icon="ERROR")
                box.prop(self, "fit_to_bed")
            else:
                layout.prop(self, "fit_to_bed")
        layout.label(text="Bed: {:g} x {:g} x {:g} mm (add-on preferences)".format(*bed))

    def _frame(self, context, objects):
        """Print axes: those of the active object (if exported), else the first one."""
        active = context.view_layer.objects.active
        return printing.print_frame(active if active in objects else objects[0],
                                    self.orientation)

    def _extension(self) -> str:
        return "." + self.file_format.lower()

    def check(self, context):
        """Keep the file name's extension in step with the format (the file browser)."""
        base, ext = os.path.splitext(self.filepath)
        if ext.lower() in {".stl", ".obj", ".ply"}:
            new = base + self._extension()
        else:
            new = bpy.path.ensure_ext(self.filepath, self._extension())
        if new != self.filepath:
            self.filepath = new
            return True
        return False

    def invoke(self, context, event):
        if not self.filepath:
            folder = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else ""
            name = bpy.path.clean_name(context.view_layer.objects.active.name
                                       if context.view_layer.objects.active else "print")
            self.filepath = os.path.join(folder, name + self._extension())
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        global last_report
        try:
            message, warnings, report = self._export(context)
        except MapsmithError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        last_report = report
        for warning in warnings:
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, message)
        return {"FINISHED"}

    def _export(self, context):
        if not self.filepath:
            raise InputError(rpt_("No file name: give a path to export to"))
        path = pathlib.Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() != self._extension():
            path = path.with_name(path.name + self._extension())
        objects = _meshes(context)
        if not objects:
            raise InputError(rpt_("No mesh selected: select the relief, lithophane or mesh to "
                                  "print"))
        polys = printing.gather(context, objects, self._frame(context, objects))
        what = (objects[0].name if len(objects) == 1
                else rpt_("{count} objects").format(count=len(objects)))
        warnings = []
        if self.largest_part_only and polys.num_polygons:
            polys, parts, dropped = mesh_check.largest_body(polys)
            if parts:
                warnings.append(rpt_("Left out small parts: {parts} ({dropped:.2%} of the "
                                     "faces)").format(parts=parts, dropped=dropped))
        report = mesh_check.inspect(polys)
        trouble = mesh_check.problems(report)
        if trouble:
            raise InputError(rpt_(
                '"{what}" cannot be printed as it is: {trouble}. Make the relief Solid, or '
                "close the mesh (Mesh > Clean Up > Fill Holes, Merge by Distance). Nothing "
                "was written").format(what=what, trouble=trouble))
        bed = preferences.bed_size_mm(preferences.get(context))
        if not mesh_check.fits(report.size_mm, bed):
            factor = mesh_check.fit_factor(report.size_mm, bed)
            size = " x ".join(f"{s:.0f}" for s in report.size_mm)
            bed_text = " x ".join(f"{b:g}" for b in bed)
            if not self.fit_to_bed:
                raise InputError(rpt_(
                    '"{what}" is {size} mm, larger than the printer bed ({bed} mm): turn on '
                    "Fit to Bed to scale it to {factor:.1%}, or set your bed size in the "
                    "add-on preferences. Nothing was written").format(
                        what=what, size=size, bed=bed_text, factor=factor))
            polys.co = polys.co * factor
            report.size_mm = tuple(s * factor for s in report.size_mm)
            report.volume_cm3 *= factor ** 3
            warnings.append(rpt_("Scaled to {factor:.1%} to fit the {bed} mm bed").format(
                factor=factor, bed=bed_text))
        polys.co = mesh_check.lay_on_bed(polys.co)
        with printing.temporary_object(context, polys) as obj:
            report.thinnest_wall_mm = printing.thinnest_wall(context, obj)
            printing.export(context, obj, path, self.file_format)
        if report.bodies > 1:
            warnings.append(rpt_("{count} separate parts: the slicer prints each on its own "
                                 "(small ones may not stick to the bed; Largest Part Only "
                                 "leaves them out)").format(count=report.bodies))
        if report.thinnest_wall_mm < mesh_check.NOZZLE_MM:
            warnings.append(rpt_("Thinnest wall {wall:.2f} mm is below a {nozzle} mm "
                                 "nozzle's line: those parts may not print").format(
                                     wall=report.thinnest_wall_mm, nozzle=mesh_check.NOZZLE_MM))
        message = rpt_('Exported "{file}": {summary}').format(
            file=path.name, summary=mesh_check.summary(report))
        return message, warnings, report


def menu_func(self, context):
    self.layout.operator(MAPSMITH_OT_export_print.bl_idname, text="Mapsmith 3D Print (.stl)")
