"""Hole filling: exemplar-based inpainting (multi-scale PatchMatch) and a fast diffusion fill.

bpy-free, numpy only. Used by the offline provider's cleanup.

Why exemplar-based: diffusion methods (OpenCV's Telea / Navier-Stokes) continue colours
smoothly into the hole, which is right for a thin scratch but paints a smear into any hole in
a texture (bricks, grass, fabric, skin pores). Copying whole patches from the rest of the image
keeps the texture. The method is Wexler, Shechtman & Irani's "Space-Time Completion of Video"
(2007) with the nearest-neighbour field found by Barnes et al.'s PatchMatch (2009):

- a pyramid from the coarsest level at which the hole is "thin" (every hole pixel within a
  patch radius of known pixels) up to full resolution. Starting coarser than that matters:
  a patch lying wholly inside the hole can only be matched against the smooth first guess,
  and the search then settles on a smooth (blurred) fill that finer levels cannot undo;
- at each level, for every patch touching the hole, the most similar patch lying entirely in
  the allowed source region (not in the hole, not ``exclude``d): exact brute force at the
  coarsest level when it is small enough, which decides the global structure; PatchMatch
  (propagation from neighbours plus random search) elsewhere, at finer levels starting from
  the upsampled field of the level below;
- voting: each hole pixel becomes the similarity-weighted mean of what the patches covering it
  propose; then search again on the new image (expectation-maximisation), a few times;
- a locality prior (``LOCALITY``) adds a small cost for distance between a patch and its
  source, so that on busy content the nearby, relevant patches win over flat ones far away.

Everything is vectorised: PatchMatch's propagation runs in parallel over all patches (each
patch tries its four neighbours' matches at a time, jump-flood style with a longer step too),
instead of the original sequential scan that would need a Python loop per pixel.
"""

from __future__ import annotations

import numpy as np

from . import images
from .errors import NEVER_CANCELLED, InputError

PATCH_RADIUS = 3                 # 7 x 7 patches: large enough for texture, cheap enough to gather
MIN_LEVEL_SIZE = 4 * PATCH_RADIUS + 2   # no level narrower than two patches
MIN_SOURCES = 32                 # a level with fewer whole source patches than this is not used
COARSE_ITERATIONS = 5            # search + vote rounds at the coarsest level,
MIDDLE_ITERATIONS = 3            # at the levels in between,
FINE_ITERATIONS = 2              # and at full resolution (the field arrives nearly converged,
                                 # so there each round also runs one PatchMatch pass, not two)
PROPAGATION_STEPS = (1, 4)       # neighbour distances tried in the parallel propagation
# Random search covers the whole image only at the coarsest level; above it, the field comes
# from the level below, where long jumps were already tried, so it only searches this far.
REFINE_RADIUS = 16
UNKNOWN_WEIGHT = 0.1             # at first, hole pixels' guessed colours barely count in matching
# A locality prior: each full-resolution pixel between a target patch and its source costs as
# much as this many grey levels of difference per patch value. Without it, on busy content
# (lettering, a logo) every source is about equally far, and some flat patch far away wins
# and paints a grey band across the hole; nearby patches, being relevant, then win.
LOCALITY = 0.2
BRUTE_FORCE_CELLS = 4_000_000    # target x source distances computed at once at the coarsest level
BRUTE_FORCE_LIMIT = 20_000_000   # above this many, the coarsest level uses PatchMatch too

# Masks where diffusion is as good as patches and much faster: every hole pixel touches a known
# pixel (strokes at most 2 px wide, such as scratches or dust), or a handful of pixels in all.
TINY_AREA = 16

# Only the mask's bounding box grown by this many times its size on each side (at least
# MIN_CONTEXT pixels) is worked on, when that is less than half the image: far-away texture
# rarely matches better, and a small fix on a 4096 x 4096 texture stays fast.
CONTEXT_FACTOR = 2.0
MIN_CONTEXT = 64


# --------------------------------------------------------------------------------------------
# Public API


