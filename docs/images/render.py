"""Render the README pictures: one small Cycles picture per operator, on the astronaut.

    MAPSMITH_DIST=dist .venv-4.2/bin/python docs/images/render.py [--fake]

Installs the built zip like the Blender tests do, runs each operator with the offline
provider (``--fake``: the tests' stand-in, while the offline provider is missing) and writes
docs/images/<operator>.png (Cycles CPU, 320 px, few samples, denoised).
"""

import math
import os
import pathlib
import sys
import tempfile

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mapsmith-render-")
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "blender"))

import bpy  # noqa: E402
import mathutils  # noqa: E402

import blhelpers  # noqa: E402

SIZE = 320


class _Patch:
    def setattr(self, obj, name, value):
        setattr(obj, name, value)


def scene(camera_from, target=(0, 0, 0.5), lens=50, light_from=(-2.5, -3.0, 3.0), power=400,
          floor=True, backdrop=None):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    blhelpers.enable()
    sc = bpy.context.scene
    sc.render.engine = "CYCLES"
    sc.cycles.device = "CPU"
    sc.cycles.samples = 48
    sc.cycles.use_denoising = True
    sc.render.resolution_x = sc.render.resolution_y = SIZE
    sc.render.film_transparent = False
    sc.view_settings.view_transform = "Standard" if bpy.app.version < (4, 0) else "AgX"
    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.05, 0.06)
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.08, 0.085, 0.1, 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 1.0
    sc.world = world
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.lens = lens
    cam.location = camera_from
    direction = mathutils.Vector(target) - mathutils.Vector(camera_from)
    cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    sc.collection.objects.link(cam)
    sc.camera = cam
    light = bpy.data.objects.new("Key", bpy.data.lights.new("Key", "AREA"))
    light.data.energy = power
    light.data.size = 1.0
    light.location = light_from
    light.rotation_euler = (mathutils.Vector(target) - mathutils.Vector(light_from)) \
        .to_track_quat("-Z", "Y").to_euler()
    sc.collection.objects.link(light)
    fill = bpy.data.objects.new("Fill", bpy.data.lights.new("Fill", "AREA"))
    fill.data.energy = power * 0.15
    fill.data.size = 3.0
    fill.location = (3.0, -3.0, 1.5)
    fill.rotation_euler = (mathutils.Vector(target) - fill.location).to_track_quat("-Z", "Y").to_euler()
    sc.collection.objects.link(fill)
    if floor:
        _plane("Floor", (0, 0, 0), 20, (0.35, 0.35, 0.37))
    if backdrop:
        obj = _plane("Backdrop", (0, 1.2, 2), 6, backdrop)
        obj.rotation_euler = (math.pi / 2, 0, 0)
    return sc


def _plane(name, location, size, colour):
    mesh = bpy.data.meshes.new(name)
    h = size / 2
    mesh.from_pydata([(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)], [], [(0, 1, 2, 3)])
    mat = bpy.data.materials.new(name)
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*colour, 1)
    mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.8
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    bpy.context.scene.collection.objects.link(obj)
    return obj


def render(name):
    sc = bpy.context.scene
    sc.render.filepath = str(HERE / f"{name}.png")
    sc.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
    print("wrote", sc.render.filepath, flush=True)


def photo():
    return blhelpers.load_astronaut(size=512)


def relief():
    scene(camera_from=(0.26, -0.42, 0.2), target=(0, 0, 0.115), lens=60,
          light_from=(-0.8, -0.6, 0.9), power=40)
    img = photo()
    bpy.context.scene.cursor.location = (0, 0, 0.11)
    bpy.ops.mapsmith.depth_relief(image=img.name, resolution=512, solid=True, strength=0.12)
    render("depth_relief")


def normal_map():
    scene(camera_from=(1.6, -3.2, 1.0), target=(0, 0, 0.6), lens=50,
          light_from=(-3.0, -1.0, 1.5), power=500)
    img = photo()
    bpy.context.scene.cursor.location = (0, 0, 0.6)
    bpy.ops.mapsmith.normal_map(image=img.name, height=1.0, from_depth=False)
    obj = bpy.context.active_object
    mat = obj.active_material
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    # Show the normals alone: a clay plane, the photo unplugged.
    for link in list(bsdf.inputs["Base Color"].links):
        mat.node_tree.links.remove(link)
    bsdf.inputs["Base Color"].default_value = (0.7, 0.7, 0.7, 1)
    render("normal_map")


def cutout():
    scene(camera_from=(1.2, -3.4, 1.2), target=(0, 0, 0.55), lens=50,
          light_from=(-2.0, -2.5, 3.0), power=600, backdrop=(0.2, 0.45, 0.6))
    img = photo()
    bpy.context.scene.cursor.location = (0, 0, 0.5)
    bpy.ops.mapsmith.remove_background(image=img.name, mode="CUTOUT")
    render("remove_background")


def material():
    scene(camera_from=(1.5, -2.8, 0.9), target=(0, 0, 0.55), lens=55,
          light_from=(-2.0, -2.0, 2.5), power=600, backdrop=(0.55, 0.35, 0.25))
    img = photo()
    bpy.context.scene.cursor.location = (0, 0, 0.5)
    bpy.ops.mapsmith.material_setup(image=img.name, displacement=0.12)
    render("material_setup")


def main():
    blhelpers.install_zip()
    if "--fake" in sys.argv:
        import fakeprovider
        fakeprovider.install(_Patch())
    which = [a for a in sys.argv[1:] if not a.startswith("--")] or \
        ["relief", "normal_map", "cutout", "material"]
    try:
        for name in which:
            globals()[name]()
    finally:
        blhelpers.disable()
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
