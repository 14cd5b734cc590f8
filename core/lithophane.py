"""Photo -> lithophane: a printable plate whose thickness follows the photo's darkness. bpy-free.

Held against a light, a thin spot lets more light through and looks bright, a thick one
looks dark. So a *positive* lithophane is thin where the photo is light (``min_thickness``)
and thick where it is dark (``max_thickness``); a *negative* one the other way round.

- Brightness is read as CIE L* (``core.images.lightness``), which is perceptually even: equal
  steps of thickness for equal steps of perceived grey, so mid-tones stay distinguishable
  instead of bunching up in the darks (as raw sRGB or linear luminance would make them).
- Resolution follows the nozzle: one vertex every half nozzle width (0.2 mm for the usual
  0.4 mm nozzle), the finest detail a 0.4 mm line can draw (twice the sampling of the
  smallest feature). The photo is area-averaged (or interpolated, when it has fewer pixels)
  onto that grid by ``relief_mesh``'s sampling.
- A frame ``border`` mm wide, at the maximum thickness (opaque and stiff), runs round the
  picture; ``size`` is the long side of the whole plate, frame included.
- The mesh is the relief builder's solid full-rectangle relief (``relief_mesh.depth_to_relief``
  with a flat base): a front surface, a flat back triangulated from its outline, a rim wall,
  closed, manifold and consistently wound, built with ``foreach_set`` on the Blender side.

Units are millimetres. FLAT: the plate lies in the XY plane, back at z = 0, the picture side
facing +Z, the image's top towards +Y (the relief's layout). CURVED: the plate is bent round
a vertical cylinder (a section ``curve_angle`` degrees wide, the back on the inside at radius
width / angle), standing with the image's top towards +Z and the picture facing -Y; it reads
correctly from the outside with a light inside the curve.
"""

from __future__ import annotations

import math

import numpy as np

from . import images, relief_mesh
from .errors import NEVER_CANCELLED, CancelToken, InputError

SHAPES = ("FLAT", "CURVED")
TONES = ("POSITIVE", "NEGATIVE")
DEFAULT_SIZE = 100.0         # mm, long side of the plate
DEFAULT_MIN_THICKNESS = 0.8  # mm: two 0.4 mm lines; thinner glows white and breaks
DEFAULT_MAX_THICKNESS = 3.0  # mm: nearly opaque in white PLA
DEFAULT_BORDER = 3.0         # mm frame
DEFAULT_NOZZLE = 0.4         # mm
DEFAULT_CURVE_ANGLE = 120.0  # degrees of arc for the curved shape
MAX_CURVE_ANGLE = 300.0      # the ends must not meet


def darkness(rgb, tone: str = "POSITIVE") -> np.ndarray:
    """float32 (H, W) in 0..1: 1 where the plate is thickest. Transparent pixels count as
    white (a positive lithophane is thin there)."""
    a = np.asarray(rgb)
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = images.to_float_rgb(a[..., 3])[..., :1] if a.dtype == np.uint8 else \
            np.clip(a[..., 3:4].astype(np.float32), 0.0, 1.0)
        a = images.to_float_rgb(a) * alpha + (1.0 - alpha)
    light = images.lightness(a)
    if tone == "POSITIVE":
        return (1.0 - light).astype(np.float32)
    if tone == "NEGATIVE":
        return light
    raise InputError(f"Tone must be POSITIVE or NEGATIVE, not {tone!r}")


def resolution_for(size: float, nozzle: float) -> int:
    """Vertices along the long side: one every half nozzle width (at least 2)."""
    res = int(math.ceil(size / (nozzle / 2.0) - 1e-3)) + 1   # float32 props: 100.0000015 mm
    if res > relief_mesh.MAX_RESOLUTION:
        raise InputError(f"A {size:g} mm lithophane for a {nozzle:g} mm nozzle needs {res:,} "
                         f"vertices a side, more than {relief_mesh.MAX_RESOLUTION:,}: make it "
                         "smaller or set a larger nozzle")
    return max(2, res)


def _check(size, min_thickness, max_thickness, border, shape, curve_angle, nozzle):
    for name, value in (("Size", size), ("Minimum thickness", min_thickness),
                        ("Nozzle", nozzle)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be greater than 0, not {value!r}")
    if not (math.isfinite(max_thickness) and max_thickness > min_thickness):
        raise InputError(f"Maximum thickness ({max_thickness:g} mm) must be greater than the "
                         f"minimum thickness ({min_thickness:g} mm)")
    if not (math.isfinite(border) and 0 <= border and 2 * border < size):
        raise InputError(f"The frame ({border:g} mm each side) leaves no room for the picture "
                         f"on a {size:g} mm plate: make it narrower or the plate larger")
    if shape not in SHAPES:
        raise InputError(f"Shape must be FLAT or CURVED, not {shape!r}")
    if shape == "CURVED" and not (0 < curve_angle <= MAX_CURVE_ANGLE):
        raise InputError(f"The curve must span more than 0 and at most {MAX_CURVE_ANGLE:g} "
                         f"degrees, not {curve_angle!r}")


def build(rgb, *, size: float = DEFAULT_SIZE, min_thickness: float = DEFAULT_MIN_THICKNESS,
          max_thickness: float = DEFAULT_MAX_THICKNESS, border: float = DEFAULT_BORDER,
          shape: str = "FLAT", curve_angle: float = DEFAULT_CURVE_ANGLE,
          tone: str = "POSITIVE", nozzle: float = DEFAULT_NOZZLE,
          cancel: CancelToken = NEVER_CANCELLED) -> relief_mesh.ReliefMesh:
    """The lithophane mesh (millimetres, layout above) of an sRGB photo (uint8 or float,
    (H, W), (H, W, 3) or (H, W, 4), row 0 at the top)."""
    _check(size, min_thickness, max_thickness, border, shape, curve_angle, nozzle)
    dark = darkness(rgb, tone)
    cancel.check()
    h, w = dark.shape
    if min(h, w) < 2:
        raise InputError(f"The photo is too small for a lithophane ({w}x{h} pixels)")
    pixel = (size - 2.0 * border) / max(h, w)                     # mm per photo pixel
    frame = 0 if border == 0 else max(1, int(round(border / pixel)))
    plate = np.pad(dark, frame, constant_values=1.0)             # the frame at full thickness
    resolution = resolution_for(size, nozzle)
    cancel.check()
    mesh = relief_mesh.depth_to_relief(
        plate, resolution=resolution, long_side=size, relief_height=max_thickness - min_thickness,
        compression="LINEAR", smoothing=0.0, background="BASE", solid=True,
        thickness=min_thickness, background_level=-1.0, min_island=0.0)
    mesh.co[:, 2] += np.float32(min_thickness)                    # back on z = 0
    if shape == "CURVED":
        bend(mesh.co, curve_angle)
    return mesh


def bend(co: np.ndarray, curve_angle: float) -> None:
    """Bend a flat plate (in place) round a vertical cylinder: x becomes the arc on the back
    (radius = width / angle), z the distance outwards, y the height (see the module
    docstring). The map keeps orientation (its Jacobian is positive), so the faces still
    point outwards."""
    x, y, z = (co[:, i].astype(np.float64) for i in range(3))
    width = float(x.max() - x.min())
    radius = width / math.radians(curve_angle)
    theta = x / radius
    r = radius + z
    co[:, 0] = r * np.sin(theta)
    co[:, 1] = radius - r * np.cos(theta)
    co[:, 2] = y
