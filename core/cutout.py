"""A background provider's answer made ready to composite. bpy-free, numpy only.

Every background answer (the offline one and every service's) goes through :func:`refine` in
the job's worker before Blender sees it:

- background pieces joined to the person: a remover often takes a stretch of the background
  next to the subject along (on the astronaut, a strip of the flag along her sleeve). Such a
  piece is joined to the person, so the island rule below cannot see it; its colour can.
  :func:`background_pieces` models the colours of the sure subject (the solid mask, eroded,
  its large pieces) and of the sure background (outside the mask, with a gap) in
  overlapping tiles of the photo (``TRIM_TILES`` per side), and finds the pixels of the mask
  that look much more like the background (smoothed log-likelihood ratio above
  ``TRIM_LIKELIHOOD``). Only thick stretches of them (an opening of ``TRIM_THICK`` leaves
  thin rims: a soft hair edge is the wall's colour too, and stays) that reach the
  background outside the mask go; a second pass learns their colours as background and
  looks again. The sure subject, pieces touching ``keep`` and pixels whose colour the
  answer changed (a service's shadow) are never removed. Then the island rule runs.
- islands: pieces of the mask that do not touch the person are dropped. The person is the
  largest piece of the visible mask (alpha > 0, 8-connected), every piece at least
  ``KEEP_FRACTION`` of its size (a second person stays) and any piece touching ``keep`` (the
  face, where the caller found one); smaller pieces elsewhere (a scrap of the background the
  model took for the subject) go, soft edge and all. ``keep_islands`` keeps them and the
  background pieces both.
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

from . import components, images, masks, matting
from .errors import NEVER_CANCELLED, InputError

KEEP_FRACTION = 0.2        # pieces at least this share of the largest one are kept
PHOTO_TOLERANCE = 3        # levels: an answer pixel this close to the photo is the photo's

# Background pieces (sizes are fractions of the working image's short side).
TRIM_WORK_SIZE = 512       # the colour model runs on the photo shrunk to this short side
TRIM_LIKELIHOOD = 1.5      # nats: removed where the background is e^1.5 = 4.5x likelier
TRIM_SUBJECT_DEPTH = 0.03  # the sure subject: solid alpha this far inside (the border too)
TRIM_GAP = 0.01            # the sure background: this far outside the visible mask
TRIM_SMOOTH = 0.004        # sigma of the blur of the log-likelihood ratio
TRIM_THICK = 0.01          # stretches thinner than twice this are rims, not pieces
TRIM_TILES = 4             # colour models per axis (each over its 3 x 3 neighbourhood)
TRIM_BITS = 4              # colour histogram: 2^4 levels per channel
TRIM_PRIOR = 20.0          # each tile's model mixes in this many pixels' worth of the whole's
TRIM_FRINGE = 0.5          # next to a piece (within TRIM_THICK) this likelihood is enough
TRIM_PASSES = 2            # the second pass counts the first one's pieces as background
TRIM_MIN_SAMPLES = 64      # fewer sure pixels of either kind: no model, nothing removed


def drop_islands(alpha: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """``alpha`` (float or uint8 (H, W)) with the pieces that do not belong to the person
    set to 0 (see the module docstring); pieces touching ``keep`` (bool (H, W), e.g. the
    face) stay whatever their size. Same dtype."""
    visible = np.asarray(alpha) > 0
    kept = components.keep_large(visible, KEEP_FRACTION, keep=keep)
    return np.where(kept, alpha, 0).astype(np.asarray(alpha).dtype)


def _histograms(index: np.ndarray, tile: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Colour probabilities float (TILES^2, bins) of the ``sample`` pixels per tile, each tile
    pooling its 3 x 3 neighbourhood, the bins smoothed [1, 2, 1] along each channel and
    mixed with ``TRIM_PRIOR`` pixels' worth of the whole sample's."""
    g, b = TRIM_TILES, 1 << TRIM_BITS
    count = np.bincount((tile * b ** 3 + index)[sample], minlength=g * g * b ** 3)
    count = count.astype(np.float32).reshape(g, g, b, b, b)
    padded = np.pad(count, ((1, 1), (1, 1), (0, 0), (0, 0), (0, 0)))
    pooled = sum(padded[i:i + g, j:j + g] for i in range(3) for j in range(3))
    whole = count.sum(axis=(0, 1))
    for axis in (-3, -2, -1):
        for a in (pooled, whole):
            edge = np.concatenate([np.take(a, [0], axis), a, np.take(a, [-1], axis)], axis)
            a[...] = (np.take(edge, range(0, b), axis) + 2 * a
                      + np.take(edge, range(2, b + 2), axis)) / 4
    whole /= max(float(whole.sum()), 1.0)
    total = pooled.sum(axis=(2, 3, 4), keepdims=True)
    return ((pooled + TRIM_PRIOR * whole) / (total + TRIM_PRIOR)).reshape(g * g, -1)