def inpaint(rgb: np.ndarray, mask: np.ndarray, *, exclude: np.ndarray | None = None,
            cancel=None, seed: int = 0) -> np.ndarray:
    """Fill the masked pixels of ``rgb`` from the rest of the image.

    ``rgb`` uint8 (H, W, 3); ``mask`` (H, W), any value > 0 is filled (a grey brush stroke
    counts in full); ``exclude`` (H, W) bool marks pixels that must not be copied from (e.g.
    the person, when cleaning up the background). ``cancel`` has ``check()`` and
    ``progress(fraction, text)`` (a ``core.errors.CancelToken``) or is None.

    Returns a new uint8 (H, W, 3) array whose pixels outside the mask are byte-identical to the
    input. The result depends only on the inputs and ``seed``. Tiny masks (see ``TINY_AREA``)
    and masks with no usable source patch left are filled by :func:`diffuse`.
    """
    rgb, hole = _check(rgb, mask)
    cancel = cancel or NEVER_CANCELLED
    cancel.check()
    if not hole.any():
        return rgb.copy()
    if exclude is None:
        allowed = ~hole
    else:
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != hole.shape:
            raise ValueError(f"exclude {exclude.shape} does not match the mask {hole.shape}")
        allowed = ~hole & ~exclude
    if _is_tiny(hole):
        return diffuse(rgb, hole)

    box = _context_box(hole, CONTEXT_FACTOR, MIN_CONTEXT)
    work = rgb[box].astype(np.float32)
    filled = _Inpainter(work, hole[box], allowed[box], cancel, np.random.default_rng(seed)).run()
    if filled is None:                       # no whole source patch anywhere: diffusion it is
        return diffuse(rgb, hole)
    out = rgb.copy()
    region = out[box]
    region[hole[box]] = images.to_uint8(filled[hole[box]], peak=255.0)
    return out


def diffuse(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the masked pixels with a smooth membrane (Laplace) interpolation of their border.

    Multi-scale ("pull-push"): the known pixels are averaged down a pyramid until the hole is
    gone, then each level fills its hole from the level above and relaxes it with a few Jacobi
    steps, so large holes converge without thousands of iterations. Same arguments and
    guarantees as :func:`inpaint` (pixels outside the mask untouched). Used on its own for
    scratches and dust, and as the first guess inside :func:`inpaint`.
    """
    rgb, hole = _check(rgb, mask)
    if not hole.any():
        return rgb.copy()
    box = _context_box(hole, 0.5, 8)
    filled = images.membrane_fill(rgb[box].astype(np.float32), hole[box])
    out = rgb.copy()
    region = out[box]
    region[hole[box]] = images.to_uint8(filled[hole[box]], peak=255.0)
    return out


# --------------------------------------------------------------------------------------------
# Helpers shared by both fills


def _check(rgb, mask):
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
    hole = np.asarray(mask)
    if hole.shape != rgb.shape[:2]:
        raise ValueError(f"mask {hole.shape} does not match the image {rgb.shape[:2]}")
    hole = hole > 0
    if hole.all():
        raise InputError("The mask covers the whole image: there is nothing to fill it from. "
                         "Paint only over what should go, leaving some of the texture "
                         "unpainted")
    return rgb, hole


def _is_tiny(hole: np.ndarray) -> bool:
    if hole.sum() <= TINY_AREA:
        return True
    return not _erode_cross(hole).any()


def _erode_cross(mask: np.ndarray) -> np.ndarray:
    """Pixels whose 4 neighbours are all in ``mask`` too (outside the image counts as in)."""
    p = np.pad(mask, 1, constant_values=True)
    return mask & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]


def _context_box(hole: np.ndarray, factor: float, minimum: int) -> tuple[slice, slice]:
    """The slices to work on: the hole's bounding box plus context, or the whole image."""
    rows = np.flatnonzero(hole.any(axis=1))
    cols = np.flatnonzero(hole.any(axis=0))
    height, width = hole.shape
    margin = max(minimum, int(factor * max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)))
    top, bottom = max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)
    left, right = max(0, cols[0] - margin), min(width, cols[-1] + 1 + margin)
    if (bottom - top) * (right - left) > 0.5 * height * width:
        return slice(0, height), slice(0, width)
    return slice(top, bottom), slice(left, right)


