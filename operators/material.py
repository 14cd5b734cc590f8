"""mapsmith.material_setup: one click, a photo plane with cutout, normals and displacement."""

import numpy as np

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty

from .. import preferences, providers
from ..blender import meshes, nodes, texture_material
from ..core import cutout
from ..core import normals as core_normals
from ..providers import Result
from ..providers.offline.face import face_mask
from .background import despill_prop, edge_colour_prop, keep_islands_prop
from .job_operator import DrawsOptions, JobOperator, image_prop, make_provider, provider_prop
from .placement import PlaneOptions
from .texture_route import TEXTURE, SubjectOptions

ROLE = "material"          # "<image> material", and the plane carrying it


class MAPSMITH_OT_material_setup(DrawsOptions, PlaneOptions, SubjectOptions, JobOperator,
                                 bpy.types.Operator):
    """A portrait's photo plane (cutout, normals, displacement) or a texture's tiling material"""

    bl_idname = "mapsmith.material_setup"
    bl_label = "One-Click Material"
    capability = "depth"
    needs_provider = False      # three providers, made in prepare()
    # Which maps are asked for. Normal Map asks too when its provider is a service; Offline
    # normals are derived from the material's own depth, so toggling them asks nothing.
    request_options = ("image", "provider", "normals_provider", "background_provider",
                       "use_cutout", "use_displacement",
                       "subject")                          # AUTO asks the person check

    image: image_prop()
    provider: provider_prop("depth")
    normals_provider: provider_prop("normals")
    background_provider: provider_prop("background")
    use_cutout: BoolProperty(name="Cutout", default=True,
                             description="Remove the background through the material's alpha")
    edge_colour: edge_colour_prop()
    despill: despill_prop()
    keep_islands: keep_islands_prop()
    use_normals: BoolProperty(name="Normal Map", default=True,
                              description="Add the portrait's surface normals as a normal map")
    use_displacement: BoolProperty(name="Displacement", default=True,
                                   description="Displace the plane by the portrait's depth")
    height: FloatProperty(
        name="Plane Height", default=1.0, min=0.001, soft_max=100.0,
        subtype="DISTANCE", unit="LENGTH", description="Height of the photo plane")
    normal_strength: FloatProperty(
        name="Normal Strength", default=1.0, min=0.0, soft_max=5.0,
        description="How strongly the normal map bends the light on the plane (the Normal Map "
                    "node's Strength)")
    displacement: FloatProperty(
        name="Displacement", default=0.1, min=0.0, soft_max=1.0,
        subtype="DISTANCE", unit="LENGTH",
        description="How far the nearest point stands out of the plane")
    subdivisions: IntProperty(
        name="Subdivisions", default=8, min=1, max=11,
        description="Render subdivision level of the plane for true displacement "
                    "(the viewport uses at most 6)")

    on_active_object: BoolProperty(
        name="On Active Object", default=False,
        description="Texture material: put it on the active mesh object, through its UV map, "
                    "instead of a new plane sized to the texture")
    tiling: FloatProperty(
        name="Tiling", default=1.0, min=0.001, soft_max=64.0,
        description="Texture material: how many times the texture repeats across the UV "
                    "square (the Mapping node's scale)")

    @property
    def _wanted(self):
        return {"background": self.use_cutout, "normals": self.use_normals,
                "depth": self.use_displacement}

    @staticmethod
    def draw_options(layout, props):
        """The options, drawn by Adjust Last Operation and by the sidebar sub-panel."""
        SubjectOptions.draw_subject(layout, props)
        col = layout.column(align=True)
        col.active = props.subject != "PORTRAIT"
        col.prop(props, "on_active_object")
        col.prop(props, "tiling")
        col = layout.column(heading="Maps", align=True)
        col.prop(props, "use_cutout")
        col.prop(props, "use_normals")
        col.prop(props, "use_displacement")
        col = layout.column(align=True)
        col.active = props.use_cutout
        col.prop(props, "edge_colour")
        col.prop(props, "despill", slider=True)
        col.prop(props, "keep_islands")
        PlaneOptions.draw_placement(layout, props)
        col = layout.column(align=True)
        col.active = props.use_normals
        col.prop(props, "normal_strength")
        col = layout.column(align=True)
        col.active = props.use_displacement
        col.prop(props, "displacement")
        col.prop(props, "subdivisions")

    def draw_provider(self, layout):
        col = layout.column(heading="Providers")
        col.prop(self, "provider", text="Provider")
        col.prop(self, "normals_provider", text="Normals")
        col.prop(self, "background_provider", text="Background")

    def providers_for(self, context) -> dict:
        """capability -> provider id for the maps wanted.

        The Provider choice applies to every capability that provider offers; Normals and
        Background, when not left at Default, override it; the rest follow the preferences."""
        prefs = preferences.get(context)
        explicit = {"depth": self.provider, "normals": self.normals_provider,
                    "background": self.background_provider}
        chosen = {}
        for cap, wanted in self._wanted.items():
            if not wanted:
                continue
            choice = explicit[cap]
            if choice == "DEFAULT" and self.provider != "DEFAULT" \
                    and cap in providers.RECORDS[self.provider].capabilities:
                choice = self.provider
            chosen[cap] = getattr(prefs, f"{cap}_provider") if choice == "DEFAULT" else choice
        return chosen

    def prepare(self, context, source, provider):
        texture = texture_material.prepare(self, context, source)
        portrait = (None if self.subject == TEXTURE
                    else self._prepare_portrait(context, source, provider))
        return self.routed(context, source.rgba[..., :3], portrait, texture)

    def finish(self, context, source, payload):
        if self.route.kind == TEXTURE:
            return texture_material.build(self, context, source, payload)
        return self._finish_portrait(context, source, payload)

    def _prepare_portrait(self, context, source, _provider):
        chosen = self.providers_for(context)
        # One depth per material: with displacement on, offline normals are derived from the
        # displacement's own depth (whichever service made it), never from a second estimate,
        # and describe the same relief as the displacement (see relief_strength).
        derive = chosen.get("normals") == "OFFLINE" and "depth" in chosen
        if derive:
            del chosen["normals"]
        self._placed = self.plane_placement(context, source.size)
        strength = self.relief_strength(source.size, self._placed.size[1])
        made = {cap: make_provider(context, cap, pid) for cap, pid in chosen.items()}
        rgb = source.rgba[..., :3]
        refine = dict(edge_colour=self.edge_colour, despill=self.despill,
                      keep_islands=self.keep_islands)
        steps = {"background": "removing the background", "normals": "estimating normals",
                 "depth": "estimating depth"}

        def work(token):
            out = {}
            for i, (cap, provider) in enumerate(made.items()):
                token.progress(i / (len(made) + 1), steps[cap])
                if cap == "background":
                    out[cap] = provider.background(rgb, "MASK", cancel=token)
                    out[cap].image, colour = cutout.refine_mask(
                        rgb, out[cap].image, keep=face_mask(rgb), cancel=token, **refine)
                    if colour is not None:
                        out["edge colour"] = Result(colour)
                elif cap == "normals":
                    out[cap] = provider.normals(rgb, cancel=token)
                else:
                    out[cap] = provider.depth(rgb, cancel=token)
            if derive:
                token.progress(len(made) / (len(made) + 1), "normals from the depth")
                out["normals"] = Result(core_normals.normals_from_depth(out["depth"].image,
                                                                        strength))
            token.progress(1.0, "building the material")
            return out

        return work

    def _finish_portrait(self, context, source, results):
        photo = nodes.photo_image(source)
        material, tree, bsdf, _output, _tex = nodes.photo_material(source, ROLE, photo,
                                                                   reuse=True)
        if "background" in results:
            mask = nodes.result_image(source, "mask", results["background"].image,
                                      non_color=True, reuse="material mask")
            tex = nodes.image_node(tree, bsdf, mask, name="Mapsmith Mask", label="Mask", row=1)
            nodes.link_alpha(material, tree, bsdf, tex.outputs["Color"])
            nodes.frame(tree, "Mapsmith Cutout Frame", "Cutout", [tex])
            edge = results.pop("edge colour", None)
            nodes.edge_colour(material, edge and nodes.result_image(
                source, "edge colour", edge.image, non_color=False, reuse="material edge colour"))
        else:
            nodes.unlink_alpha(material, tree, bsdf)
            nodes.edge_colour(material, None)
            nodes.remove_nodes(tree, "Mapsmith Mask", "Mapsmith Cutout Frame")
        if "normals" in results:
            normal = nodes.result_image(source, "normals", results["normals"].image[..., :3],
                                        non_color=True, reuse="material normals")
            # Over a displaced plane a tangent-space map would bend the already displaced
            # normals again (the shape twice), and EEVEE adds the displacement's bump on top
            # where Cycles does not: in object space the map gives the plane's normals
            # outright, the same in both engines (the plane's UVs follow its local axes).
            nodes.add_normal_map(material, normal, strength=self.normal_strength,
                                 uv_map="UVMap",
                                 space="OBJECT" if "depth" in results else "TANGENT")
        else:
            for link in list(bsdf.inputs["Normal"].links):
                tree.links.remove(link)
            nodes.remove_nodes(tree, "Mapsmith Normals", "Mapsmith Normal Map",
                               "Mapsmith Normal Frame")
        if "depth" in results:
            depth = np.asarray(results["depth"].image, np.float32)
            depth = nodes.result_image(source, "depth", np.dstack([depth] * 3), non_color=True,
                                       float_buffer=True, reuse="material depth")
            # With a normal map shading the surface, the displacement moves it only (a bump
            # from the depth as well would shade the shape twice in EEVEE).
            nodes.add_displacement(material, depth, scale=self.displacement,
                                   method="DISPLACEMENT" if "normals" in results else "BOTH")
        else:
            nodes.remove_nodes(tree, "Mapsmith Depth", "Mapsmith Displacement",
                               "Mapsmith Displacement Frame")

        obj = self._plane(context, source, material)
        notes = sorted({r.note for r in results.values() if r.note})
        note = f" ({'; '.join(notes)})" if notes else ""
        return f'Material "{material.name}" on "{obj.name}"{note}'

    def relief_strength(self, size, plane_height: float) -> float:
        """The ``normals_from_depth`` strength whose relief is the displacement's: depth 1
        rises ``displacement`` on a plane ``plane_height`` tall (normals:
        RELIEF_OF_SHORT_SIDE of the short side at strength 1)."""
        width, height = size
        return (self.displacement / plane_height * height
                / (core_normals.RELIEF_OF_SHORT_SIDE * min(width, height)))

    def _plane(self, context, source, material, role: str = ROLE):
        """Mapsmith's plane for this image (and ``role``), updated (where the artist put
        it); a new one, placed, if it is gone."""
        stem = source.stem
        size_x, size_y = self._placed.size
        obj = nodes.find_tagged(bpy.data.objects, source, role)
        if obj is not None and obj.type == "MESH" and context.scene.objects.get(obj.name):
            meshes.resize_plane(obj.data, size_x, size_y)
            nodes.set_shader(material, self.shader)
            if material.name not in obj.data.materials:
                obj.data.materials.append(material)
        else:
            mesh = meshes.plane(stem, size_x, size_y)
            obj = nodes.tag(meshes.add_object(context, stem, mesh, material), source, role)
            self.place_plane(obj, material, self._placed)
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
