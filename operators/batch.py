"""mapsmith.batch_maps: maps for many images (or every frame of a sequence) in one job.

The inputs are gathered here on the main thread: files by path (read by the job's thread
with Pillow), and the pixels of images only Blender can read (packed, generated or edited
ones) read now. The work is ``blender/batch.py``'s runner; this module builds its plan from
the options (and, for reliefs and lithophanes, the options last used by those operators)
and, for a sequence or a movie, loads the normal, mask and depth outputs back as image
sequences wired into a material that follows the frame.

A movie's frames are decoded by Blender itself (``blender/movie_frames.py``: Pillow cannot
decode video, and ``Image.pixels`` has no image user to choose a frame) on the main thread
before the job's thread starts, one frame per tick of the job's timer in the UI, all at once
headless; the temporary frame files are removed when the job is over.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, StringProperty

from .. import preferences, providers
from ..blender import batch, meshes, movie_frames, nodes, pixels, printing
from ..blender.sources import Source, name_stem
from ..core import relief_mesh, texture_maps
from ..core.errors import Cancelled, CancelToken, InputError
from ..providers import cache
from .job_operator import JobOperator, make_provider

INPUTS = (
    ("NODES", "Selected Image Textures", "The selected Image Texture nodes of the active "
                                         "object's active material"),
    ("FILES", "Files", "A list of image files (scripts: files=[{'name': ...}], directory=...)"),
    ("FOLDER", "Folder", "Every image in a folder matching a pattern"),
    ("SEQUENCE", "Image Sequence or Movie", "Every frame (or a range) of an image sequence or "
                                            "a movie (e.g. an .mp4 opened in the Image Editor)"),
)
MAP_ITEMS = (
    ("NORMAL", "Normal", "<name>_normal.png, 16-bit (OpenGL, green up)"),
    ("DEPTH", "Depth", "<name>_depth.exr, 32-bit float (1 = nearest)"),
    ("MASK", "Mask", "<name>_mask.png, 16-bit (white = subject)"),
    ("CUTOUT", "Cutout", "<name>_cutout.png, 16-bit RGBA with clean edge colours"),
    ("HEIGHT", "Height", "<name>_height.png, 16-bit height of a texture"),
    ("RELIEF", "Relief STL", "<name>_relief.stl with the Depth Relief options, in mm, flat"),
    ("LITHOPHANE", "Lithophane STL", "<name>_lithophane.stl with the Lithophane options, in mm"),
)
SUBJECTS = (
    ("PORTRAIT", "Portraits", "Photos of people: depth, normals and masks from the providers "
                              "chosen in the preferences"),
    ("TEXTURE", "Textures", "Surfaces (bricks, wood, stone): height, normals and depth from "
                            "the texture itself, on this computer"),
)
SEQUENCE_MAPS = {"NORMAL": "Normals", "MASK": "Mask", "DEPTH": "Depth"}

# Workers of batches cancelled from the UI that are still finishing their current item.
_FINISHING: set = set()
_FINISHING_LOCK = threading.Lock()


def _last(context, idname):
    return context.window_manager.operator_properties_last(idname)


class MAPSMITH_OT_batch_maps(JobOperator, bpy.types.Operator):
    bl_idname = "mapsmith.batch_maps"
    bl_label = "Batch Maps"
    bl_description = ("Make maps (normals, depth, masks, cutouts, heights, STL reliefs) for "
                      "many images or every frame of a sequence, as files in one folder")
    needs_source = False
    needs_provider = False

    source: EnumProperty(name="Input", items=INPUTS, default="FOLDER",
                         description="Where the images of the batch come from")
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"SKIP_SAVE"},
                              description="The image files to process (with Directory)")
    directory: StringProperty(name="Directory", subtype="DIR_PATH", options={"SKIP_SAVE"},
                              description="Folder of the files in Files")
    folder: StringProperty(name="Folder", subtype="DIR_PATH",
                           description="Folder of images to process")
    pattern: StringProperty(name="Pattern", default="*",
                            description='Which files of the folder, e.g. "*.jpg" or "wall_*"')
    sequence: StringProperty(name="Sequence or Movie",
                             description="Name of the image sequence or movie image "
                                         "data-block to process")
    frame_start: IntProperty(name="First Frame", default=0, min=0,
                             description="First frame number of the sequence or movie (a "
                                         "movie's frames count from 1; 0: the first)")
    frame_end: IntProperty(name="Last Frame", default=0, min=0,
                           description="Last frame number of the sequence or movie (0: the "
                                       "last)")
    output: StringProperty(name="Output Folder", subtype="DIR_PATH", default="//maps/",
                           description="Where the maps and batch_report.json/.csv go "
                                       "(created if missing)")
    maps: EnumProperty(name="Maps", items=MAP_ITEMS, options={"ENUM_FLAG"},
                       default={"NORMAL", "DEPTH", "MASK"},
                       description="Which maps to make for each image")
    subject: EnumProperty(name="Subject", items=SUBJECTS, default="PORTRAIT",
                          description="Portraits ask the providers; textures are made here")
    overwrite: BoolProperty(
        name="Overwrite", default=False,
        description="Make every map again; off: inputs whose maps exist and are newer are "
                    "skipped, so a stopped batch resumes where it stopped")
    load_sequences: BoolProperty(
        name="Load into Material", default=True,
        description="For a sequence or movie: load the normal, mask and depth maps back as "
                    "image sequences in a material (normal map, alpha, displacement) that "
                    "follow the frame")

    @classmethod
    def poll(cls, context):
        with _FINISHING_LOCK:
            finishing = bool(_FINISHING)
        if finishing:
            cls.poll_message_set("A stopped batch is finishing its current item: wait a moment")
            return False
        return super().poll(context)

    @staticmethod
    def draw_options(layout, props):
        layout.prop(props, "source")
        if props.source == "FOLDER":
            layout.prop(props, "folder")
            layout.prop(props, "pattern")
        elif props.source == "SEQUENCE":
            layout.prop_search(props, "sequence", bpy.data, "images")
            col = layout.column(align=True)
            col.prop(props, "frame_start")
            col.prop(props, "frame_end")
            layout.prop(props, "load_sequences")
        elif props.source == "FILES":
            layout.operator("mapsmith.batch_choose_files", icon="FILEBROWSER")
        layout.prop(props, "output")
        layout.prop(props, "subject")
        col = layout.column(heading="Maps", align=True)
        for ident, _name, _desc in MAP_ITEMS:
            col.prop_enum(props, "maps", ident)
        layout.prop(props, "overwrite")

    # -- inputs (main thread) ---------------------------------------------------------------
    def _items(self, context) -> list:
        if self.source == "FOLDER":
            return batch.file_items(batch.folder_files(bpy.path.abspath(self.folder),
                                                       self.pattern))
        if self.source == "FILES":
            folder = bpy.path.abspath(self.directory)
            paths = [os.path.join(folder, f.name) for f in self.files if f.name]
            if not paths:
                raise InputError("No files given: pass files=[{'name': 'a.png'}, ...] and "
                                 "directory='/folder/' (or choose the Folder input)")
            return batch.file_items(paths)
        if self.source == "SEQUENCE":
            movie = self._movie()
            if movie is not None:
                return movie_frames.batch_items(movie, self.frame_start, self.frame_end)
            return batch.sequence_items(self._sequence_path(), self.frame_start,
                                        self.frame_end)
        return self._node_items(context)

    def _sequence_image(self):
        image = bpy.data.images.get(self.sequence)
        if image is None:
            raise InputError(f'No image sequence or movie named "{self.sequence}": load one '
                             "(Image > Open: the numbered files of a sequence, or a movie "
                             "file) and name it in Sequence or Movie")
        return image

    def _movie(self):
        """The movie image the input is, if it is one."""
        if self.source != "SEQUENCE":
            return None
        image = self._sequence_image()
        return image if image.source == "MOVIE" else None

    def _sequence_path(self) -> str:
        image = self._sequence_image()
        if image.source != "SEQUENCE":
            raise InputError(f'"{image.name}" is not an image sequence or a movie (its source '
                             f"is {image.source.lower()}): use the Folder or Files input")
        if image.packed_file is not None or not image.filepath:
            raise InputError(f'"{image.name}" is packed: unpack it (Image > Unpack) so its '
                             "frames are files")
        return bpy.path.abspath(image.filepath, library=image.library)

    def _node_items(self, context) -> list:
        obj = context.active_object
        material = obj.active_material if obj is not None else None
        tree = material.node_tree if material is not None else None
        found = [n for n in tree.nodes if n.type == "TEX_IMAGE" and n.image is not None
                 and n.select] if tree is not None else []
        if not found and tree is not None and tree.nodes.active is not None \
                and tree.nodes.active.type == "TEX_IMAGE" and tree.nodes.active.image:
            found = [tree.nodes.active]
        if not found:
            raise InputError("No Image Texture node selected: select some in the active "
                             "object's material, or choose the Folder input")
        items, seen = [], set()
        for node in found:
            image = node.image
            if image.session_uid in seen:
                continue
            seen.add(image.session_uid)
            items.append(self._image_item(image))
        return items

    @staticmethod
    def _image_item(image) -> batch.Item:
        stem = name_stem(image.name)
        path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
        if image.source not in {"FILE", "GENERATED"}:
            return batch.Item(image.name, stem, error=f'"{image.name}" is a '
                              f"{image.source.lower()} image: use the Image Sequence or Movie "
                              "input for sequences and movies")
        if (image.source == "FILE" and image.packed_file is None and not image.is_dirty
                and path and os.path.isfile(path)):
            return batch.Item(image.name, stem, path=path)         # read by the job's thread
        try:                                                      # only Blender can read it
            return batch.Item(image.name, stem, rgba=pixels.read_display_uint8(image))
        except InputError as err:
            return batch.Item(image.name, stem, error=str(err))
        except Exception as err:  # noqa: BLE001  (Blender's own read errors)
            return batch.Item(image.name, stem, error=f'Cannot read "{image.name}": {err}')

    # -- the plan ---------------------------------------------------------------------------
    def _output(self) -> str:
        folder = bpy.path.abspath(self.output) if self.output else ""
        if not folder or folder.startswith("//"):
            raise InputError("Save the .blend file first, or give an absolute Output Folder: "
                             '"//maps/" is relative to the saved file')
        return folder

    def _relief_options(self, context) -> dict:
        last = _last(context, "mapsmith.depth_relief")
        names = ("resolution", "size", "relief_height", "compression", "detail", "engrave",
                 "smoothing", "min_island", "background", "solid", "thickness")
        values = {n: getattr(last, n) for n in names} if last is not None else {
            "resolution": relief_mesh.DEFAULT_RESOLUTION, "size": relief_mesh.DEFAULT_LONG_SIDE,
            "relief_height": relief_mesh.DEFAULT_RELIEF_HEIGHT, "compression": "GRADIENT",
            "detail": relief_mesh.DEFAULT_DETAIL, "engrave": False,
            "smoothing": relief_mesh.DEFAULT_SMOOTHING,
            "min_island": relief_mesh.DEFAULT_MIN_ISLAND,
            "background": "CUT" if self.subject == "PORTRAIT" else "BASE", "solid": True,
            "thickness": relief_mesh.DEFAULT_THICKNESS}
        values["long_side"] = values.pop("size")
        if self.subject == "TEXTURE":
            values["background"] = "BASE"       # a texture has no background to cut
            values["background_level"] = -1.0
        return values

    def _lithophane_options(self, context) -> dict:
        mm = printing.mm_per_unit(context)
        last = _last(context, "mapsmith.lithophane")
        if last is None:
            return {}
        return dict(size=last.size * mm, min_thickness=last.min_thickness * mm,
                    max_thickness=last.max_thickness * mm, border=last.border * mm,
                    shape=last.shape, curve_angle=math.degrees(last.curve_angle),
                    tone=last.tone, nozzle=last.nozzle * mm)

    def prepare(self, context, source, provider):
        if not self.maps:
            raise InputError("No map chosen: tick at least one of the Maps")
        items = self._items(context)
        output = self._output()
        batch.check_output_folder(output)
        plan = batch.Plan(items=items, maps=tuple(m for m, _n, _d in MAP_ITEMS if m in self.maps),
                          output=output, subject=self.subject, overwrite=self.overwrite,
                          same_size=self.source == "SEQUENCE",
                          relief=self._relief_options(context),
                          relief_scale=printing.mm_per_unit(context),
                          lithophane=self._lithophane_options(context),
                          texture=dict(detail_scale=texture_maps.DEFAULT_DETAIL_SCALE))
        for cap in batch.capabilities(plan.maps, plan.subject):
            plan.providers[cap] = make_provider(context, cap)
        todo = [i for i in items if plan.overwrite or not batch.up_to_date(plan, i)]
        labels = {pid: providers.label(pid) for pid in providers.RECORDS}
        plan.warnings = batch.credits_warnings(batch.estimate_calls(plan, todo),
                                               preferences.last_credits, labels)
        for warning in plan.warnings:
            self.report({"WARNING"}, warning)
        self._credits_left = plan.credits_left
        self._plan_info = (output, self.source == "SEQUENCE" and self.load_sequences,
                           self.sequence, [i.frame for i in items], [i.stem for i in items])
        started = self._started = threading.Event()     # past reading a movie's frames

        def work(token):
            if cache.serving_only_cached():      # never on the main thread: start the job
                raise cache.CacheMiss("batch")
            started.set()
            calls = CancelToken()                # Esc stops after the item, not inside it
            me = threading.get_ident()

            def progress(fraction, text):
                try:
                    token.progress(fraction, text)
                except Cancelled:
                    pass

            with _FINISHING_LOCK:
                _FINISHING.add(me)
            try:
                report = batch.run(plan, progress=progress, token=calls,
                                   should_stop=lambda: token.cancelled)
            finally:
                with _FINISHING_LOCK:
                    _FINISHING.discard(me)
            return report

        movie = self._movie()
        if movie is None:
            started.set()                        # nothing to read first
            return work
        return movie_frames.after_reading(movie, todo, work)

    # -- the end (main thread) ------------------------------------------------------------
    def _report_end(self, context, state, payload, error):
        if state == "CANCELLED" and not self._started.is_set():
            self.report({"WARNING"}, rpt_(
                'Batch Maps cancelled while reading the frames of "{movie}": nothing was '
                "made").format(movie=self.sequence))
            return {"CANCELLED"}
        if state == "CANCELLED":
            output = self._plan_info[0]
            self.report({"WARNING"}, rpt_(
                "Batch Maps stopped: the item in progress is finished, the rest is not run; "
                "{report} in {folder} lists what was made. Run it again to resume").format(
                    report=batch.REPORT_JSON, folder=output))
            return {"CANCELLED"}
        return super()._report_end(context, state, payload, error)

    def finish(self, context, source, report):
        output, load, sequence, frames, stems = self._plan_info
        preferences.last_credits.update(self._credits_left)      # for the next check
        json_path = os.path.join(output, batch.REPORT_JSON)
        for item in report.items:
            if item.status == batch.FAILED:
                self.report({"WARNING"}, rpt_("{item}: {message}").format(
                    item=item.input, message=item.message))
        note = ""
        if load:
            note = self._load_sequences(context, report, frames, stems)
        failed = report.count(batch.FAILED)
        message = f"Batch Maps: {report.summary()}. Report: {json_path}{note}"
        if failed:
            self.report({"WARNING"}, message)
            return ""
        return message

    def _load_sequences(self, context, report, frames, stems) -> str:
        """The sequence's (or movie's) normal, mask and depth maps as image sequences in a
        material."""
        first_done = next((i for i, r in enumerate(report.items)
                           if r.status in (batch.DONE, batch.SKIPPED)), None)
        if first_done is None or not frames:
            return ""
        source_image = bpy.data.images.get(self.sequence)
        if source_image is None:
            return f'; "{self.sequence}" was removed meanwhile: no material made'
        output = self._plan_info[0]
        stem = stems[first_done]
        loaded = {}
        for map_name in SEQUENCE_MAPS:
            if map_name not in self.maps:
                continue
            path = os.path.join(output, stem + batch.MAPS[map_name][0])
            if not os.path.isfile(path):
                continue
            image = bpy.data.images.load(path, check_existing=False)
            image.source = "SEQUENCE"
            image.colorspace_settings.is_data = True
            image.name = f"{self.sequence} {SEQUENCE_MAPS[map_name].lower()}"
            loaded[map_name] = image
        if not loaded:
            return ""
        src = Source(source_image.name, source_image, np.zeros((1, 1, 4), np.uint8))
        obj = context.active_object
        if obj is not None and obj.type == "MESH":
            material = obj.active_material
            if material is None:
                material = nodes.new_material(src, "maps")
                obj.data.materials.append(material)
        else:
            from PIL import Image  # the frames' size, without loading them
            with Image.open(next(iter(loaded.values())).filepath) as im:
                w, h = im.size
            material, _tree, _bsdf, _out, photo = nodes.photo_material(src, "maps",
                                                                       source_image)
            _follow(photo, context, frames)
            obj = meshes.add_object(context, src.stem, meshes.plane(src.stem, w / h, 1.0),
                                    material)
        tree = nodes.node_tree(material)
        bsdf, _output = nodes.principled(material)
        if "NORMAL" in loaded:
            tex, _nmap = nodes.add_normal_map(material, loaded["NORMAL"])
            _follow(tex, context, frames)
        if "MASK" in loaded:
            tex = nodes.image_node(tree, bsdf, loaded["MASK"], name="Mapsmith Mask",
                                   label="Mask", row=1)
            nodes.link_alpha(material, tree, bsdf, tex.outputs["Color"])
            _follow(tex, context, frames)
        if "DEPTH" in loaded:
            relief = self._relief_options(context)
            tex, _disp = nodes.add_displacement(material, loaded["DEPTH"],
                                                scale=relief["relief_height"])
            _follow(tex, context, frames)
        return (f'; {", ".join(SEQUENCE_MAPS[m].lower() for m in loaded)} sequences in '
                f'"{material.name}" on "{obj.name}" (files in the output folder)')


class MAPSMITH_OT_batch_choose_files(bpy.types.Operator):
    """Choose image files, then run Batch Maps on them with its current options"""

    bl_idname = "mapsmith.batch_choose_files"
    bl_label = "Choose Files..."
    bl_options = {"REGISTER"}      # Batch Maps is its own undo step; the files are only read

    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"SKIP_SAVE"},
                              description="The image files chosen")
    directory: StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"},
                              description="The folder of the files chosen")
    filter_image: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        return MAPSMITH_OT_batch_maps.poll(context)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        last = _last(context, MAPSMITH_OT_batch_maps.bl_idname)
        options = {name: getattr(last, name) for name in ("output", "maps", "subject",
                                                         "overwrite")} if last else {}
        try:
            return bpy.ops.mapsmith.batch_maps(
                "INVOKE_DEFAULT", source="FILES", directory=self.directory,
                files=[{"name": f.name} for f in self.files], **options)
        except RuntimeError as err:          # refused at once: nothing was written
            self.report({"ERROR"}, str(err).removeprefix("Error: ").strip())
            return {"CANCELLED"}


def _follow(node, context, frames) -> None:
    """The node's image sequence follows the scene's frame: the scene's first frame shows the
    batch's first frame."""
    user = node.image_user
    user.frame_duration = len(frames)
    user.frame_start = context.scene.frame_start
    user.frame_offset = frames[0] - 1
    user.use_auto_refresh = True
    user.use_cyclic = False
