"""A background provider's answer made ready to composite. bpy-free, numpy only.

Every background answer (the offline one and every service's) goes through :func:`refine` in
the job's worker before Blender sees it:

- islands: pieces of the mask that do not touch the person are dropped. The person is the
  largest piece of the visible mask (alpha > 0, 8-connected), every piece at least
  ``KEEP_FRACTION`` of its size (a second person stays) and any piece touching ``keep`` (the
  face, where the caller found one); smaller pieces elsewhere (a scrap of the background the
  model took for the subject) go, soft edge and all. ``keep_islands`` keeps them.
- edge colour: every partly transparent pixel whose colour is still the photo's (the answer
  brought the old background along) gets the subject's estimated colour
  (:func:`core.matting.cutout_colours`, multi-level foreground estimation) with ``despill``
  of the background's colour cast removed. Pixels a service already recoloured, and the
  shadow of CUTOUT_SHADOW (darkened, so no longer the photo's colour), are left as they are.

The answer's layout is the provider contract's: uint8 (H, W, 4) RGBA for CUTOUT and
CUTOUT_SHADOW, uint8 (H, W) for MASK (edge colour does not apply to a mask).
"""

from __future__ import annotations

import numpy as np

from . import components, images, matting
from .errors import NEVER_CANCELLED, InputError

KEEP_FRACTION = 0.2        # pieces at least this share of the largest one are kept
PHOTO_TOLERANCE = 3        # levels: an answer pixel this close to the photo is the photo's


def drop_islands(alpha: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """``alpha`` (float or uint8 (H, W)) with the pieces that do not belong to the person
    set to 0 (see the module docstring); pieces touching ``keep`` (bool (H, W), e.g. the
    face) stay whatever their size. Same dtype."""
    visible = np.asarray(alpha) > 0
    kept = components.keep_large(visible, KEEP_FRACTION, keep=keep)
    return np.where(kept, alpha, 0).astype(np.asarray(alpha).dtype)


def refine(photo: np.ndarray, answer: np.ndarray, *, edge_colour: bool = True,
           despill: float = 0.5, keep_islands: bool = False, keep: np.ndarray | None = None,
           cancel=NEVER_CANCELLED) -> np.ndarray:
    """The provider's ``answer`` (RGBA cutout or (H, W) mask, uint8) for the ``photo``
    (uint8 (H, W, 3 or 4)), with islands dropped (except those touching ``keep``, e.g. the
    face) and edge colours estimated. A new array."""
    photo = np.asarray(photo)
    answer = np.asarray(answer)
    if answer.shape[:2] != photo.shape[:2] or answer.ndim not in (2, 3) or (
            answer.ndim == 3 and answer.shape[2] != 4):
        raise InputError(f"A cutout must be an (H, W) mask or (H, W, 4) RGBA the size of the "
                         f"photo {photo.shape[:2]}, not {answer.shape}")
    if not 0.0 <= despill <= 1.0:
        raise InputError(f"Despill must be between 0 and 1, not {despill!r}")
    out = answer.copy()
    if not keep_islands:
        if out.ndim == 2:
            out = drop_islands(out, keep)
        else:
            out[..., 3] = drop_islands(out[..., 3], keep)
    if not edge_colour or out.ndim == 2:
        return out
    cancel.check()
    rgb = photo[..., :3]
    alpha = out[..., 3].astype(np.float32) / 255.0
    from_photo = (np.abs(out[..., :3].astype(np.int16) - rgb).max(axis=2)
                  <= PHOTO_TOLERANCE)
    colours = matting.cutout_colours(rgb.astype(np.float32) / 255.0, alpha,
                                     despill_amount=despill, cancel=cancel)
    edge = from_photo & (alpha > matting.EDGE_LOW) & (alpha < matting.EDGE_HIGH)
    out[edge, :3] = images.to_uint8(colours[edge])
    return out


def refine_mask(photo: np.ndarray, mask: np.ndarray, *, edge_colour: bool = True,
                despill: float = 0.5, keep_islands: bool = False,
                keep: np.ndarray | None = None,
                cancel=NEVER_CANCELLED) -> tuple[np.ndarray, np.ndarray | None]:
    """For a material that shows the photo through a mask: the mask (uint8 (H, W)) with its
    islands dropped, and with ``edge_colour`` the edge colours as uint8 (H, W, 4) RGBA (else
    None): RGB the photo with its partly transparent edge in the subject's colour, A 255
    where that changed a pixel, 0 elsewhere (how much of it to mix over the photo)."""
    mask = refine(photo, mask, edge_colour=False, keep_islands=keep_islands, keep=keep,
                  cancel=cancel)
    if not edge_colour:
        return mask, None
    rgba = np.dstack([np.asarray(photo)[..., :3], mask])
    colour = refine(photo, rgba, edge_colour=True, despill=despill, keep_islands=True,
                    cancel=cancel)
    changed = np.any(colour[..., :3] != np.asarray(photo)[..., :3], axis=2)
    colour[..., 3] = np.where(changed, 255, 0)
    return mask, colour
