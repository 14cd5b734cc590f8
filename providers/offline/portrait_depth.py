"""Portrait relief: an approximate depth map built from the person mask and the face mesh.

No depth network ships in any package registry, so this is modelling rather than measurement:

1. body: the person's silhouette inflated into a rounded volume. We solve the Poisson equation
   lap(h) = -1 inside the silhouette (h = 0 outside; coarse-to-fine Jacobi) and take
   sqrt(4 h), which is exactly a hemisphere for a disc and a smooth, crease-free "pillow" for
   any other shape (unlike a distance transform, which has ridges along the medial axis).
   It is saturated smoothly (tanh) so a wide torso becomes a plateau instead of a mountain.
2. head: a smooth bump centred on the face (C1 at its rim, so it adds no step), lifting the head
   in front of the shoulders.
3. face: the 468 MediaPipe landmarks carry their own depth (z). Their difference from the
   body+head surface is interpolated between the points (push-pull pyramid plus a light blur)
   and added with a feathered weight over the face, so the nose, brows, eye sockets, lips and
   chin appear and fade out without a seam. Like a sculptor's bas-relief, that detail is
   compressed (FACE_DETAIL): at full depth a small face's nose casts a deep groove over the
   upper lip that reads as a dark band in renders and prints.
4. everything is normalised so the nearest point is 1 and multiplied by the person's coverage,
   so the background is exactly 0 (ClipDrop's convention).
"""

from __future__ import annotations

import numpy as np

from ...core import images
from .face import Face

WORK_SIZE = 512          # longer side of the grid the relief is modelled on
FLOOR = 0.08             # depth of the person's silhouette edge (background is 0)
BODY_THICKNESS = 0.9     # body plateau, in face widths
HEAD_LIFT = 0.35         # head bump height, in face widths
HEAD_RADIUS = (0.95, 1.15)   # head bump radii (x, y), in face widths/heights
COVER = 0.5              # person alpha at which the depth map cuts to the background
FACE_DETAIL = 0.5        # bas-relief compression of the face mesh's own depth (see below)


