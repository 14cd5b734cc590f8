"""Make docs/images/cleanup.png: the cleanup workflow on a textured plane, rendered in Cycles.

    MAPSMITH_DIST=/tmp/dist .venv-4.2/bin/python docs/images/cleanup_figure.py [--provider X]

Three renders side by side: the texture with its defects; the mask being painted, as the
preview nodes show it (red over the texture); the result after Apply Cleanup. With
``--provider ERASE`` (the default while the offline inpainting is not built) the request goes
to the loopback stand-in of tests/servers, whose "inpainting" is a flat fill.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="mapsmith-blender-user-"))
import bpy  # noqa: E402  (after BLENDER_USER_RESOURCES: nothing goes to the home folder)
import blenv  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

SIZE = 512


def plaster(size: int) -> np.ndarray:
    """A warm plaster texture with a few defects: an ink stain, scribbles, a dark blotch."""
    rng = np.random.default_rng(3)
    base = np.zeros((size, size), np.float32)
    for scale, amp in ((64, 0.10), (16, 0.05), (4, 0.03), (1, 0.02)):
        n = rng.standard_normal((size // scale + 2, size // scale + 2)).astype(np.float32)
        n = np.asarray(Image.fromarray(n).resize((size + 2 * scale, size + 2 * scale),
                                                 Image.BICUBIC))[scale:scale + size, scale:scale + size]
        base += amp * n
    rgb = np.clip(np.dstack([0.80 + base, 0.72 + base, 0.60 + base * 0.9]), 0, 1)
    img = Image.fromarray((rgb * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse((120, 140, 190, 200), fill=(40, 45, 70))                  # ink stain
    draw.ellipse((170, 185, 185, 200), fill=(40, 45, 70))
    draw.line([(300, 330), (340, 300), (370, 350), (410, 310)], fill=(150, 30, 30), width=6)
    draw.line([(320, 380), (420, 370)], fill=(150, 30, 30), width=5)        # scribbles
    draw.ellipse((360, 110, 420, 150), fill=(110, 95, 70))                  # blotch
    return np.asarray(img)


def defects_mask(size: int) -> np.ndarray:
    """Where an artist would paint: over each defect, loosely (top-first rows)."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse((114, 134, 196, 206), fill=255)
    draw.line([(300, 330), (340, 300), (370, 350), (410, 310)], fill=255, width=16)
    draw.line([(320, 380), (420, 370)], fill=255, width=14)
    draw.ellipse((354, 104, 426, 156), fill=255)
    return np.asarray(img) > 0


def setup_scene(texture):
    bpy.ops.mesh.primitive_plane_add(size=2)
    obj = bpy.context.active_object
    mat = bpy.data.materials.new("Plaster")
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    tree = mat.node_tree
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Roughness"].default_value = 1.0
    node = tree.nodes.new("ShaderNodeTexImage")
    node.image = texture
    tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    tree.nodes.active = node
    obj.data.materials.append(mat)
    bpy.ops.object.camera_add(location=(0, 0, 3))
    cam = bpy.context.active_object
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = 2.0
    scene = bpy.context.scene
    scene.camera = cam
    world = bpy.data.worlds.new("White")
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 1.0
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (1, 1, 1, 1)
    scene.world = world
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 16
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = SIZE
    scene.view_settings.view_transform = "Standard"
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def render(path: pathlib.Path) -> Image.Image:
    scene = bpy.context.scene
    scene.render.filepath = str(path)
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
    return Image.open(path).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", default="ERASE", choices=("OFFLINE", "CLIPDROP", "ERASE"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "cleanup.png"))
    args = parser.parse_args()

    blenv.install()
    blenv.reset_scene()
    server = None
    if args.provider != "OFFLINE":
        spec = importlib.util.spec_from_file_location(
            "fake_services", ROOT / "tests" / "servers" / "fake_services.py")
        fake = importlib.util.module_from_spec(spec)
        sys.modules["fake_services"] = fake
        spec.loader.exec_module(fake)
        server = fake.FakeServices().start()
        bpy.context.preferences.system.use_online_access = True
        prefs = blenv.prefs()
        if args.provider == "ERASE":
            prefs.erase_api_key, prefs.erase_url = fake.ERASE_KEY, server.url
        else:
            prefs.clipdrop_api_key, prefs.clipdrop_url = fake.CLIPDROP_KEY, server.url
    try:
        texture = blenv.new_image("plaster.png", plaster(SIZE))
        obj = setup_scene(texture)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="mapsmith-cleanup-fig-"))
        before = render(tmp / "before.png")

        bpy.ops.mapsmith.cleanup_paint_mask()
        mask = bpy.data.images[texture.name + " cleanup mask"]
        where = defects_mask(SIZE)[::-1]  # Blender rows: bottom first
        buf = np.zeros((SIZE, SIZE, 4), np.float32)
        buf[..., 3] = 1.0
        buf[where, :3] = 1.0
        mask.pixels.foreach_set(buf.ravel())
        mask.update()
        bpy.ops.object.mode_set(mode="OBJECT")  # render the preview nodes as they are
        marked = render(tmp / "marked.png")
        bpy.context.view_layer.objects.active = obj
        bpy.ops.object.mode_set(mode="TEXTURE_PAINT")

        bpy.ops.mapsmith.cleanup_apply(provider=args.provider, grow=4)
        after = render(tmp / "after.png")
    finally:
        if server is not None:
            server.stop()

    pad, label_h = 12, 34
    sheet = Image.new("RGB", (3 * SIZE + 4 * pad, SIZE + label_h + 2 * pad), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 20)
    except OSError:
        font = ImageFont.load_default()
    how = "Offline" if server is None else "loopback stand-in: a flat fill"
    titles = ("1. The texture", "2. Paint Cleanup Mask (shown red)",
              f"3. Apply Cleanup ({how})")
    for i, (img, title) in enumerate(zip((before, marked, after), titles)):
        x = pad + i * (SIZE + pad)
        sheet.paste(img, (x, pad + label_h))
        draw.text((x + 4, pad + 4), title, fill=(230, 230, 230), font=font)
    sheet.save(args.out, optimize=True)
    print("wrote", args.out)
    blenv.exit_now(0)


if __name__ == "__main__":
    main()
