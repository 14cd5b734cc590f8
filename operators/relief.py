"""mapsmith.depth_relief: portrait depth -> relief mesh (or a displaced plane)."""

import math

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ..blender import meshes, nodes
from ..core import images, relief_mesh
from ..core.errors import MapsmithError
from ..providers import Result
from . import texture_route
from .job_operator import DrawsOptions, JobOperator, image_prop, make_provider, provider_prop
from .texture_route import SubjectOptions

METHODS = (
    ("MESH", "Mesh", "Real geometry built from the depth: can be cut out, made solid and "
                     "3D printed"),
    ("MODIFIERS", "Displace Modifier", "A plane with Subdivision and Displace modifiers "
                                       "driven by the depth image: light and editable"),
)
COMPRESSIONS = (
    ("GRADIENT", "Gradient (Bas-Relief)", "Compress the depth's slopes, not its values: "
                                          "small features keep their height, big jumps "
                                          "shrink. Reads like a carved relief"),
    ("LINEAR", "Linear", "Height proportional to depth: a squashed depth map"),
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
    method: EnumProperty(name="Method", items=METHODS, default="MESH",
                         description="Real geometry, or a plane displaced by modifiers")
    resolution: IntProperty(
        name="Resolution", default=relief_mesh.DEFAULT_RESOLUTION, min=2, soft_min=16,
        max=relief_mesh.MAX_RESOLUTION, soft_max=2048,
        description="Vertices along the image's long side (the short side in proportion)")
    size: FloatProperty(
        name="Size", default=relief_mesh.DEFAULT_LONG_SIDE, min=0.001, soft_max=10.0,
        subtype="DISTANCE", unit="LENGTH",
        description="Length of the image's long side")
    compression: EnumProperty(
        name="Compression", items=COMPRESSIONS, default="GRADIENT",
        description="How the portrait's depth is flattened into a relief")
    relief_height: FloatProperty(
        name="Relief Height", default=relief_mesh.DEFAULT_RELIEF_HEIGHT, min=0.0,
        soft_max=0.05, subtype="DISTANCE", unit="LENGTH",
        description="Height of the highest point above the base (depth below the plate "
                    "when engraved)")
    detail: FloatProperty(
        name="Detail", default=relief_mesh.DEFAULT_DETAIL, min=0.0, max=1.0,
        subtype="FACTOR",
        description="Gradient compression: how much fine detail (eyes, lips, folds) is kept "
                    "against the overall shape")
    engrave: BoolProperty(
        name="Engrave", default=False,
        description="Cut the relief into the plate (intaglio) instead of raising it")
    strength: FloatProperty(
        name="Strength", default=relief_mesh.DEFAULT_RELIEF_HEIGHT / relief_mesh.DEFAULT_LONG_SIDE,
        min=0.0, soft_max=0.5, subtype="FACTOR", options={"SKIP_SAVE"},
        description="Scripts: Relief Height as a fraction of Size (used when set and Relief "
                    "Height is not)")
    smoothing: FloatProperty(
        name="Smoothing", default=relief_mesh.DEFAULT_SMOOTHING, min=0.0, soft_max=8.0,
        description="Blur of the depth in grid cells: removes noise, keeps the shape")
    background: EnumProperty(name="Background", items=BACKGROUNDS, default="CUT",
                             description="What happens to the photo around the person")
    min_island: FloatProperty(
        name="Minimum Island", default=relief_mesh.DEFAULT_MIN_ISLAND, min=0.0, max=1.0,
        subtype="FACTOR",
        description="Drop loose pieces smaller than this fraction of the largest "
                    "(specks of depth noise); 0 keeps every piece")
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
        col.prop(props, "relief_height")
        layout.prop(props, "compression")
        col = layout.column(align=True)
        row = col.row()
        row.active = props.compression == "GRADIENT"
        row.prop(props, "detail")
        col.prop(props, "smoothing")
        layout.prop(props, "engrave")
        layout.prop(props, "background")
        layout.prop(props, "min_island")
        if props.method == "MESH":
            row = layout.row(heading="Solid")
            row.prop(props, "solid", text="")
            sub = row.row()
            sub.active = props.solid
            sub.prop(props, "thickness", text="")

    def height(self) -> float:
        """Relief Height, or Strength x Size when a script set only the older Strength."""
        if self.properties.is_property_set("strength") and \
                not self.properties.is_property_set("relief_height"):
            return self.strength * self.size
        return self.relief_height

    def prepare(self, context, source, provider):
        rgb = source.rgba[..., :3]
        shape = rgb.shape[:2]
        common = dict(relief_height=self.height(), compression=self.compression,
                      detail=self.detail, engrave=self.engrave, smoothing=self.smoothing,
                      background=self.background, min_island=self.min_island)
        method, resolution = self.method, self.resolution
        mesh_options = dict(long_side=self.size, solid=self.solid, thickness=self.thickness)
        masker = _mask_provider(context, provider) if provider is not None else None

        def work(token):
            token.progress(0.0, "estimating depth")
            result = provider.depth(rgb, cancel=token)
            depth = relief_mesh.fit_depth(result.image, shape)
            alpha = None
            if masker is not None:
                token.progress(0.6, "finding the subject")
                alpha = masker.background(rgb, "MASK", cancel=token).image / np.float32(255)
            token.progress(0.7, "building the relief")
            if method == "MESH":
                return result, relief_mesh.depth_to_relief(
                    depth, resolution=resolution, alpha=alpha, **common, **mesh_options)
            common.pop("relief_height")
            return result, relief_mesh.displacement_image(depth, resolution, alpha=alpha,
                                                          **common)

        def texture(maps, token):
            # The whole picture (Background: Flat Base), every pixel above the base; the
            # height is a relief already (lighting removed, 0..1), so it is not compressed.
            texture_route.require_relief(maps)
            token.progress(0.7, "building the relief")
            height = np.maximum(maps.height, np.float32(1.0 / 255.0))
            whole = {**common, "background": "BASE", "compression": "LINEAR"}
            if method == "MESH":
                return Result(height), relief_mesh.depth_to_relief(
                    height, resolution=resolution, **whole, **mesh_options)
            whole.pop("relief_height")
            return Result(height), relief_mesh.displacement_image(height, resolution, **whole)

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


def _mask_provider(context, depth_provider):
    """The provider whose person mask outlines the relief: the background provider set in
    the preferences when it runs on this computer (the offline one: no credits, no network;
    the depth provider itself when it is that one). A service is never called just for the
    outline: then the depth's own values give it (core.foreground)."""
    if not depth_provider.remote and "background" in depth_provider.capabilities:
        return depth_provider
    try:
        masker = make_provider(context, "background")
    except MapsmithError:
        return None
    return None if masker.remote else masker


def _build_mesh(context, source, photo, rm):
    stem = source.stem
    mesh = meshes.from_relief(f"{stem} relief", rm)
    # The face smooth; back and rim stay crisp. A mesh without a "sharp_face" attribute is
    # smooth all over: a relief without back and rim needs no per-face pass (30 ms at 1024²).
    if rm.num_polygons > rm.n_front_polys:
        smooth = np.zeros(rm.num_polygons, bool)
        smooth[:rm.n_front_polys] = True
        mesh.polygons.foreach_set("use_smooth", smooth)
    elif "sharp_face" in mesh.attributes:
        mesh.attributes.remove(mesh.attributes["sharp_face"])
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
    displace.strength = op.height()
    return obj
