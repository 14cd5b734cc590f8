"""A movie's frames as image files, decoded by Blender's own video reader (FFmpeg).

An add-on cannot read the pixels of a chosen frame of a movie ``Image`` (``Image.pixels``
has no image user) and Pillow cannot decode video, but Blender's Video Sequencer can: a
temporary scene holds the movie as a movie strip at the movie's own size, and each frame is
rendered on its own (``render.render(write_still=True)``) to an uncompressed BMP file
(lossless, and at 1080p about 4 times quicker to write than a PNG on 4.2, so each frame
holds the main thread for less; :func:`disk_needed` says how much room they take). The scene
renders nothing but the strip (no camera, no compositing) and its colour management passes
the decoded pixels through unchanged (view transform Standard, look None, exposure 0, gamma
1): frame N of the file is frame N of the movie as decoded.

:func:`batch_items` lists a movie's frames for a batch; :func:`after_reading` puts
:func:`read_frames` before the batch's work. :func:`read_frames` is a ``jobs.Work.prelude``:
a generator the main thread advances one frame at a time (the job session's timer in the
UI, a loop headless). Its ``finally`` removes the temporary scene (and the Render Result
image, if the first render made it) whether the frames were all read, one failed, or the run
was cancelled; the files are removed by the job's cleanup (:func:`after_reading`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator

import bpy

from ..core.errors import InputError
from . import batch, jobs
from .sources import name_stem

SCENE_NAME = "Mapsmith Movie Frames"


def movie_file(image: bpy.types.Image) -> str:
    """The absolute path of a movie data-block's file, or an InputError saying why it cannot
    be read (no video support in this Blender, no file)."""
    if not bpy.app.ffmpeg.supported:
        raise InputError(f'"{image.name}" is a movie, and this Blender was built without '
                         "video support (FFmpeg): render the movie to numbered PNG files in a "
                         "Blender that has it, load those as an image sequence and batch that")
    path = bpy.path.abspath(image.filepath, library=image.library) if image.filepath else ""
    if not path or not os.path.isfile(path):
        raise InputError(f'The file of the movie "{image.name}" ({path or "no file"}) does '
                         "not exist (moved or deleted?): choose it again in the Image Editor "
                         "(Image > Replace)")
    return path


def frame_count(image: bpy.types.Image) -> int:
    """How many frames the movie has (Blender opens the file to tell)."""
    return int(image.frame_duration)


def disk_needed(size: tuple[int, int], frames: int) -> int:
    """Bytes the decoded frames take: 24-bit BMP rows are padded to 4 bytes."""
    width, height = size
    return frames * (54 + height * ((3 * width + 3) // 4 * 4))


def check_room(folder: str, size: tuple[int, int], frames: int, image_name: str) -> None:
    """An InputError, before anything is read, if the decoded frames would not fit."""
    needed = disk_needed(size, frames)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InputError(f'The {frames} frames of "{image_name}" need {needed / 2**30:.1f} GB '
                         f"of temporary space while the batch runs, and {folder} has "
                         f"{free / 2**30:.1f} GB free: free some space, or batch a frame range "
                         "(First Frame, Last Frame) at a time")


def batch_items(movie: bpy.types.Image, start: int = 0, end: int = 0) -> list[batch.Item]:
    """One batch item per frame of the movie ``movie``, frames ``start``..``end`` (0: the
    first / the last; a movie's frames count from 1), not read yet."""
    stem = name_stem(movie.name)     # "clip"
    count = frame_count(movie) if all(movie.size) else 0
    return batch.movie_items(movie.name, stem, movie_file(movie), count, start, end)


def after_reading(movie: bpy.types.Image, items, work) -> jobs.Work:
    """The batch's ``work``, once the main thread has decoded the frames ``items`` need into
    a temporary folder (:func:`read_frames`), removed when the job is over; refused at once
    if the folder's disk has not the room."""
    size = tuple(movie.size)
    check_room(tempfile.gettempdir(), size, len(items), movie.name)
    folder = tempfile.mkdtemp(prefix="mapsmith-movie-frames-")
    return jobs.Work(work, read_frames(movie.name, movie_file(movie), size, items, folder),
                     cleanup=lambda: shutil.rmtree(folder, True))


def _strips(scene):
    editor = scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences   # 5.0: strips


def _render_results() -> set:
    return {i.as_pointer() for i in bpy.data.images if i.type == "RENDER_RESULT"}


def _set_up(scene, path: str, size: tuple[int, int], last_frame: int):
    """The temporary scene renders the movie strip alone, its pixels unchanged: the strip."""
    render = scene.render
    render.resolution_x, render.resolution_y = size
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.use_border = False
    render.use_sequencer = True            # the strip is all it renders: no 3D, no camera
    render.use_compositing = False
    render.use_stamp = False
    render.use_file_extension = False
    settings = render.image_settings
    if hasattr(settings, "media_type"):    # 5.0: image or video output
        settings.media_type = "IMAGE"
    settings.file_format = "BMP"
    settings.color_mode = "RGB"
    settings.color_depth = "8"
    view = scene.view_settings             # the decoded pixels, unchanged
    view.view_transform = "Standard"
    view.look = "None"
    view.exposure = 0.0
    view.gamma = 1.0
    view.use_curve_mapping = False
    scene.frame_start, scene.frame_end = 1, max(1, last_frame)
    return _strips(scene).new_movie("movie", path, 1, 1, fit_method="ORIGINAL")


def read_frames(image_name: str, path: str, size: tuple[int, int], items, folder: str
                ) -> Generator[tuple[float, str], None, None]:
    """Decode each item's ``frame`` of the movie file ``path`` (``size`` = width, height) to
    a BMP file in ``folder``: the item's ``path`` is set to it, or its ``error`` says why that
    frame could not be read. Yields (fraction, "Reading frame i/n") after each frame; a failure that
    stops every frame (Blender busy rendering) raises an InputError."""
    items = list(items)
    if not items:
        return
    had = _render_results()
    made = None                            # the Render Result image, if our first render made it
    uid = None
    try:
        scene = bpy.data.scenes.new(SCENE_NAME)
        uid = scene.session_uid            # removed in the finally, whatever fails next
        strip = _set_up(scene, path, size, max(item.frame for item in items))
        readable = int(getattr(strip, "content_duration", None)      # 5.2; then deprecated:
                       or strip.frame_duration)
        n = len(items)
        for i, item in enumerate(items, 1):
            scene = _scene(uid)            # an undo between two steps may have replaced it
            if scene is None:
                raise InputError(f'Reading the frames of "{image_name}" was interrupted (an '
                                 "undo?): run the batch again")
            if item.frame > readable:
                item.error = (f'Blender read only {readable} frames of "{image_name}": frame '
                              f"{item.frame} could not be decoded (a damaged or cut movie "
                              "file?)")
            else:
                _render(scene, item, os.path.join(folder, f"frame_{item.frame:06d}.bmp"),
                        image_name)
                if made is None:
                    made = _render_results() - had
            yield i / n, f"Reading frame {i}/{n}"
    finally:
        scene = _scene(uid)
        if scene is not None:
            bpy.data.scenes.remove(scene)
        for result in [i for i in bpy.data.images if i.as_pointer() in (made or ())]:
            bpy.data.images.remove(result)


def _scene(uid):
    return next((s for s in bpy.data.scenes if s.session_uid == uid), None) if uid else None


def _render(scene, item, file: str, image_name: str) -> None:
    scene.frame_current = item.frame
    scene.render.filepath = file
    try:
        with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
            bpy.ops.render.render(write_still=True, scene=scene.name)
    except RuntimeError as err:
        reason = str(err).removeprefix("Error: ").strip()
        raise InputError(f'Blender could not read the frames of "{image_name}" ({reason}): if '
                         "a render is running, wait for it to finish and run the batch "
                         "again") from None
    if os.path.isfile(file):
        item.path = file
    else:
        item.error = f'Blender could not decode frame {item.frame} of "{image_name}"'
