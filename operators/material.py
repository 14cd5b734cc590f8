"""mapsmith.material_setup: one click, a photo plane with cutout, normals and displacement."""

import numpy as np

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty

from ..blender import meshes, nodes
from .job_operator import DrawsOptions, JobOperator, image_prop, make_provider, provider_prop

ROLE = "material"          # "<image> material", and the plane carrying it


class MAPSMITH_OT_material_setup(DrawsOptions, JobOperator, bpy.types.Operator):
    """Build a plane sized to the photo with colour, alpha cutout, normal map and depth
    displacement. Running it again on the same image updates that material and plane"""

    bl_idname = "mapsmith.material_setup"
    bl_label = "One-Click Material"
    capability = "depth"
    needs_provider = False      # three providers, made in prepare()
    request_options = ("image", "provider", "normals_provider", "background_provider",
                       "use_cutout", "use_normals", "use_displacement")   # which maps

    image: image_prop()
    provider: provider_prop("depth")
    normals_provider: provider_prop("normals")
    background_provider: provider_prop("background")
    use_cutout: BoolProperty(name="Cutout", default=True,
                             description="Remove the background through the material's alpha")
    use_normals: BoolProperty(name="Normal Map", default=True,
                              description="Add the portrait's surface normals as a normal map")
    use_displacement: BoolProperty(name="Displacement", default=True,
                                   description="Displace the plane by the portrait's depth")
    height: FloatProperty(
        name="Plane Height", default=1.0, min=0.001, soft_max=100.0,
        subtype="DISTANCE", unit="LENGTH", description="Height of the photo plane")
    normal_strength: FloatProperty(name="Normal Strength", default=1.0, min=0.0, soft_max=5.0)
    displacement: FloatProperty(
        name="Displacement", default=0.1, min=0.0, soft_max=1.0,
        subtype="DISTANCE", unit="LENGTH",
        description="How far the nearest point stands out of the plane")
    subdivisions: IntProperty(
        name="Subdivisions", default=8, min=1, max=11,
        description="Render subdivision level of the plane for true displacement "
                    "(the viewport uses at most 6)")

    @property
    def _wanted(self):
        return {"background": self.use_cutout, "normals": self.use_normals,
                "depth": self.use_displacement}

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        col = layout.column(heading="Maps", align=True)
        col.prop(props, "use_cutout")
        col.prop(props, "use_normals")
        col.prop(props, "use_displacement")
        layout.prop(props, "height")
        col = layout.column(align=True)
        col.active = props.use_normals
        col.prop(props, "normal_strength")
        col = layout.column(align=True)
        col.active = props.use_displacement
        col.prop(props, "displacement")
        col.prop(props, "subdivisions")

    def draw_provider(self, layout):
        col = layout.column(heading="Providers")
        col.prop(self, "background_provider", text="Background")
        col.prop(self, "normals_provider", text="Normals")
        col.prop(self, "provider", text="Depth")

    def prepare(self, context, source, _provider):
        choices = {"background": self.background_provider, "normals": self.normals_provider,
                   "depth": self.provider}
        made = {cap: make_provider(context, cap, choices[cap])
                for cap, wanted in self._wanted.items() if wanted}
        rgb = source.rgba[..., :3]

        def work(token):
            out, steps = {}, len(made)
            for i, (cap, provider) in enumerate(made.items()):
                token.progress(i / steps, {"background": "removing the background",
                                           "normals": "estimating normals",
                                           "depth": "estimating depth"}[cap])
                if cap == "background":
                    out[cap] = provider.background(rgb, "MASK", cancel=token)
                elif cap == "normals":
                    out[cap] = provider.normals(rgb, cancel=token)
                else:
                    out[cap] = provider.depth(rgb, cancel=token)
            token.progress(1.0, "building the material")
            return out

        return work

    def finish(self, context, source, results):
        stem = source.stem
        photo = nodes.photo_image(source)
        material, tree, bsdf, _output, _tex = nodes.photo_material(stem, ROLE, photo,
                                                                   reuse=True)
        made = []
        if "background" in results:
            mask = nodes.result_image(stem, "mask", results["background"].image,
                                      non_color=True, reuse="material mask")
            tex = nodes.image_node(tree, bsdf, mask, name="Mapsmith Mask", label="Mask", row=1)
            nodes.link_alpha(material, tree, bsdf, tex.outputs["Color"])
            nodes.frame(tree, "Mapsmith Cutout Frame", "Cutout", [tex])
            made.append(mask)
        else:
            nodes.unlink_alpha(material, tree, bsdf)
            nodes.remove_nodes(tree, "Mapsmith Mask", "Mapsmith Cutout Frame")
        if "normals" in results:
            normal = nodes.result_image(stem, "normals", results["normals"].image[..., :3],
                                        non_color=True, reuse="material normals")
            nodes.add_normal_map(material, normal, strength=self.normal_strength,
                                 uv_map="UVMap")
            made.append(normal)
        else:
            for link in list(bsdf.inputs["Normal"].links):
                tree.links.remove(link)
            nodes.remove_nodes(tree, "Mapsmith Normals", "Mapsmith Normal Map",
                               "Mapsmith Normal Frame")
        if "depth" in results:
            depth = np.asarray(results["depth"].image, np.float32)
            depth = nodes.result_image(stem, "depth", np.dstack([depth] * 3), non_color=True,
                                       float_buffer=True, reuse="material depth")
            nodes.add_displacement(material, depth, scale=self.displacement)
            made.append(depth)
        else:
            nodes.remove_nodes(tree, "Mapsmith Depth", "Mapsmith Displacement",
                               "Mapsmith Displacement Frame")
        for image in made:
            nodes.pack(image)

        obj = self._plane(context, stem, source.size, material)
        notes = sorted({r.note for r in results.values() if r.note})
        note = f" ({'; '.join(notes)})" if notes else ""
        return f'Material "{material.name}" on "{obj.name}"{note}'

    def _plane(self, context, stem, size, material):
        """Mapsmith's plane for this image, updated; a new one if it is gone."""
        size_x, size_y = meshes.plane_size(*size, self.height)
        obj = nodes.find_tagged(bpy.data.objects, stem, ROLE)
        if obj is not None and obj.type == "MESH" and context.scene.objects.get(obj.name):
            meshes.resize_plane(obj.data, size_x, size_y)
            if material.name not in obj.data.materials:
                obj.data.materials.append(material)
        else:
            mesh = meshes.plane(stem, size_x, size_y)
            obj = nodes.tag(meshes.add_object(context, stem, mesh, material), stem, ROLE)
        subdiv = obj.modifiers.get("Mapsmith Subdivision")
        if self.use_displacement:
            if subdiv is None:
                subdiv = obj.modifiers.new("Mapsmith Subdivision", "SUBSURF")
            subdiv.subdivision_type = "SIMPLE"
            subdiv.levels = min(self.subdivisions, 6)
            subdiv.render_levels = self.subdivisions
        elif subdiv is not None:
            obj.modifiers.remove(subdiv)
        return obj
