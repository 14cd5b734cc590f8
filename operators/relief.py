"""mapsmith.depth_relief: portrait depth -> relief mesh (or a displaced plane)."""

import math

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ..blender import meshes, nodes
from ..core import images, relief_mesh
from ..providers import Result
from .job_operator import DrawsOptions, JobOperator, image_prop, provider_prop
from .texture_route import SubjectOptions

METHODS = (
    ("MESH", "Mesh", "Real geometry built from the depth: can be cut out, made solid and "
                     "3D printed"),
    ("MODIFIERS", "Displace Modifier", "A plane with Subdivision and Displace modifiers "
                                       "driven by the depth image: light and editable"),
)
BACKGROUNDS = (
    ("CUT", "Cut Away", "Remove the background: only the person remains"),
    ("BASE", "Flat Base", "Keep the whole picture, the background flat at the bottom"),
)

# Highest Subdivision level the Displace path uses in the viewport (64 x 64 quads): the
# render level follows the resolution.
_VIEWPORT_LEVELS = 6


class MAPSMITH_OT_depth_relief(DrawsOptions, SubjectOptions, JobOperator, bpy.types.Operator):
    """Build a relief from a portrait's estimated depth, or from a texture's height"""

    bl_idname = "mapsmith.depth_relief"
    bl_label = "Depth Relief"
    capability = "depth"
    request_options = ("image", "provider", "subject")   # the rest only shape the relief

    image: image_prop()
    provider: provider_prop("depth")
    method: EnumProperty(name="Method", items=METHODS, default="MESH")
    resolution: IntProperty(
        name="Resolution", default=relief_mesh.DEFAULT_RESOLUTION, min=2, soft_min=16,
        max=relief_mesh.MAX_RESOLUTION, soft_max=2048,
        description="Vertices along the image's long side (the short side in proportion)")
    size: FloatProperty(
        name="Size", default=relief_mesh.DEFAULT_WIDTH, min=0.001, soft_max=10.0,
        subtype="DISTANCE", unit="LENGTH",
        description="Length of the image's long side")
    strength: FloatProperty(
        name="Strength", default=relief_mesh.DEFAULT_STRENGTH, min=0.0, soft_max=0.5,
        subtype="FACTOR", description="Height of the nearest point, as a fraction of Size")
    smoothing: FloatProperty(
        name="Smoothing", default=relief_mesh.DEFAULT_SMOOTHING, min=0.0, soft_max=8.0,
        description="Blur of the depth in grid cells: removes noise, keeps the shape")
    background: EnumProperty(name="Background", items=BACKGROUNDS, default="CUT")
    solid: BoolProperty(
        name="Solid", default=False,
        description="Close the relief with a flat back and a rim wall: watertight, "
                    "ready to 3D print")
    thickness: FloatProperty(
        name="Thickness", default=relief_mesh.DEFAULT_THICKNESS, min=0.0001, soft_max=0.05,
        subtype="DISTANCE", unit="LENGTH", description="Back plate under the lowest point")

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        SubjectOptions.draw_subject(layout, props)
        layout.prop(props, "method")
        col = layout.column(align=True)
        col.prop(props, "resolution")
        col.prop(props, "size")
        col.prop(props, "strength")
        col.prop(props, "smoothing")
        layout.prop(props, "background")
        if props.method == "MESH":
            row = layout.row(heading="Solid")
            row.prop(props, "solid", text="")
            sub = row.row()
            sub.active = props.solid
            sub.prop(props, "thickness", text="")

    def prepare(self, context, source, provider):
        rgb = source.rgba[..., :3]
        options = dict(resolution=self.resolution, width=self.size, strength=self.strength,
                       smoothing=self.smoothing, background=self.background,
                       solid=self.solid, thickness=self.thickness)
        method = self.method

        def work(token):
            token.progress(0.0, "estimating depth")
            result = provider.depth(rgb, cancel=token)
            token.progress(0.7, "building the relief")
            if method == "MESH":
                return result, relief_mesh.depth_to_relief(result.image, **options)
            return result, _displace_map(result.image, options)

        def texture(maps, token):
            # The whole picture (Background: Flat Base), every pixel above the base.
            token.progress(0.7, "building the relief")
            height = np.maximum(maps.height, np.float32(1.0 / 255.0))
            whole = {**options, "background": "BASE"}
            if method == "MESH":
                return Result(height), relief_mesh.depth_to_relief(height, **whole)
            return Result(height), _displace_map(height, whole)

        return self.routed(context, rgb, work, texture)

    def finish(self, context, source, payload):
        result, built = payload
        photo = nodes.photo_image(source)
        if self.method == "MESH":
            obj = _build_mesh(context, source, photo, built)
        else:
            obj = _build_displaced(context, source, photo, built, self)
        note = f" ({result.note})" if result.note else ""
        return f'Relief "{obj.name}": {len(obj.data.vertices):,} vertices{note}'


