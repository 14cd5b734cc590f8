"""The main job, end to end, headless: what `make demo` runs.

Installs the built extension zip into Blender (bpy wheel) as a user would, loads a real
portrait shipped by scikit-image, and with the offline provider and online access off runs
the whole chain through the public operators:

    remove background -> cutout plane        depth -> printable relief (+ STL)
    photo -> lithophane (+ STL, backlit render)
    normals -> normal map                    one-click material
    texture cleanup on a painted region

then renders previews (Cycles CPU, few samples) and saves a self-contained .blend.

    python tools/demo.py --out demo_out
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import blenv  # noqa: E402  (before bpy: keeps Blender's user folders out of $HOME)
import numpy as np  # noqa: E402

import bpy  # noqa: E402

PORTRAIT = "astronaut.png"


def step(label: str):
    """Print a step with its duration; the operators' own reports go to stdout too."""
    class _Step:
        def __enter__(self):
            print(f"demo: {label} ...", flush=True)
            self.t0 = time.perf_counter()

        def __exit__(self, *exc):
            if exc[0] is None:
                print(f"demo: {label} done in {time.perf_counter() - self.t0:.1f} s", flush=True)
    return _Step()


def load_portrait(out: pathlib.Path) -> bpy.types.Image:
    """scikit-image's astronaut, saved next to the outputs and loaded like a user's photo."""
    from PIL import Image
    from skimage import data

    path = out / PORTRAIT
    Image.fromarray(data.astronaut()).save(path)
    image = bpy.data.images.load(str(path))
    image.pack()  # the .blend must be self-contained
    return image


def dusty_copy(image, name: str) -> tuple[bpy.types.Image, np.ndarray]:
    """A copy of the photo with dust specks and a scratch: the defects to clean up.

    Returns the image and a mask painted over the defects (what an artist would paint)."""
    rng = np.random.default_rng(7)
    w, h = image.size
    px = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(px)
    px = px.reshape(h, w, 4)  # Blender rows: bottom first
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros((h, w), bool)
    for _ in range(14):  # dust: small bright specks on the background wall and flag
        cx, cy, r = rng.integers(330, 500), rng.integers(300, 500), rng.integers(3, 7)
        mask |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    scratch = np.abs((yy - 60) - 0.35 * (xx - 20)) < 2.0  # a thin diagonal scratch
    mask |= scratch & (xx > 20) & (xx < 300)
    dirty = px.copy()
    dirty[mask, :3] = 0.95
    copy = bpy.data.images.new(name, w, h, alpha=True)
    copy.pixels.foreach_set(dirty.ravel())
    copy.update()
    copy.pack()
    return copy, mask


def paint_mask(mask_image, mask: np.ndarray) -> None:
    """Stand-in for the artist's brush strokes (headless Blender cannot stroke safely)."""
    w, h = mask_image.size
    px = np.zeros((h, w, 4), np.float32)
    px[..., 3] = 1.0
    px[mask, :3] = 1.0
    mask_image.pixels.foreach_set(px.ravel())
    mask_image.update()


def setup_stage() -> None:
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.render.resolution_x = scene.render.resolution_y = 480
    scene.render.film_transparent = False
    world = bpy.data.worlds.new("Studio")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.6
    scene.world = world
    light = bpy.data.objects.new("Key", bpy.data.lights.new("Key", "AREA"))
    light.data.energy = 150
    light.data.size = 1.5
    light.location = (1.2, -2.0, 2.0)
    light.rotation_euler = (0.9, 0.0, 0.5)
    scene.collection.objects.link(light)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam


FRONT = (float(np.radians(80)), 0.0, 0.0)   # the camera 10 degrees above level


def frame(obj, cam, *, angle=FRONT) -> None:
    """Point the camera at ``obj`` from the front, slightly above, fitting its bounds."""
    from mathutils import Euler, Vector

    corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
    centre = sum(corners, Vector()) / 8
    size = max((max(c[i] for c in corners) - min(c[i] for c in corners)) for i in range(3))
    cam.rotation_euler = Euler(angle)
    direction = cam.rotation_euler.to_matrix() @ Vector((0, 0, 1))
    cam.data.lens = 50
    cam.location = centre + direction * size * 1.7