def _is_thin(hole: np.ndarray) -> bool:
    """Whether every hole pixel lies within a patch radius of a known pixel."""
    return not (hole & ~images.dilate(~hole, PATCH_RADIUS)).any()


# --------------------------------------------------------------------------------------------
# Multi-scale PatchMatch


class _Level:
    """One pyramid level, reflect-padded by the patch radius so patches near the border work.

    Coordinates are in the padded frame; flat indices address ``image.reshape(-1, 3)``.
    """

    def __init__(self, image: np.ndarray, hole: np.ndarray, allowed: np.ndarray, scale: int):
        r = PATCH_RADIUS
        self.shape = hole.shape
        # Locality cost per squared pixel (of this level) between target and source: LOCALITY
        # grey levels per full-resolution pixel, for each value of a patch.
        self.locality = (LOCALITY * scale) ** 2 * (2 * r + 1) ** 2 * 3
        self.hole = np.pad(hole, r)                                     # padding: not hole
        self.image = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect")
        pw = self.image.shape[1]
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        self.offsets = (dy * pw + dx).ravel()
        self.width = pw
        # Source centres: the whole patch in the allowed region (the padding is not allowed).
        self.valid = ~images.dilate(~np.pad(allowed, r, constant_values=False), r)
        self.valid_y, self.valid_x = np.nonzero(self.valid)
        # Targets: every centre whose patch touches the hole, inside the real image.
        inside = np.pad(np.ones(self.shape, bool), r, constant_values=False)
        self.target_y, self.target_x = np.nonzero(images.dilate(self.hole, r) & inside)
        self.target_flat = self.target_y * pw + self.target_x
        self.target_map = np.full(self.valid.shape, -1, np.int64)
        self.target_map[self.target_y, self.target_x] = np.arange(self.target_y.size)
        self.hole_flat = np.flatnonzero(self.hole)

    @property
    def flat(self) -> np.ndarray:
        return self.image.reshape(-1, 3)

    def unpadded(self) -> np.ndarray:
        r = PATCH_RADIUS
        return self.image[r:-r, r:-r]

    def set_hole(self, values: np.ndarray) -> None:
        """Write hole pixels (flat order) and refresh the reflected border."""
        self.flat[self.hole_flat] = values
        r = PATCH_RADIUS
        self.image = np.pad(self.unpadded(), ((r, r), (r, r), (0, 0)), mode="reflect")

    def patches(self, centres_flat: np.ndarray) -> np.ndarray:
        """(N, K, 3) pixels of the patches centred at ``centres_flat``.

        ``np.take`` along an axis gathers several times faster than fancy indexing, and this
        gather is most of the run time.
        """
        return np.take(self.flat, centres_flat[:, None] + self.offsets, axis=0)

    def random_sources(self, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, self.valid_y.size, count)
        return self.valid_y[pick], self.valid_x[pick]