def inflate(mask: np.ndarray, coarsest: int = 12, iterations: int = 80) -> np.ndarray:
    """Rounded height (pixels) of a binary silhouette: sqrt(4 h) with lap(h) = -1 inside."""
    levels = [mask.astype(np.float32)]
    while min(levels[-1].shape) > coarsest:
        m = levels[-1]
        h, w = m.shape
        m = images.resize(m, max(1, (h + 1) // 2), max(1, (w + 1) // 2))
        levels.append(m)
    sol = None
    for depth, m in reversed(list(enumerate(levels))):
        inside = m > 0.5
        spacing = float(mask.shape[0]) / m.shape[0]
        if sol is None:
            sol = np.zeros(m.shape, np.float32)
        else:
            sol = images.resize(sol, m.shape[0], m.shape[1])
        sol *= inside
        src = spacing * spacing / 4.0
        p = np.zeros((m.shape[0] + 2, m.shape[1] + 2), np.float32)
        n = iterations if depth > 0 else iterations // 2
        for _ in range(n):
            p[1:-1, 1:-1] = sol
            # the picture's border is not the person's edge: zero flux there (Neumann)
            p[0, 1:-1], p[-1, 1:-1] = sol[0], sol[-1]
            p[1:-1, 0], p[1:-1, -1] = sol[:, 0], sol[:, -1]
            sol = (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) * 0.25 + src
            sol *= inside
    return np.sqrt(4.0 * np.maximum(sol, 0.0))


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise (in x right, y down terms: clockwise on screen) hull, monotone chain."""
    pts = sorted(map(tuple, points.tolist()))

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], np.float32)


def _polygon_mask(hull: np.ndarray, shape) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    inside = np.ones(shape, bool)
    for i in range(len(hull)):
        (x0, y0), (x1, y1) = hull[i], hull[(i + 1) % len(hull)]
        inside &= (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0) >= 0
    return inside


def _splat(points: np.ndarray, values: np.ndarray, shape):
    """Bilinear splat of scattered values: (sum of w*v, sum of w) grids."""
    h, w = shape
    x = np.clip(points[:, 0], 0, w - 1.001)
    y = np.clip(points[:, 1], 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    num = np.zeros(shape, np.float64)
    den = np.zeros(shape, np.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(num, (y0 + dy, x0 + dx), wy * wx * values)
            np.add.at(den, (y0 + dy, x0 + dx), wy * wx)
    return num, den


def _sample(grid: np.ndarray, points: np.ndarray) -> np.ndarray:
    h, w = grid.shape
    x = np.clip(points[:, 0], 0, w - 1.001)
    y = np.clip(points[:, 1], 0, h - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    return (grid[y0, x0] * (1 - fx) * (1 - fy) + grid[y0, x0 + 1] * fx * (1 - fy)
            + grid[y0 + 1, x0] * (1 - fx) * fy + grid[y0 + 1, x0 + 1] * fx * fy)


def portrait_depth(alpha: np.ndarray, face: Face | None, cancel=None) -> np.ndarray:
    """float32 (H, W) 0..1 depth (1 = nearest, background exactly 0) from the person's soft
    mask ``alpha`` (H, W) 0..1 and the face mesh (or None: body only)."""
    H, W = alpha.shape
    scale = min(1.0, WORK_SIZE / max(H, W))
    h, w = max(8, int(round(H * scale))), max(8, int(round(W * scale)))
    sx, sy = w / W, h / H
    a = images.resize(alpha, h, w)
    person = a > 0.5
    if not person.any():
        return np.zeros((H, W), np.float32)

    if face is not None:
        lm = face.landmarks.astype(np.float64).copy()
        lm[:, 0] = lm[:, 0] * sx - 0.5
        lm[:, 1] = lm[:, 1] * sy - 0.5
        lm[:, 2] *= (sx + sy) / 2
        fw = float(np.ptp(lm[:, 0]))
        fh = float(np.ptp(lm[:, 1]))
    else:
        lm = None
        fw = 0.3 * float(np.sqrt(person.sum()))   # a typical head width for such a silhouette
        fh = 1.1 * fw

    # 1. body
    dome = inflate(person)
    if cancel is not None:
        cancel.check()
    thick = BODY_THICKNESS * fw
    body = thick * np.tanh(dome / thick)
    base = body

    if lm is not None:
        # 2. head bump, C1 at its rim
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        cx = float(lm[:, 0].mean())
        cy = float(lm[:, 1].mean()) - 0.12 * fh     # hair makes the head's centre higher
        q2 = ((xs - cx) / (HEAD_RADIUS[0] * fw)) ** 2 + ((ys - cy) / (HEAD_RADIUS[1] * fh)) ** 2
        bump = np.clip(1.0 - q2, 0.0, None) ** 2
        base = body + HEAD_LIFT * fw * bump

        # 3. face detail: landmark heights relative to the body+head surface
        heights = -lm[:, 2]
        resid = heights - _sample(base, lm[:, :2])
        hull = _convex_hull(lm[:, :2])
        on_hull = np.zeros(len(lm), bool)
        for p in hull:
            on_hull |= np.all(np.isclose(lm[:, :2], p, atol=1e-3), axis=1)
        resid -= np.median(resid[on_hull])
        num, den = _splat(lm[:, :2], resid, (h, w))
        detail = images.push_pull(np.where(den > 0, num / np.maximum(den, 1e-12), 0.0),
                                   np.clip(den, 0, 1))
        spacing = fw / 22.0
        detail = images.blur(detail, 0.9 * spacing)
        centre = hull.mean(axis=0)
        inner = centre + (hull - centre) * 0.9
        weight = images.blur(_polygon_mask(inner, (h, w)).astype(np.float32), 0.07 * fw)
        base = base + FACE_DETAIL * weight * detail
        if cancel is not None:
            cancel.check()

    base = np.maximum(base, 0.0)
    peak = float(base[person].max()) if person.any() else 1.0
    depth_w = base / max(peak, 1e-6)
    depth = images.resize(depth_w, H, W)
    # The silhouette is a clean cut at alpha 0.5 (a depth map has no "half a person": a soft
    # ramp there would turn into a ring of bogus normals along the hair).
    out = FLOOR + (1.0 - FLOOR) * np.clip(depth, 0.0, 1.0)
    out[alpha < COVER] = 0.0
    return out.astype(np.float32)
