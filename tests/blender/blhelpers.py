"""Helpers for the Blender tests (import as `blhelpers`; conftest.py sets things up first)."""

import os
import pathlib
import sys
import tempfile

import pytest

if "bpy" not in sys.modules:  # imported before conftest ran: keep Blender out of $HOME anyway
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="mapsmith-blender-user-"))

import addon_utils  # noqa: E402
import bpy  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = "bl_ext.user_default.mapsmith"
OPERATORS = ("depth_relief", "normal_map", "remove_background", "cleanup_paint_mask",
             "cleanup_apply", "material_setup")


def built_zip() -> pathlib.Path:
    dist = pathlib.Path(os.environ.get("MAPSMITH_DIST", ROOT / "dist"))
    zips = sorted(dist.glob("mapsmith-*-linux_x64.zip"))
    if not zips:
        pytest.exit("No built extension in dist/: run `make build` first", returncode=2)
    return zips[-1]


def install_zip() -> None:
    bpy.ops.extensions.package_install_files(
        filepath=str(built_zip()), repo="user_default", enable_on_install=True)
    # package_install_files returns FINISHED even for a broken package: check it registered.
    if PKG not in bpy.context.preferences.addons or not hasattr(bpy.types, "MAPSMITH_OT_depth_relief"):
        pytest.exit("The built extension did not register in Blender", returncode=3)


def enable() -> None:
    addon_utils.enable(PKG, default_set=True, handle_error=None)
    assert PKG in bpy.context.preferences.addons


def disable() -> None:
    addon_utils.disable(PKG, default_set=True, handle_error=None)


def addon_module():
    return sys.modules[PKG]


def prefs():
    return bpy.context.preferences.addons[PKG].preferences


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