class _Inpainter:
    def __init__(self, image, hole, allowed, cancel, rng):
        self.cancel, self.rng = cancel, rng
        self.levels = [_Level(image, hole, allowed, scale=1)]
        everywhere = np.ones(hole.shape, bool)
        while not _is_thin(hole) and min(hole.shape) >= 2 * MIN_LEVEL_SIZE:
            image = images.pool_mean(image, everywhere)[0]
            # A coarse pixel is hole if any of its children is, a source if all of them are.
            hole = images.pool_mean(hole[..., None], everywhere)[0][..., 0] > 0
            allowed = images.pool_mean(allowed[..., None], everywhere)[0][..., 0] > 0.99
            everywhere = np.ones(hole.shape, bool)
            level = _Level(image, hole, allowed, scale=2 ** len(self.levels))
            if level.valid_y.size < MIN_SOURCES:
                break
            self.levels.append(level)
        # Progress in proportion to the patches matched per level (4x per level up).
        sizes = np.array([lv.target_y.size for lv in self.levels], np.float64)[::-1]
        self.progress_at = np.concatenate([[0.0], np.cumsum(sizes) / sizes.sum()])

    def run(self) -> np.ndarray | None:
        """The filled full-resolution work area, or None when no source patch exists."""
        levels = self.levels
        if levels[0].valid_y.size < MIN_SOURCES:
            return None
        coarsest = len(levels) - 1
        for i in range(coarsest, -1, -1):
            level = levels[i]
            if i == coarsest:
                r = PATCH_RADIUS
                guess = images.membrane_fill(level.unpadded(), level.hole[r:-r, r:-r])
                level.set_hole(guess.reshape(-1, 3)[_unpadded_flat(level)])
                brute = level.target_y.size * level.valid_y.size <= BRUTE_FORCE_LIMIT
                if brute:
                    src_y, src_x, dist = self._brute_force(level, first=True)
                else:
                    src_y, src_x = level.random_sources(level.target_y.size, self.rng)
                iterations = COARSE_ITERATIONS
            else:
                src_y, src_x = self._upsample_field(levels[i + 1], level, src_y, src_x)
                coarse = images.upsample_2x(levels[i + 1].unpadded(), level.shape)
                level.set_hole(coarse.reshape(-1, 3)[_unpadded_flat(level)])
                dist = self._distances(level, level.patches(level.target_flat), src_y, src_x)
                self._vote(level, src_y, src_x, dist)
                iterations = FINE_ITERATIONS if i == 0 else MIDDLE_ITERATIONS
            step = coarsest - i
            start, end = self.progress_at[step], self.progress_at[step + 1]
            for it in range(iterations):
                self.cancel.progress(start + (end - start) * it / iterations, "Filling the hole")
                if i == coarsest and brute:
                    src_y, src_x, dist = self._brute_force(level)
                else:
                    src_y, src_x, dist = self._patchmatch(
                        level, src_y, src_x, iterations=1 if i == 0 else 2,
                        search_radius=max(level.shape) // 2 if i == coarsest else REFINE_RADIUS)
                self._vote(level, src_y, src_x, dist)
        self.cancel.progress(1.0, "Hole filled")
        return levels[0].unpadded()

    # -- matching ----------------------------------------------------------------------------

    def _brute_force(self, level, first=False):
        """Exact nearest source patch for every target: ||a - b||^2 expanded into products.

        On the ``first`` match the hole's pixels hold only the smooth diffusion guess, so they
        count with ``UNKNOWN_WEIGHT``: the known pixels around decide.
        """
        targets = level.patches(level.target_flat).reshape(level.target_flat.size, -1)
        source_flat = level.valid_y * level.width + level.valid_x
        sources = level.patches(source_flat).reshape(source_flat.size, -1) / 255.0
        targets = targets / 255.0
        w = np.ones_like(targets)
        if first:
            unknown = level.hole.ravel()[level.target_flat[:, None] + level.offsets]
            w[np.repeat(unknown, 3, axis=1)] = UNKNOWN_WEIGHT
        best = np.empty(level.target_flat.size, np.int64)
        dist = np.empty(level.target_flat.size, np.float32)
        chunk = max(1, BRUTE_FORCE_CELLS // source_flat.size)
        sq = sources * sources
        for start in range(0, targets.shape[0], chunk):
            a, wa = targets[start:start + chunk], w[start:start + chunk]
            d = (wa * a * a).sum(1)[:, None] - 2.0 * (wa * a) @ sources.T + wa @ sq.T
            ty = level.target_y[start:start + chunk, None]
            tx = level.target_x[start:start + chunk, None]
            d += ((ty - level.valid_y) ** 2 + (tx - level.valid_x) ** 2) * (
                level.locality / (255.0 * 255.0))
            best[start:start + chunk] = d.argmin(1)
            dist[start:start + chunk] = np.maximum(d.min(1), 0.0) * (255.0 * 255.0)
        return level.valid_y[best], level.valid_x[best], dist

    def _distances(self, level, target_patches, src_y, src_x):
        """Patch SSD plus the locality cost, for each target (in order) and its source."""
        diff = level.patches(src_y * level.width + src_x) - target_patches
        far = (src_y - level.target_y) ** 2 + (src_x - level.target_x) ** 2
        return np.einsum("nkc,nkc->n", diff, diff) + far * level.locality

    def _patchmatch(self, level, src_y, src_x, iterations, search_radius):
        """Improve the field: parallel propagation from neighbours, then random search.

        Random search tries offsets of ``search_radius``, half that, ... down to 1 pixel.
        """
        r = PATCH_RADIUS
        height, width = level.shape
        target_patches = level.patches(level.target_flat)
        dist = self._distances(level, target_patches, src_y, src_x)
        ty, tx = level.target_y, level.target_x
        map_h, map_w = level.target_map.shape

        def consider(cand_y, cand_x, usable):
            cand_y = np.clip(cand_y, r, height + r - 1)
            cand_x = np.clip(cand_x, r, width + r - 1)
            usable = usable & level.valid[cand_y, cand_x]
            d = np.where(usable, self._distances(level, target_patches, cand_y, cand_x), np.inf)
            better = d < dist
            src_y[better], src_x[better], dist[better] = cand_y[better], cand_x[better], d[better]

        radii = []
        radius = search_radius
        while radius >= 1:
            radii.append(radius)
            radius //= 2
        for _ in range(iterations):
            for step in PROPAGATION_STEPS:
                for dy, dx in ((0, step), (0, -step), (step, 0), (-step, 0)):
                    ny, nx = np.clip(ty + dy, 0, map_h - 1), np.clip(tx + dx, 0, map_w - 1)
                    neighbour = level.target_map[ny, nx]
                    usable = neighbour >= 0
                    neighbour = np.maximum(neighbour, 0)
                    consider(src_y[neighbour] - dy, src_x[neighbour] - dx, usable)
            for radius in radii:
                offset = self.rng.integers(-radius, radius + 1, size=(2, ty.size))
                consider(src_y + offset[0], src_x + offset[1], np.ones(ty.size, bool))
            self.cancel.check()
        return src_y, src_x, dist

    def _upsample_field(self, coarse, fine, src_y, src_x):
        """Each fine target starts from its coarse parent's match, shifted by its sub-position."""
        r = PATCH_RADIUS
        uy, ux = fine.target_y - r, fine.target_x - r
        cy = np.minimum(uy // 2, coarse.shape[0] - 1) + r
        cx = np.minimum(ux // 2, coarse.shape[1] - 1) + r
        parent = coarse.target_map[cy, cx]
        has_parent = parent >= 0
        parent = np.maximum(parent, 0)
        fy = 2 * (src_y[parent] - r) + (uy - 2 * (cy - r)) + r
        fx = 2 * (src_x[parent] - r) + (ux - 2 * (cx - r)) + r
        height, width = fine.shape
        fy, fx = np.clip(fy, r, height + r - 1), np.clip(fx, r, width + r - 1)
        bad = ~has_parent | ~fine.valid[fy, fx]
        fy[bad], fx[bad] = fine.random_sources(int(bad.sum()), self.rng)
        return fy, fx

    # -- reconstruction ----------------------------------------------------------------------

    def _vote(self, level, src_y, src_x, dist):
        """Each hole pixel := weighted mean of the source pixels the covering patches propose.

        Weights exp(-d / 2 sigma^2) with sigma^2 the 75th percentile of the patch distances
        (Wexler et al.): good matches dominate, which keeps the fill sharp.
        """
        sigma2 = float(np.percentile(dist, 75)) + 1e-3
        # The floor keeps a pixel covered only by poor matches from dividing 0 by 0.
        w = (np.exp(-(dist - dist.min()) / (2.0 * sigma2)) + 1e-6).astype(np.float32)
        proposals = level.patches(src_y * level.width + src_x) * w[:, None, None]
        where = (level.target_flat[:, None] + level.offsets).ravel()
        size = level.flat.shape[0]
        total = np.stack([np.bincount(where, proposals[..., c].ravel(), size) for c in range(3)], 1)
        weight = np.bincount(where, np.repeat(w, len(level.offsets)), size)
        holes = level.hole_flat
        level.set_hole(total[holes] / weight[holes, None])


def _unpadded_flat(level: _Level) -> np.ndarray:
    """Flat indices into the unpadded image of the level's hole pixels (same order)."""
    r = PATCH_RADIUS
    ys, xs = np.nonzero(level.hole)
    return (ys - r) * level.shape[1] + (xs - r)
