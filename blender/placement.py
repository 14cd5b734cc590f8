"""Where a photo plane goes, which way it faces and how big it is, as Images as Planes does.

The plane mesh is built flat in its local XY plane, front +Z (see meshes.plane); placing it
means a location (the 3D cursor, or the world origin), a rotation that turns local +Z towards
the front view (-Y), the 3D View or the active camera, and a size from core.plane_size. It is
worked out on the main thread when the operator starts (before any request), so a missing
camera or 3D View is reported before anything is sent.
"""

from __future__ import annotations

import dataclasses
import math

import bpy

from mathutils import Euler, Vector

from ..core import plane_size
from ..core.errors import InputError

FRONT = Euler((math.pi / 2.0, 0.0, 0.0))   # local +Z (the front) -> world -Y


@dataclasses.dataclass
class Placement:
    size: tuple[float, float]      # plane width, height
    location: Vector
    rotation: Euler


def _camera(context):
    camera = context.scene.camera
    if camera is None or camera.type != "CAMERA":
        raise InputError("The scene has no active camera: add one (Add > Camera) and make it "
                         "active, or choose another Align and Size")
    return camera


def _view_rotation(context) -> Euler:
    space = getattr(context, "space_data", None)
    region = getattr(space, "region_3d", None) if space is not None and space.type == "VIEW_3D" \
        else None
    if region is None:
        raise InputError("Align to View needs a 3D View: run it from one, or choose Front or "
                         "Camera")
    return region.view_rotation.to_euler()


def camera_frame_size(context, location: Vector) -> tuple[float, float]:
    """The active camera's frame (width, height) at ``location``'s distance in front of it."""
    camera = _camera(context)
    corners = camera.data.view_frame(scene=context.scene)   # camera space, one depth
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    depth = -corners[0].z
    matrix = camera.matrix_world
    forward = matrix.to_quaternion() @ Vector((0.0, 0.0, -1.0))
    distance = (location - matrix.translation).dot(forward)
    return plane_size.frame_at_distance(max(xs) - min(xs), max(ys) - min(ys), depth, distance,
                                        camera.data.type == "ORTHO")


def resolve(context, size_px: tuple[int, int], *, align: str, at_cursor: bool, size_mode: str,
            height: float, pixels_per_unit: float, fill_mode: str) -> Placement:
    """Location, rotation and size of a plane showing a ``size_px`` (width, height) photo."""
    location = (context.scene.cursor.location.copy() if at_cursor else Vector((0.0, 0.0, 0.0)))
    if align == "VIEW":
        rotation = _view_rotation(context)
    elif align == "CAMERA":
        rotation = _camera(context).matrix_world.to_quaternion().to_euler()
    else:
        rotation = FRONT.copy()
    width_px, height_px = size_px
    if size_mode == "CAMERA":
        frame = camera_frame_size(context, location)
        size = plane_size.in_frame(width_px, height_px, *frame, fill=fill_mode == "FILL")
    elif size_mode == "PIXELS":
        size = plane_size.by_pixels_per_unit(width_px, height_px, pixels_per_unit)
    else:
        size = plane_size.by_height(width_px, height_px, height)
    return Placement(size, location, rotation)


def apply(obj: bpy.types.Object, placement: Placement) -> None:
    obj.location = placement.location
    obj.rotation_euler = placement.rotation
