"""The README's texture-map pictures: scikit-image's real textures through One-Click Material
(Subject: Auto), each as a strip: texture | height | normal map | Cycles render of the
material on its plane under a raking light from the left.

    python tools/texture_pictures.py [OUT_DIR] [brick,grass,gravel]
"""

import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import blenv  # noqa: E402  (before bpy)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

import bpy  # noqa: E402

import mathutils  # noqa: E402

blenv.install()
OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else blenv.ROOT / "docs" / "images")
names = sys.argv[2].split(",") if len(sys.argv) > 2 else ["brick", "grass", "gravel"]
for name in names:
    blenv.reset_scene()
    grey = getattr(data, name)()
    img = blenv.new_image(f"{name}.png", np.dstack([grey] * 3))
    img.pack()
    assert bpy.ops.mapsmith.material_setup(image=img.name, subject="AUTO", displacement=0.02,
                                           subdivisions=8) == {"FINISHED"}
    plane = bpy.data.objects[name]
    scene = bpy.context.scene
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = 1.0
    cam.location = (0, -3, 0)
    cam.rotation_euler = (math.pi / 2, 0, 0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 7.0
    # Raking light from the left, 30 degrees off the plane (which faces -Y).
    d = mathutils.Vector((math.cos(math.radians(30)), math.sin(math.radians(30)), -0.25))
    d.normalize()
    sun.rotation_euler = d.to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("w")
    scene.world = world
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.15
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 16
    scene.cycles.device = "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 384
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(OUT / f"render_{name}.png")
    bpy.ops.render.render(write_still=True)

    def arr(n):
        im = bpy.data.images[n]
        px = np.empty(len(im.pixels), np.float32)
        im.pixels.foreach_get(px)
        rgb = px.reshape(im.size[1], im.size[0], 4)[::-1, :, :3]
        return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)

    tiles = [np.dstack([grey] * 3), arr(f"{name} height"), arr(f"{name} normal"),
             np.asarray(Image.open(OUT / f"render_{name}.png").convert("RGB"))]
    tiles = [np.asarray(Image.fromarray(t).resize((256, 256), Image.LANCZOS)) for t in tiles]
    gap = np.full((256, 6, 3), 255, np.uint8)
    strip = np.concatenate(sum([[t, gap] for t in tiles], [])[:-1], axis=1)
    (OUT / f"render_{name}.png").unlink()
    Image.fromarray(strip).quantize(256, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.NONE).save(OUT / f"texture_{name}.png",
                                                                   optimize=True)
    print("wrote", OUT / f"texture_{name}.png")
blenv.exit_now(0)
