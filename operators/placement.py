"""The photo plane's placement options, shared by every operator that makes one (Remove
Background's cutout, One-Click Material, Normal Map's new plane): defined once here, as Images
as Planes offers them. The maths is in blender/placement.py and core/plane_size.py."""

from bpy.props import BoolProperty, EnumProperty, FloatProperty

from ..blender import nodes, placement

ALIGN = (
    ("FRONT", "Front", "Upright, facing the front view (-Y)"),
    ("VIEW", "View", "Facing the 3D View as it is now"),
    ("CAMERA", "Camera", "Facing the scene's active camera, like a backdrop"),
)
SIZE = (
    ("HEIGHT", "Height", "The plane is Plane Height tall; the width follows the photo"),
    ("CAMERA", "Camera Frame", "Fit or fill the active camera's frame at the plane's distance"),
    ("PIXELS", "Pixels per Unit", "One unit for every so many pixels of the photo"),
)
FILL = (
    ("FIT", "Fit", "The whole photo inside the camera frame"),
    ("FILL", "Fill", "The photo covers all of the camera frame"),
)
SHADERS = (
    ("PRINCIPLED", "Principled", "Lit by the scene like any surface"),
    ("SHADELESS", "Shadeless", "The photo's own colours, unlit: for reference planes"),
    ("EMISSION", "Emission", "Lit, and glowing with the photo's colours"),
)


class PlaneOptions:
    """Mix into an operator that has a ``height`` property (Plane Height)."""

    align: EnumProperty(name="Align", items=ALIGN, default="FRONT",
                        description="Which way the photo plane faces")
    at_cursor: BoolProperty(name="At 3D Cursor", default=True,
                            description="Place the plane at the 3D cursor; off: at the origin")
    size_mode: EnumProperty(name="Size", items=SIZE, default="HEIGHT",
                            description="How the photo plane's size is chosen")
    fill_mode: EnumProperty(name="Camera Frame", items=FILL, default="FIT",
                            description="Fit the photo inside the camera frame, or fill it")
    pixels_per_unit: FloatProperty(
        name="Pixels per Unit", default=1000.0, min=1.0, soft_max=10000.0,
        description="How many of the photo's pixels make one unit (metre) of the plane")
    shader: EnumProperty(name="Shader", items=SHADERS, default="PRINCIPLED",
                         description="How the plane's material shows the photo")

    @staticmethod
    def draw_placement(layout, props):
        """Drawn inside the operator's own draw_options."""
        layout.prop(props, "align")
        layout.prop(props, "at_cursor")
        layout.prop(props, "size_mode")
        if props.size_mode == "HEIGHT":
            layout.prop(props, "height")
        elif props.size_mode == "CAMERA":
            layout.prop(props, "fill_mode", expand=True)
        else:
            layout.prop(props, "pixels_per_unit")
        layout.prop(props, "shader")

    def plane_placement(self, context, size_px) -> placement.Placement:
        """Where the plane goes and its size; raises InputError before any request."""
        return placement.resolve(
            context, size_px, align=self.align, at_cursor=self.at_cursor,
            size_mode=self.size_mode, height=self.height, pixels_per_unit=self.pixels_per_unit,
            fill_mode=self.fill_mode)

    def place_plane(self, obj, material, placed: placement.Placement) -> None:
        placement.apply(obj, placed)
        nodes.set_shader(material, self.shader)
