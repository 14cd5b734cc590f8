"""mapsmith.relief_from_file: Add > Mesh > Relief from Image > Open Image...: pick an image
file, then Depth Relief runs on it (in the UI as its usual background job)."""

import os

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import BoolProperty, StringProperty


class MAPSMITH_OT_relief_from_file(bpy.types.Operator):
    """Open an image file (a portrait) and build a relief from it"""

    bl_idname = "mapsmith.relief_from_file"
    bl_label = "Open Image..."
    bl_options = {"REGISTER"}      # the relief is its own undo step; the image is only read

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"},
                             description="The image file to build the relief from")
    filter_image: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        return context.scene is not None     # Depth Relief's own poll runs once a file is picked

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        path = bpy.path.abspath(self.filepath)
        if not os.path.isfile(path):
            self.report({"ERROR"}, rpt_('No file "{path}": choose an image file').format(
                path=self.filepath))
            return {"CANCELLED"}
        known = set(bpy.data.images)
        try:
            image = bpy.data.images.load(path, check_existing=True)
            if not image.size[0]:             # loads it: an unreadable file has no size
                if image not in known:
                    bpy.data.images.remove(image)
                raise RuntimeError(path)
        except RuntimeError:
            self.report({"ERROR"}, rpt_('"{file}" is not an image Blender can read: choose a '
                                        "PNG, JPEG, WebP, TIFF or EXR file").format(
                                            file=os.path.basename(path)))
            return {"CANCELLED"}
        try:
            return bpy.ops.mapsmith.depth_relief("INVOKE_DEFAULT", image=image.name)
        except RuntimeError as err:          # refused or failed at once: nothing stays
            if image not in known:
                bpy.data.images.remove(image)
            self.report({"ERROR"}, str(err).removeprefix("Error: ").strip())
            return {"CANCELLED"}
