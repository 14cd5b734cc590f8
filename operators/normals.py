"""mapsmith.normal_map: portrait surface normals -> normal-map texture in the material."""

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import BoolProperty, FloatProperty

from ..blender import meshes, nodes
from ..core import normals
from ..providers import Result
from .job_operator import DrawsOptions, JobOperator, image_prop, provider_prop
from .placement import PlaneOptions
from .texture_route import SubjectOptions


class MAPSMITH_OT_normal_map(DrawsOptions, PlaneOptions, SubjectOptions, JobOperator,
                             bpy.types.Operator):
    """A normal map in the active material (or a new plane): a portrait's or a texture's"""

    bl_idname = "mapsmith.normal_map"
    bl_label = "Normal Map"
    request_options = ("image", "provider", "from_depth",   # the rest only shape the map
                       "subject")                           # AUTO asks the person check
    uses_active_object = True   # its material gets the map

    image: image_prop()
    provider: provider_prop("normals")
    from_depth: BoolProperty(
        name="From Depth", default=False,
        description="Compute the normals from the provider's depth map instead of asking for "
                    "normals (works with depth-only providers)")
    depth_strength: FloatProperty(
        name="Depth Strength", default=1.0, min=0.0, soft_max=4.0,
        description="How strongly the depth bends the normals (From Depth only)")
    flip_green: BoolProperty(
        name="Flip Green (DirectX)", default=False,
        description="Write a DirectX-style map (green = down). Blender and glTF expect "
                    "OpenGL (green = up): leave off unless the map is for a DirectX engine")
    strength: FloatProperty(
        name="Strength", default=1.0, min=0.0, soft_max=5.0,
        description="Strength of the Normal Map node")
    height: FloatProperty(
        name="Plane Height", default=1.0, min=0.001, soft_max=100.0,
        subtype="DISTANCE", unit="LENGTH",
        description="Height of the new photo plane (when there is no active mesh object)")

    # Normals and depth are offered by the same providers, so one Provider property serves
    # both; which one is asked for follows From Depth.
    @property
    def capability(self):
        return "depth" if self.from_depth else "normals"

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        SubjectOptions.draw_subject(layout, props)
        row = layout.row(heading="From Depth")
        row.prop(props, "from_depth", text="")
        sub = row.row()
        sub.active = props.from_depth
        sub.prop(props, "depth_strength", text="")
        layout.prop(props, "flip_green")
        layout.prop(props, "strength")
        col = layout.column(heading="New Plane")
        col.label(text="When no mesh is active:")
        PlaneOptions.draw_placement(col, props)

    def prepare(self, context, source, provider):
        rgb = source.rgba[..., :3]
        self._placed = None if _active_mesh(context) else self.plane_placement(context,
                                                                                source.size)
        from_depth, depth_strength, flip = self.from_depth, self.depth_strength, self.flip_green

        def work(token):
            token.progress(0.0, "estimating depth" if from_depth else "estimating normals")
            if from_depth:
                result = provider.depth(rgb, cancel=token)
                token.progress(0.8, "normals from depth")
                encoded = normals.normals_from_depth(result.image, depth_strength)
            else:
                result = provider.normals(rgb, cancel=token)
                encoded = result.image[..., :3]
            if flip:
                encoded = normals.flip_green(encoded)
            return result, encoded

        def texture(maps, _token):
            encoded = normals.encode(maps.normals)
            return Result(encoded), normals.flip_green(encoded) if flip else encoded

        return self.routed(context, rgb, work, texture)

    def finish(self, context, source, payload):
        result, encoded = payload
        stem = source.stem
        image = nodes.result_image(source, "normals", encoded, non_color=True)
        obj = _active_mesh(context)
        if obj is not None:
            material = obj.active_material
            if material is None:
                material = nodes.new_material(source, "material")
                obj.data.materials.append(material)
            where = f'material "{material.name}"'
            if not obj.data.uv_layers:
                self.report({"WARNING"}, rpt_('"{object}" has no UV map: the normal map needs '
                                              "one").format(object=obj.name))
        else:
            placed = self._placed or self.plane_placement(context, source.size)
            plane = meshes.plane(stem, *placed.size)
            material = nodes.photo_material(source, "photo", nodes.photo_image(source))[0]
            obj = meshes.add_object(context, stem, plane, material)
            self.place_plane(obj, material, placed)
            where = f'new plane "{obj.name}"'
        nodes.add_normal_map(material, image, strength=self.strength, uv_map=uv_map(obj))
        note = f" ({result.note})" if result.note else ""
        return f'Normal map "{image.name}" in {where}{note}'


def _active_mesh(context):
    obj = context.active_object
    return obj if obj is not None and obj.type == "MESH" else None


def uv_map(obj) -> str:
    """The UV map the object renders with (empty: the node uses the active one)."""
    layers = obj.data.uv_layers
    render = next((uv for uv in layers if uv.active_render), None)
    return render.name if render is not None else ""