def raking_sun(on: bool) -> None:
    """A low sun from the upper left, grazing the relief's front (which faces -Y): how a
    carving is lit to show its planes. Removed again with ``on=False``."""
    from mathutils import Vector

    scene = bpy.context.scene
    key = scene.objects.get("Key")
    if key is not None:
        key.hide_render = on          # the raking sun alone, over the soft world light
    sun = scene.objects.get("Raking sun")
    if not on:
        if sun is not None:
            light = sun.data
            bpy.data.objects.remove(sun)
            bpy.data.lights.remove(light)
        return
    sun = bpy.data.objects.new("Raking sun", bpy.data.lights.new("Raking sun", "SUN"))
    sun.data.energy = 4.0
    sun.data.angle = 0.05
    sun.rotation_euler = Vector((0.8, 0.35, -0.5)).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)


def render(obj, path: pathlib.Path, *, clay: bool = False, raking: bool = False,
           **frame_args) -> None:
    """Render ``obj`` alone; ``clay`` overrides every material with plain grey to show shape;
    ``raking`` adds a low sun that shows a relief's planes."""
    scene = bpy.context.scene
    layer = bpy.context.view_layer
    raking_sun(raking)
    if clay:
        mat = bpy.data.materials.get("Clay") or bpy.data.materials.new("Clay")
        mat.diffuse_color = (0.8, 0.8, 0.8, 1.0)
        layer.material_override = mat
    shown = {o: o.hide_render for o in scene.objects if o.type == "MESH"}
    for o in shown:
        o.hide_render = o is not obj
    frame(obj, scene.camera, **frame_args)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    for o, hidden in shown.items():
        o.hide_render = hidden
    layer.material_override = None
    raking_sun(False)