def _displace_map(depth, options) -> np.ndarray:
    """RGBA float depth image for the Displace path: smoothed depth in RGB, the foreground
    (depth > 0) in alpha so the material can cut the background away."""
    depth = np.clip(np.asarray(depth, np.float32), 0.0, 1.0)
    height, width = depth.shape
    # Smoothing is in grid cells: convert to image pixels.
    sigma = options["smoothing"] * max(height, width) / max(options["resolution"] - 1, 1)
    fg = depth > 0.0
    smooth = images.masked_blur(depth, fg, sigma)  # the silhouette keeps its height
    if options["background"] == "BASE":
        alpha = np.ones_like(depth)
    else:
        alpha = fg.astype(np.float32)
    return np.dstack([smooth, smooth, smooth, alpha])


def _build_mesh(context, source, photo, rm):
    stem = source.stem
    mesh = meshes.from_relief(f"{stem} relief", rm)
    smooth = np.zeros(rm.num_polygons, bool)
    smooth[:rm.n_front_polys] = True      # the face smooth; back and rim stay crisp
    mesh.polygons.foreach_set("use_smooth", smooth)
    material, tree, bsdf, _output, _tex = nodes.photo_material(source, "relief", photo)
    nodes.unlink_alpha(material, tree, bsdf)
    obj = meshes.add_object(context, f"{stem} relief", mesh, material)
    if rm.num_polygons > rm.n_front_polys:
        # Back and rim (solid reliefs) get a plain material: the photo would only smear
        # its silhouette pixels down the walls.
        mesh.materials.append(_base_material(source))
        index = np.zeros(rm.num_polygons, np.int32)
        index[rm.n_front_polys:] = 1
        mesh.polygons.foreach_set("material_index", index)
    return obj


def _base_material(source):
    material = nodes.material_for(source, "relief base")
    bsdf, _output = nodes.principled(material)
    bsdf.inputs["Base Color"].default_value = (0.62, 0.6, 0.57, 1.0)   # unpainted plaster
    bsdf.inputs["Roughness"].default_value = 0.8
    material.diffuse_color = (0.62, 0.6, 0.57, 1.0)
    return material


def _build_displaced(context, source, photo, depth_rgba, op):
    stem = source.stem
    size_x, size_y = images.extent(*depth_rgba.shape[:2], op.size)
    mesh = meshes.plane(f"{stem} relief", size_x, size_y)
    depth = nodes.result_image(source, "depth", depth_rgba, non_color=True, float_buffer=True)
    material, tree, bsdf, _output, _tex = nodes.photo_material(source, "relief displaced", photo)
    tex = nodes.image_node(tree, bsdf, depth, name="Mapsmith Depth", label="Depth (cutout)",
                           row=1)
    if op.background == "CUT" and op.route.kind != "TEXTURE":   # a texture: all of it
        nodes.link_alpha(material, tree, bsdf, tex.outputs["Alpha"])
    else:
        nodes.unlink_alpha(material, tree, bsdf)
    nodes.frame(tree, "Mapsmith Cutout Frame", "Cutout", [tex])
    obj = meshes.add_object(context, f"{stem} relief", mesh, material)
    meshes.smooth_shading(mesh)

    texture = bpy.data.textures.new(depth.name, "IMAGE")
    texture.image = depth
    texture.extension = "EXTEND"
    levels = max(1, math.ceil(math.log2(max(op.resolution - 1, 2))))
    subdiv = obj.modifiers.new("Subdivision", "SUBSURF")
    subdiv.subdivision_type = "SIMPLE"
    subdiv.levels = min(levels, _VIEWPORT_LEVELS)
    subdiv.render_levels = min(levels, 11)
    displace = obj.modifiers.new("Displace", "DISPLACE")
    displace.texture = texture
    displace.texture_coords = "UV"
    displace.uv_layer = "UVMap"
    displace.direction = "NORMAL"
    displace.mid_level = 0.0
    displace.strength = op.strength * op.size
    return obj