def _likelihood_ratio(rgb: np.ndarray, subject: np.ndarray,
                      background: np.ndarray) -> np.ndarray:
    """log p(colour | background) - log p(colour | subject), float32 (H, W), from colour
    histograms of the ``subject`` and ``background`` pixels in overlapping tiles, blended
    bilinearly between the tiles' centres."""
    h, w = subject.shape
    g, bits = TRIM_TILES, TRIM_BITS
    q = (rgb[..., :3] >> (8 - bits)).astype(np.int32)
    index = (q[..., 0] << (2 * bits)) | (q[..., 1] << bits) | q[..., 2]
    ty = np.minimum(np.arange(h) * g // h, g - 1)
    tx = np.minimum(np.arange(w) * g // w, g - 1)
    tile = ty[:, None] * g + tx[None, :]
    table = np.log((_histograms(index, tile, background) + 1e-6)
                   / (_histograms(index, tile, subject) + 1e-6))

    def between(n):      # the lower of the two nearest tile centres, and the weight of each
        centre = (np.arange(n) + 0.5) * g / n - 0.5
        low = np.clip(np.floor(centre).astype(np.intp), 0, g - 2)
        t = np.clip(centre - low, 0.0, 1.0).astype(np.float32)
        return low, (1.0 - t, t)

    y0, wy = between(h)
    x0, wx = between(w)
    out = np.zeros((h, w), np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            out += (wy[dy][:, None] * wx[dx][None, :]
                    * table[(y0 + dy)[:, None] * g + (x0 + dx)[None, :], index])
    return out


def background_pieces(photo: np.ndarray, alpha: np.ndarray, *,
                      keep: np.ndarray | None = None, removable: np.ndarray | None = None,
                      cancel=NEVER_CANCELLED) -> np.ndarray:
    """The pixels of the mask ``alpha`` (uint8 (H, W)) that are pieces of the background
    joined to the subject, bool (H, W) (see the module docstring). A piece touching ``keep``
    (bool (H, W), e.g. a face found there) is none; ``removable`` (bool (H, W)): only these
    pixels may be reported (default: all). The colour model runs on the photo shrunk to
    ``TRIM_WORK_SIZE``, so its cost hardly grows with the photo."""
    alpha = np.asarray(alpha)
    h, w = alpha.shape
    scale = min(1.0, TRIM_WORK_SIZE / min(h, w))
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    rgb = images.resize(np.ascontiguousarray(photo[..., :3]), sh, sw, filter="box")

    def shrunk(m):       # True where any pixel of the working pixel's area is
        return images.resize(m.astype(np.uint8) * 255, sh, sw, filter="box") > 0

    visible = shrunk(alpha > 0)
    short = min(sh, sw)
    depth = max(2, round(TRIM_SUBJECT_DEPTH * short))
    thick = max(1, round(TRIM_THICK * short))
    # Sure subject: solid, and at least ``depth`` from anything else, the image border too.
    unsure = np.pad(shrunk(alpha < 254), 1, constant_values=True)
    subject = ~images.dilate(unsure, depth)[1:-1, 1:-1]
    # ... in its large pieces: a stretch of wall joined to the subject may hold a small one.
    subject = components.keep_large(subject, KEEP_FRACTION)
    background = ~images.dilate(visible, max(2, round(TRIM_GAP * short)))
    nothing = np.zeros((h, w), bool)
    if subject.sum() < TRIM_MIN_SAMPLES or background.sum() < TRIM_MIN_SAMPLES:
        return nothing
    near_outside = images.dilate(~visible, thick + 1)
    pieces = np.zeros((sh, sw), bool)
    for _ in range(TRIM_PASSES):
        cancel.check()
        ratio = _likelihood_ratio(rgb, subject & ~pieces, background | pieces)
        ratio = images.blur(np.clip(ratio, -4.0, 4.0), max(1.0, TRIM_SMOOTH * short))
        looks_background = visible & ~subject & (ratio > TRIM_LIKELIHOOD)
        wide = images.dilate(~images.dilate(~looks_background, thick), thick)
        core = components.touching(wide & looks_background, near_outside, connectivity=4)
        pieces = core | (images.dilate(core, thick) & visible & ~subject & (ratio > TRIM_FRINGE))
    if not pieces.any():
        return nothing
    # Back to full size, in the pieces' box only (a 1-pixel margin of nothing around it).
    c0, r0, c1, r1 = masks.bbox(pieces, 1)
    y0, y1 = round(r0 * h / sh), round(r1 * h / sh)
    x0, x1 = round(c0 * w / sw), round(c1 * w / sw)
    out = np.zeros((h, w), bool)
    out[y0:y1, x0:x1] = images.resize(pieces[r0:r1, c0:c1].astype(np.float32),
                                      y1 - y0, x1 - x0) > 0.5
    out &= alpha > 0
    if removable is not None:
        out &= removable
    if keep is not None:
        keep = np.asarray(keep, bool)
        if (out & keep).any():
            out &= ~components.touching(out, keep, connectivity=4)
    return out


def _cut(alpha: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """uint8 ``alpha`` with the ``pieces`` (bool) at 0 and the pixels along the cut faded by
    the share of their 3 x 3 neighbourhood kept (an anti-aliased edge, not a hard step)."""
    out = np.where(pieces, 0, alpha).astype(alpha.dtype)
    found = masks.bbox(pieces, 2)     # the fade, in the pieces' box (2 px more: the windows)
    if found is not None:
        x0, y0, x1, y1 = found
        box = (slice(y0, y1), slice(x0, x1))
        kept = images.box_filter((~pieces[box]).astype(np.float32), 1)
        out[box] = np.round(out[box] * kept).astype(alpha.dtype)
    return out


def refine(photo: np.ndarray, answer: np.ndarray, *, edge_colour: bool = True,
           despill: float = 0.5, keep_islands: bool = False, keep: np.ndarray | None = None,
           cancel=NEVER_CANCELLED) -> np.ndarray:
    """The provider's ``answer`` (RGBA cutout or (H, W) mask, uint8) for the ``photo``
    (uint8 (H, W, 3 or 4)), with background pieces and islands dropped (never ``keep``,
    e.g. the face, nor the pieces touching it) and edge colours estimated. A new array."""
    photo = np.asarray(photo)
    answer = np.asarray(answer)
    if answer.shape[:2] != photo.shape[:2] or answer.ndim not in (2, 3) or (
            answer.ndim == 3 and answer.shape[2] != 4):
        raise InputError(f"A cutout must be an (H, W) mask or (H, W, 4) RGBA the size of the "
                         f"photo {photo.shape[:2]}, not {answer.shape}")
    if not 0.0 <= despill <= 1.0:
        raise InputError(f"Despill must be between 0 and 1, not {despill!r}")
    out = answer.copy()
    rgb = photo[..., :3]
    from_photo = None if out.ndim == 2 or (keep_islands and not edge_colour) else (
        np.abs(out[..., :3].astype(np.int16) - rgb).max(axis=2) <= PHOTO_TOLERANCE)
    if not keep_islands:
        mask = out if out.ndim == 2 else out[..., 3]
        pieces = background_pieces(rgb, mask, keep=keep, removable=from_photo,
                                   cancel=cancel)
        mask = _cut(mask, pieces)
        if out.ndim == 2:
            out = drop_islands(mask, keep)
        else:
            out[..., 3] = drop_islands(mask, keep)
    if not edge_colour or out.ndim == 2:
        return out
    cancel.check()
    alpha = out[..., 3].astype(np.float32) / 255.0
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
