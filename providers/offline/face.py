"""Face detection (MediaPipe BlazeFace, short range) and the 468-point face mesh (MediaPipe
face landmarks), decoded in numpy the way MediaPipe's own graphs do it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...core import images
from .runtime import ModelStore
from .segment import letterbox

DETECTOR = "face_detection_short_range"
LANDMARKS = "face_landmark"
DET_SIZE = 128
LM_SIZE = 192
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE = 0.5

# Landmark indices (MediaPipe face mesh topology)
RIGHT_EYE_OUTER = 33   # the subject's right eye: image left
LEFT_EYE_OUTER = 263


@dataclasses.dataclass
class Face:
    landmarks: np.ndarray   # (468, 3) float32: x, y in image pixels, z in pixels (smaller = nearer)
    score: float            # detector score
    presence: float         # landmark model's face presence

    @property
    def width(self) -> float:
        xs = self.landmarks[:, 0]
        return float(xs.max() - xs.min())

    @property
    def height(self) -> float:
        ys = self.landmarks[:, 1]
        return float(ys.max() - ys.min())


def _anchors() -> np.ndarray:
    """(896, 2) anchor centres, normalised, in MediaPipe's order (16x16x2 then 8x8x6)."""
    out = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


ANCHORS = _anchors()


def _iou(box, boxes):
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def detect(store: ModelStore, rgb: np.ndarray):
    """Best face: (score, box (x0, y0, x1, y1) in pixels, keypoints (6, 2) in pixels) or None."""
    h, w = rgb.shape[:2]
    square, (top, left, nh, nw) = letterbox(rgb, DET_SIZE)
    reg, cls = store.run(DETECTOR, {store.input_name(DETECTOR): square[None] * 2.0 - 1.0})
    reg, cls = reg[0], cls[0, :, 0]
    scores = 1.0 / (1.0 + np.exp(-np.clip(cls.astype(np.float64), -100, 100)))
    keep = np.nonzero(scores >= MIN_DETECTION_SCORE)[0]
    if keep.size == 0:
        return None
    r = reg[keep] / DET_SIZE
    a = ANCHORS[keep]
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    bw, bh = r[:, 2], r[:, 3]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    s = scores[keep]
    # weighted non-maximum suppression around the best detection (MediaPipe's WEIGHTED mode)
    best = int(np.argmax(s))
    group = _iou(boxes[best], boxes) >= 0.3
    wts = s[group][:, None]
    box = (boxes[group] * wts).sum(0) / wts.sum()
    kp = (kps[group] * wts[:, :, None]).sum(0) / wts.sum()
    # letterbox square (normalised) -> image pixels
    scale = max(h, w) / DET_SIZE

    def to_img(p):
        p = np.asarray(p, np.float32) * DET_SIZE
        return np.stack([(p[..., 0] - left) * scale, (p[..., 1] - top) * scale], axis=-1)

    box_px = np.concatenate([to_img(box[:2]), to_img(box[2:])])
    return float(s[best]), box_px, to_img(kp)


def _roi_matrix(cx, cy, size, angle):
    """(2, 3) map from crop pixel coordinates (continuous, 0..LM_SIZE) to image pixels."""
    c, s = math.cos(angle), math.sin(angle)
    k = size / LM_SIZE
    return np.array([[c * k, -s * k, cx - k * (c - s) * LM_SIZE / 2],
                     [s * k, c * k, cy - k * (s + c) * LM_SIZE / 2]], np.float64)


def _landmarks_in_roi(store: ModelStore, rgb: np.ndarray, cx, cy, size, angle):
    m = _roi_matrix(cx, cy, size, angle)
    # sample at output pixel centres; image pixel centres are at integer coordinates
    sample = m.copy()
    sample[:, 2] = m[:, 2] + 0.5 * (m[:, 0] + m[:, 1]) - 0.5
    crop = images.warp_affine(rgb, sample, LM_SIZE, LM_SIZE)
    coords, presence = store.run(LANDMARKS, {store.input_name(LANDMARKS): crop[None]})
    pts = coords.reshape(468, 3).astype(np.float64)
    xy = pts[:, :2] @ m[:, :2].T + m[:, 2]
    z = pts[:, 2] * (size / LM_SIZE)
    prob = float(1.0 / (1.0 + math.exp(-float(np.ravel(presence)[0]))))
    return np.concatenate([xy, z[:, None]], axis=1).astype(np.float32), prob


def find_face(store: ModelStore, rgb: np.ndarray, cancel=None) -> Face | None:
    """The most prominent face with its 468 landmarks, or None."""
    det = detect(store, rgb)
    if det is None:
        return None
    score, box, kp = det
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    size = 1.5 * max(box[2] - box[0], box[3] - box[1])
    angle = math.atan2(kp[1, 1] - kp[0, 1], kp[1, 0] - kp[0, 0])
    if cancel is not None:
        cancel.check()
    lm, presence = _landmarks_in_roi(store, rgb, cx, cy, size, angle)
    # second pass with the ROI MediaPipe derives from the landmarks themselves (tracking step)
    if presence >= MIN_PRESENCE:
        x0, y0 = lm[:, 0].min(), lm[:, 1].min()
        x1, y1 = lm[:, 0].max(), lm[:, 1].max()
        e = lm[LEFT_EYE_OUTER] - lm[RIGHT_EYE_OUTER]
        angle = math.atan2(e[1], e[0])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        size = 1.5 * max(x1 - x0, y1 - y0)
        if cancel is not None:
            cancel.check()
        lm2, presence2 = _landmarks_in_roi(store, rgb, cx, cy, size, angle)
        if presence2 >= MIN_PRESENCE:
            lm, presence = lm2, presence2
    if presence < MIN_PRESENCE:
        return None
    return Face(landmarks=lm, score=score, presence=presence)


def face_mask(rgb: np.ndarray, store: ModelStore | None = None) -> np.ndarray | None:
    """bool (H, W): the box of the most prominent face the bundled detector finds in ``rgb``
    (uint8 or float (H, W, 3|4)), or None. For keeping a cutout's head whatever its size
    (``core.cutout.refine(keep=...)``), whichever provider made the cutout; a bundled model
    that cannot run only means no face is known (the cutout is still made)."""
    from ..contract import ProviderError
    from .runtime import default_store
    try:
        found = detect(store or default_store(), images.to_float_rgb(rgb))
    except ProviderError:
        return None
    if found is None:
        return None
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = found[1]
    mask = np.zeros((h, w), bool)
    mask[max(int(y0), 0):max(int(math.ceil(y1)), 0), max(int(x0), 0):max(int(math.ceil(x1)), 0)] \
        = True
    return mask
