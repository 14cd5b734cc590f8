"""How big a photo plane is, as Images as Planes sizes it. Pure arithmetic, bpy-free.

Every function returns the plane's (width, height) in Blender units for a photo of
``width_px`` x ``height_px`` pixels; the plane always keeps the photo's aspect ratio.
"""

from __future__ import annotations

from .errors import InputError


def _aspect(width_px: int, height_px: int) -> float:
    if width_px <= 0 or height_px <= 0:
        raise InputError(f"The image is {width_px} x {height_px} pixels: it has no area")
    return width_px / height_px


def by_height(width_px: int, height_px: int, height: float) -> tuple[float, float]:
    """``height`` units tall."""
    return _aspect(width_px, height_px) * height, height


def by_pixels_per_unit(width_px: int, height_px: int, pixels_per_unit: float
                       ) -> tuple[float, float]:
    """One unit for every ``pixels_per_unit`` pixels (a 1920-pixel photo at 1000 is 1.92)."""
    _aspect(width_px, height_px)
    if pixels_per_unit <= 0:
        raise InputError("Pixels per Unit must be more than 0")
    return width_px / pixels_per_unit, height_px / pixels_per_unit


def frame_at_distance(frame_width: float, frame_height: float, frame_depth: float,
                      distance: float, orthographic: bool) -> tuple[float, float]:
    """The size of a camera's frame ``distance`` in front of it, given its frame at depth
    ``frame_depth`` (what Blender's ``Camera.view_frame`` gives). An orthographic frame has
    the same size at every distance; a perspective one grows with the distance."""
    if orthographic:
        return frame_width, frame_height
    if distance <= 0:
        raise InputError("The plane would be behind the camera: move the 3D cursor in front "
                         "of the camera, or choose another Size")
    scale = distance / frame_depth
    return frame_width * scale, frame_height * scale


def in_frame(width_px: int, height_px: int, frame_width: float, frame_height: float,
             fill: bool) -> tuple[float, float]:
    """Fit the whole photo inside the frame (``fill`` False), or cover all of the frame
    (``fill`` True, the photo's overhang outside the frame)."""
    aspect = _aspect(width_px, height_px)
    wide = aspect > frame_width / frame_height
    if wide != fill:          # fit a wide photo, or fill with a tall one: match the widths
        return frame_width, frame_width / aspect
    return frame_height * aspect, frame_height
