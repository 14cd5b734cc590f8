"""Mapsmith where artists already work: the Shader Editor sidebar, Add > Mesh, the Image
Editor's Image menu and the Texture Paint tool settings. Drawing only.

Every entry is a Mapsmith operator: it is greyed out, with its reason as the tooltip, when its
``poll`` finds nothing to work on. Where an entry acts on the editor's own image, it is greyed
out here too when that editor has none (``poll`` cannot tell a button from a script, which may
name any image in the file).
"""

import bpy

from ..blender import sources

# (operator, icon) shown wherever a photo is at hand; the names are the operators' own labels.
_PHOTO_OPERATORS = (
    ("mapsmith.material_setup", "MATERIAL"),
    ("mapsmith.depth_relief", "MOD_DISPLACE"),
    ("mapsmith.normal_map", "NORMALS_FACE"),
    ("mapsmith.remove_background", "IMAGE_RGB_ALPHA"),
    ("mapsmith.cleanup_paint_mask", "BRUSH_DATA"),
)
_CLEANUP_OPERATORS = (
    ("mapsmith.cleanup_paint_mask", "BRUSH_DATA"),
    ("mapsmith.cleanup_apply", "CHECKMARK"),
    ("mapsmith.cleanup_discard", "X"),
)
_MENU_IMAGES = 30          # images listed by name in Add > Mesh > Relief from Image


def _draw_operators(layout, operators, enabled=True, reason=""):
    if reason:
        layout.label(text=reason, icon="INFO")
    col = layout.column(align=True)
    col.enabled = enabled
    for idname, icon in operators:
        col.operator(idname, icon=icon)


class MAPSMITH_PT_shader_editor(bpy.types.Panel):
    """Mapsmith on the Shader Editor's active Image Texture node (as DeepBump does)."""

    bl_idname = "MAPSMITH_PT_shader_editor"
    bl_label = "Mapsmith"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Mapsmith"

    @classmethod
    def poll(cls, context):
        space = context.space_data
        return space is not None and space.tree_type == "ShaderNodeTree"

    def draw(self, context):
        layout = self.layout
        node = sources.shader_editor_node(context.space_data)
        if node is not None:
            layout.label(text=node.image.name, icon="IMAGE_DATA")
        reason = "" if node is not None else "Select an Image Texture node that holds a photo"
        _draw_operators(layout, _PHOTO_OPERATORS, node is not None, reason)


class MAPSMITH_PT_texture_paint(bpy.types.Panel):
    """The cleanup in Texture Paint mode's tool settings (3D View sidebar, Tool tab)."""

    bl_idname = "MAPSMITH_PT_texture_paint"
    bl_label = "Mapsmith Cleanup"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Tool"
    bl_context = ".imagepaint"       # Texture Paint mode's tool settings
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        _draw_operators(self.layout, _CLEANUP_OPERATORS)


class MAPSMITH_MT_relief_from_image(bpy.types.Menu):
    """Build a relief from the image in context, any image of the file, or an image file"""

    bl_idname = "MAPSMITH_MT_relief_from_image"
    bl_label = "Relief from Image"

    def draw(self, context):
        layout = self.layout
        layout.operator_context = "INVOKE_REGION_WIN"
        images = [image for image in bpy.data.images if sources.usable(image)]
        if sources.has_source(context):
            try:
                image = sources.find_image(context)
            except sources.SourceError:
                image = None
            name = image.name if image is not None else "Last Render"
            layout.operator("mapsmith.depth_relief", text=f"{name} (active)",
                            icon="MOD_DISPLACE").image = ""
            layout.separator()
        for image in sorted(images, key=lambda im: im.name)[:_MENU_IMAGES]:
            layout.operator("mapsmith.depth_relief", text=image.name,
                            icon="IMAGE_DATA").image = image.name
        if images:
            layout.separator()
        layout.operator("mapsmith.relief_from_file", icon="FILEBROWSER")


class MAPSMITH_MT_image(bpy.types.Menu):
    """The Image Editor's Image > Mapsmith: the capabilities on the image shown."""

    bl_idname = "MAPSMITH_MT_image"
    bl_label = "Mapsmith"

    def draw(self, context):
        space = context.space_data
        shown = space is not None and getattr(space, "image", None) is not None
        _draw_operators(self.layout, _PHOTO_OPERATORS, shown,
                        "" if shown else "Open an image in this editor first")


def _draw_add_mesh(self, context):
    self.layout.separator()
    self.layout.menu(MAPSMITH_MT_relief_from_image.bl_idname, icon="MOD_DISPLACE")


def _draw_image_menu(self, context):
    self.layout.separator()
    self.layout.menu(MAPSMITH_MT_image.bl_idname, icon="IMAGE_DATA")


classes = (MAPSMITH_PT_shader_editor, MAPSMITH_PT_texture_paint,
           MAPSMITH_MT_relief_from_image, MAPSMITH_MT_image)

# (menu, draw function): appended on register, removed on unregister.
MENU_ENTRIES = (("VIEW3D_MT_mesh_add", _draw_add_mesh), ("IMAGE_MT_image", _draw_image_menu))


def append_menus():
    for menu, func in MENU_ENTRIES:
        getattr(bpy.types, menu).append(func)


def remove_menus():
    for menu, func in MENU_ENTRIES:
        getattr(bpy.types, menu).remove(func)