def print_outputs(photo, relief, out: pathlib.Path, docs) -> None:
    """The printing part: the relief and a lithophane of the photo through
    mapsmith.export_print (binary STL in millimetres, laid on the back, checked), and the
    lithophane rendered with a light behind it (Cycles)."""
    import math
    import shutil

    from mathutils import Vector

    bpy.ops.object.select_all(action="DESELECT")
    relief.select_set(True)
    bpy.context.view_layer.objects.active = relief
    # Loose crumbs of the cut-out stay behind: one body on the bed.
    bpy.ops.mapsmith.export_print(filepath=str(out / "portrait_relief.stl"),
                                  largest_part_only=True)
    bpy.ops.mapsmith.lithophane(image=photo.name)            # 100 mm, 0.8-3 mm, 0.4 mm nozzle
    litho = bpy.context.active_object
    bpy.ops.mapsmith.export_print(filepath=str(out / "portrait_lithophane.stl"))

    scene = bpy.context.scene
    background = scene.world.node_tree.nodes["Background"].inputs["Strength"]
    saved = (background.default_value, scene.cycles.samples, scene.render.resolution_x,
             {o: o.hide_render for o in scene.objects})
    background.default_value = 0.0                           # a dark room, a lamp behind
    for o in scene.objects:
        o.hide_render = o is not litho
    lamp = bpy.data.objects.new("Backlight", bpy.data.lights.new("Backlight", "AREA"))
    lamp.data.energy, lamp.data.size = 0.6, 0.09
    lamp.location = litho.location + litho.matrix_world.to_3x3() @ Vector((0.0, 0.0, -0.06))
    lamp.rotation_euler = (-math.pi / 2.0, 0.0, 0.0)         # shining towards -Y: the camera
    lamp.visible_camera = False
    scene.collection.objects.link(lamp)
    scene.cycles.samples = 24
    scene.render.resolution_x = scene.render.resolution_y = 320
    frame(litho, scene.camera, angle=(math.radians(90), 0.0, 0.0))
    scene.render.filepath = str(out / "lithophane.png")
    bpy.ops.render.render(write_still=True)
    bpy.data.objects.remove(lamp)
    background.default_value, scene.cycles.samples = saved[0], saved[1]
    scene.render.resolution_x = scene.render.resolution_y = saved[2]
    for o, hidden in saved[3].items():
        o.hide_render = hidden
    litho.location.x = 2.6                                   # beside the others in the .blend
    if docs:
        pathlib.Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "lithophane.png", pathlib.Path(docs) / "demo_lithophane.png")
    for name in ("portrait_relief.stl", "portrait_lithophane.stl", "lithophane.png"):
        print(f"demo: wrote {out / name} ({(out / name).stat().st_size / 1024:.0f} KB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--relief-resolution", type=int, default=None,
                        help="default: the operator's own (print-friendly) default")
    parser.add_argument("--compare-linear", action="store_true",
                        help="also render the relief made the former way (relief_clay_linear.png)")
    parser.add_argument("--docs", help="also copy the renders here as demo_*.png (README pictures)")
    args = parser.parse_args()
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    with step("installing the built extension into Blender"):
        blenv.install()
        blenv.reset_scene()
    assert not bpy.app.online_access, "the demo runs with online access off"
    print(f"demo: Blender {bpy.app.version_string}, provider: offline, online access: off")

    setup_stage()
    photo = load_portrait(out)

    with step("remove background -> cutout plane"):
        bpy.ops.mapsmith.remove_background(image=photo.name, mode="CUTOUT")
    cutout = bpy.context.active_object

    with step("normals -> normal map on the cutout plane's material"):
        # A normal map fakes relief on a flat surface: the photo plane, not the relief mesh
        # (whose real geometry would count the shape twice).
        bpy.ops.mapsmith.normal_map(image=photo.name)

    with step("depth -> printable relief"):
        # The operator's defaults: gradient (bas-relief) compression, 8 mm relief on a
        # 200 mm plaque, 3 mm base, cells wider than a 0.4 mm nozzle.
        extra = {} if args.relief_resolution is None else {"resolution": args.relief_resolution}
        bpy.ops.mapsmith.depth_relief(image=photo.name, solid=True, **extra)
    relief = bpy.context.active_object
    stl = out / "portrait_relief.stl"
    with step("relief -> STL, lithophane -> STL (export_print)"):
        print_outputs(photo, relief, out, args.docs)

    with step("one-click material"):
        bpy.ops.mapsmith.material_setup(image=photo.name)
    material_plane = bpy.context.active_object

    with step("texture cleanup on a painted region"):
        dusty, defects = dusty_copy(photo, "astronaut dusty.png")
        dusty.save_render(str(out / "cleanup_before.png"))
        plane_mat = material_plane.active_material
        node = plane_mat.node_tree.nodes.new("ShaderNodeTexImage")
        node.image = dusty
        plane_mat.node_tree.nodes.active = node
        bpy.context.view_layer.objects.active = material_plane
        bpy.ops.mapsmith.cleanup_paint_mask()
        paint_mask(bpy.data.images[f"{dusty.name} cleanup mask"], defects)
        bpy.ops.object.mode_set(mode="OBJECT")
        bpy.ops.mapsmith.cleanup_apply(image=dusty.name)
        dusty.save_render(str(out / "cleanup_after.png"))
        plane_mat.node_tree.nodes.remove(node)

    # Side by side for the saved file: cutout left, relief middle, material right.
    for obj, x in ((cutout, -1.3), (relief, 0.0), (material_plane, 1.3)):
        obj.location.x = x
    with step("rendering previews (Cycles CPU)"):
        three_quarter = (np.radians(75), 0.0, np.radians(35))
        render(relief, out / "relief.png", angle=three_quarter)
        render(relief, out / "relief_clay.png", angle=three_quarter, clay=True, raking=True)
        if args.compare_linear:
            # The same photo with the former defaults (linear depth, 20 mm, 512, 4 mm base),
            # rendered the same way: the README's "before".
            bpy.ops.mapsmith.depth_relief(image=photo.name, solid=True, compression="LINEAR",
                                          relief_height=0.02, resolution=512, thickness=0.004)
            linear = bpy.context.active_object
            linear.location.x = relief.location.x
            render(linear, out / "relief_clay_linear.png", angle=three_quarter, clay=True,
                   raking=True)
            bpy.data.objects.remove(linear)
        render(cutout, out / "cutout.png")
        render(material_plane, out / "material.png")

    for image in bpy.data.images:
        if image.source in {"FILE", "GENERATED"} and not image.packed_file and image.has_data:
            image.pack()
    blend = out / "portrait.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), compress=True)

    if args.docs:
        import shutil
        pathlib.Path(args.docs).mkdir(parents=True, exist_ok=True)
        for name in ("relief", "relief_clay", "cutout", "material", "cleanup_before",
                     "cleanup_after", "relief_clay_linear"):
            if (out / f"{name}.png").exists():
                shutil.copy(out / f"{name}.png", pathlib.Path(args.docs) / f"demo_{name}.png")

    print(f"\ndemo: finished in {time.perf_counter() - t_start:.0f} s. Outputs:")
    for path in (blend, stl, out / "relief.png", out / "relief_clay.png", out / "cutout.png",
                 out / "material.png",
                 out / "cleanup_before.png", out / "cleanup_after.png"):
        print(f"  {path}  ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    status = 1
    try:
        status = main()
    except Exception as err:  # a clear last line, then the traceback for the developer
        import traceback
        traceback.print_exc()
        print(f"demo: FAILED: {err}", file=sys.stderr)
    blenv.exit_now(status)
