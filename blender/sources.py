"""Which image an operator works on, and its pixels.

Order (the scripting interface): the ``image`` property (a name in ``bpy.data.images``),
else the Image Editor's image, else the Shader Editor's active Image Texture node, else the
active object's active Image Texture node, else the last render. Render Result has no
readable pixels, so it is saved to a temporary file and read back.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

import numpy as np

import bpy

from ..core.errors import SourceError
from . import pixels


@dataclasses.dataclass
class Source:
    name: str                                # for naming results: "<name> relief", ...
    image: bpy.types.Image | None       # None for the render result (read back from disk)
    rgba: np.ndarray                         # uint8 (H, W, 4), top row first, display-referred

    @property
    def size(self) -> tuple[int, int]:
        return self.rgba.shape[1], self.rgba.shape[0]

    @property
    def stem(self) -> str:
        """The name without its file extension (:func:`name_stem`)."""
        return name_stem(self.name)


def name_stem(name: str) -> str:
    """A data-block name without a file extension ("astronaut.png" -> "astronaut",
    "clip.mp4" -> "clip"); a name with no image or movie extension stays as it is."""
    stem, ext = os.path.splitext(name)
    return stem if ext.lower() in {".png", ".jpg", ".jpeg", ".webp", ".exr", ".tif", ".tiff",
                                   ".bmp", ".tga", ".hdr"} \
        or ext.lower() in bpy.path.extensions_movie else name


def active_texture_node(obj) -> bpy.types.ShaderNodeTexImage | None:
    """The active Image Texture node of the object's active material, if any."""
    if obj is None:
        return None
    mat = obj.active_material
    if mat is None or mat.node_tree is None:
        return None
    if bpy.app.version < (5, 0, 0) and not mat.use_nodes:  # always on (deprecated) in 5.0
        return None
    node = mat.node_tree.nodes.active
    if node is not None and node.type == "TEX_IMAGE" and node.image is not None:
        return node
    return None


def shader_editor_node(space) -> bpy.types.ShaderNodeTexImage | None:
    """The active Image Texture node (with an image) of a Shader Editor's edited tree."""
    if space is None or space.type != "NODE_EDITOR" or space.tree_type != "ShaderNodeTree":
        return None
    tree = space.edit_tree
    node = tree.nodes.active if tree is not None else None
    if node is not None and node.type == "TEX_IMAGE" and node.image is not None:
        return node
    return None


def find_image(context, name: str = "") -> bpy.types.Image | None:
    """The Blender image the operator should use (None means: the last render)."""
    if name:
        image = bpy.data.images.get(name)
        if image is None:
            raise SourceError(f'No image named "{name}" in this file')
        return image
    space = getattr(context, "space_data", None)
    if space is not None and space.type == "IMAGE_EDITOR" and space.image is not None:
        return space.image
    node = shader_editor_node(space)
    if node is not None:
        return node.image
    node = active_texture_node(getattr(context, "active_object", None))
    if node is not None:
        return node.image
    return None


def has_source(context, name: str = "") -> bool:
    """For poll(): cheap, no pixel access."""
    try:
        image = find_image(context, name)
    except SourceError:
        return False
    if image is not None:
        return True
    # Not render.has_data: it stays False after a scripted bpy.ops.render.render().
    return bpy.data.images.get("Render Result") is not None


NO_SOURCE = ("No image: open one in the Image Editor, select an Image Texture node, or "
             "render first")


def usable(image) -> bool:
    """A still image a script could name in the ``image`` property (no pixels read)."""
    return (image.type not in {"RENDER_RESULT", "COMPOSITING"}
            and image.source in {"FILE", "GENERATED"})


def source_problem(context) -> str:
    """For poll(): why no source can serve, '' when one can. Cheap: no pixels are read.

    The context's own source counts, and so does any still image in the file, since a script
    may name it in the ``image`` property (poll cannot see properties)."""
    image = find_image(context)
    if image is None:
        if has_source(context):                  # the last render
            return ""
    elif usable(image) or image.type == "RENDER_RESULT":
        return ""
    if any(usable(other) for other in bpy.data.images):
        return ""
    if image is not None and image.type not in {"RENDER_RESULT", "COMPOSITING"}:
        return f'"{image.name}" is a {image.source.lower()} image; use a still image'
    return NO_SOURCE


def _read_render_result(image) -> np.ndarray | None:
    """The render's pixels, or None when there is no render to read (none yet, or the file
    was reopened: Blender keeps the Render Result image but not its pixels)."""
    from PIL import Image as PILImage

    fd, path = tempfile.mkstemp(suffix=".png", prefix="mapsmith-render-")
    os.close(fd)
    scene = bpy.context.scene
    settings = scene.render.image_settings
    saved = (settings.file_format, settings.color_mode, settings.color_depth)
    try:
        settings.file_format, settings.color_mode, settings.color_depth = "PNG", "RGBA", "8"
        try:
            image.save_render(filepath=path, scene=scene)
        except RuntimeError:  # "Image 'Render Result' does not have any image data"
            return None
        with PILImage.open(path) as im:
            return np.asarray(im.convert("RGBA")).copy()
    finally:
        settings.file_format, settings.color_mode, settings.color_depth = saved
        os.remove(path)


def resolve(context, name: str = "") -> Source:
    """Find the source image and read its pixels (main thread)."""
    image = find_image(context, name)
    if image is None:
        render = bpy.data.images.get("Render Result")
        rgba = _read_render_result(render) if render is not None else None
        if rgba is None:
            raise SourceError(NO_SOURCE)
        return Source("Render", None, rgba)
    if image.type == "RENDER_RESULT":
        rgba = _read_render_result(image)
        if rgba is None:
            raise SourceError(f'"{image.name}" holds no render yet: render first (F12, or '
                              "bpy.ops.render.render() in a script), or choose another image")
        return Source("Render", None, rgba)
    if image.source not in {"FILE", "GENERATED"}:
        raise SourceError(f'"{image.name}" is a {image.source.lower()} image; use a still image')
    return Source(image.name, image, pixels.read_display_uint8(image))
