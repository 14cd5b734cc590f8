"""Headless Blender (the bpy wheel) with the built Mapsmith zip installed as a user would.

Shared by tools/demo.py, tools/bench.py and the Blender tests. Import this module BEFORE
anything imports bpy: it points Blender's user folders at a temporary directory first, so
nothing is written into the home folder.
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

if "bpy" not in sys.modules:
    os.environ.setdefault("BLENDER_USER_RESOURCES",
                          tempfile.mkdtemp(prefix="mapsmith-blender-user-"))

import bpy  # noqa: E402

import addon_utils  # noqa: E402  (on sys.path once bpy is imported)

ROOT = pathlib.Path(__file__).resolve().parent.parent
PKG = "bl_ext.user_default.mapsmith"


class SetupError(RuntimeError):
    pass


def built_zip() -> pathlib.Path:
    dist = pathlib.Path(os.environ.get("MAPSMITH_DIST", ROOT / "dist"))
    zips = sorted(dist.glob("mapsmith-*-linux_x64.zip"))
    if not zips:
        raise SetupError(f"No built extension in {dist}: run `make build` first")
    return zips[-1]


def install() -> None:
    """Install the built zip into the user repository and enable it."""
    bpy.ops.extensions.package_install_files(
        filepath=str(built_zip()), repo="user_default", enable_on_install=True)
    # package_install_files returns FINISHED even for a broken package: check it registered.
    registered = hasattr(bpy.types, "MAPSMITH_OT_depth_relief")
    if PKG not in bpy.context.preferences.addons or not registered:
        raise SetupError("The built extension did not register in Blender")


def enable() -> None:
    addon_utils.enable(PKG, default_set=True, handle_error=None)
    if PKG not in bpy.context.preferences.addons:
        raise SetupError("Could not enable the extension")


def disable() -> None:
    addon_utils.disable(PKG, default_set=True, handle_error=None)


def addon_module():
    return sys.modules[PKG]


def prefs():
    return bpy.context.preferences.addons[PKG].preferences


def reset_scene() -> None:
    """An empty scene with the add-on enabled (factory settings disable add-ons)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    enable()


def load_astronaut(name: str = "astronaut.png", size: int | None = None):
    """scikit-image's astronaut as a Blender image (byte, sRGB), optionally resized."""
    import numpy as np
    from PIL import Image
    from skimage import data

    rgb = data.astronaut()
    if size:
        rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.LANCZOS))
    return new_image(name, rgb)


def new_image(name: str, rgb, float_buffer: bool = False):
    import numpy as np

    h, w = rgb.shape[:2]
    image = bpy.data.images.new(name, w, h, alpha=True, float_buffer=float_buffer)
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)]) if rgb.shape[2] == 3 else rgb
    image.pixels.foreach_set((rgba[::-1].astype(np.float32) / 255).ravel())
    image.update()
    return image


def make_movie(pngs, path, quality: str = "LOSSLESS"):
    """An MPEG-4 H.264 movie of the PNG files ``pngs`` (one frame each, all one size) made by
    Blender's Video Sequencer in a scene of its own (removed again), loaded as an Image.
    ``quality``: the encoder's constant rate factor (LOSSLESS, HIGH, MEDIUM...)."""
    scene = bpy.data.scenes.new("make movie")
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences   # 5.0: strips
    strip = strips.new_image("frames", str(pngs[0]), 1, 1)
    for png in pngs[1:]:
        strip.elements.append(pathlib.Path(png).name)
    width, height = strip.elements[0].orig_width, strip.elements[0].orig_height
    render = scene.render
    scene.frame_start, scene.frame_end = 1, len(pngs)
    render.resolution_x, render.resolution_y = width, height
    render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    if hasattr(render.image_settings, "media_type"):           # 5.0: image or video
        render.image_settings.media_type = "VIDEO"
    render.image_settings.file_format = "FFMPEG"
    render.ffmpeg.format, render.ffmpeg.codec = "MPEG4", "H264"
    render.ffmpeg.constant_rate_factor = quality
    render.filepath = str(path)
    render.use_file_extension = False
    try:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.render.render(animation=True)
    finally:
        bpy.data.scenes.remove(scene)
    return bpy.data.images.load(str(path))


def exit_now(status: int) -> None:
    """Leave without interpreter teardown: Blender 4.x can hang at exit while anything is
    registered. Unregister first, flush, and keep the status."""
    try:
        if PKG in bpy.context.preferences.addons:
            disable()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
