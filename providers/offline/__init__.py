"""The offline provider: works with no network and no key, on the bundled models.

- background: MediaPipe selfie segmentation, refined to the source resolution by a guided
  filter.
- depth: an approximate portrait relief (see ``relief``): inflated silhouette + head + the face
  mesh's own depth. Not a depth network: the note says so.
- normals: ``core.normals.normals_from_depth`` of that depth.
- cleanup: ``core.inpaint.inpaint`` (exemplar-based, numpy).

Downloaded models (``learned``), when the user installed them in the model manager, take
over: Depth Anything V2 for depth (and normals), MODNet for the matte, LaMa for large cleanup
holes; the result's note names the model. Without them everything above runs as it is.

The ONNX models (``models/``, derived from the mediapipe 0.10.21 wheel, Apache-2.0; see
``models/NOTICE``) run on onnxruntime, CPU, two threads, one after another.
"""

from __future__ import annotations

import pathlib

import numpy as np

from ...core import images
from ..contract import (
    BACKGROUND_REMOVAL_MODES,
    NEVER_CANCELLED,
    CancelToken,
    Provider,
    ProviderError,
    ProviderRecord,
    Result,
    Settings,
)
from . import learned, portrait_depth, segment
from .face import Face, detect, find_face
from .runtime import ModelStore, default_store

__all__ = ["OfflineProvider", "drop_shadow"]

DEPTH_NOTE = ("Approximate depth (offline): a modelled portrait relief from the person mask and "
              "the face mesh, not a measured depth map")
DEPTH_NOTE_NO_FACE = ("Approximate depth (offline): no face found, so this is only the person's "
                      "silhouette inflated into a rounded volume")
NO_PERSON_NOTE = "No person found (offline): the result is empty"
NOT_A_PERSON_NOTE = ("No face found and the mask is not person-shaped (offline): the offline "
                     "model is trained to cut out people; for other subjects use another "
                     "background provider")

# CUTOUT_SHADOW: the shadow is the person's own mask, moved down by SHADOW_OFFSET of the
# person's height, blurred by SHADOW_BLUR of it and SHADOW_OPACITY dark, under the person.
SHADOW_OFFSET = 0.025
SHADOW_BLUR = 0.02
SHADOW_OPACITY = 0.5


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 2 or a.shape[1] < 2:
        raise ProviderError(f"Expected an RGB image, got an array of shape {a.shape}")
    return a


def drop_shadow(alpha: np.ndarray) -> np.ndarray:
    """The soft shadow (float (H, W) 0..1 opacity) that CUTOUT_SHADOW puts under the person:
    the mask shifted down by 2.5 % of the person's height, blurred by 2 %, at 50 % opacity."""
    h, w = alpha.shape
    rows = np.nonzero(alpha.max(axis=1) > 0.5)[0]
    extent = float(rows[-1] - rows[0] + 1) if rows.size else float(h)
    dy = max(1, int(round(SHADOW_OFFSET * extent)))
    shifted = np.zeros_like(alpha)
    shifted[dy:] = alpha[:-dy]
    return np.clip(images.blur(shifted, SHADOW_BLUR * extent) * SHADOW_OPACITY, 0.0, 1.0)


# The person check works on a copy this long at most; a mask covering less than
# MIN_PERSON_COVERAGE of the frame is a speck the model saw in a texture (a crater on the
# moon), not a portrait's subject.
PERSON_CHECK_SIZE = 512
MIN_PERSON_COVERAGE = 0.05


# The modelled depth is smooth but its face detail is steep on small faces; at full strength
# the normal map paints dark bands under the nose and along the cheeks of a photo plane that
# already carries the photo's own shading. Half strength keeps the form and loses the grime.
NORMALS_STRENGTH = 0.5


class OfflineProvider(Provider):
    record = ProviderRecord(
        id="OFFLINE", label="Offline (built in)",
        capabilities=frozenset(("depth", "normals", "background", "cleanup")),
        options=(("cleanup", ("exclude_person",)),))

    def __init__(self, settings: Settings | None = None, *,
                 models_dir: pathlib.Path | None = None):
        super().__init__(settings)
        self._store = default_store() if models_dir is None else ModelStore(models_dir)
        models = self.settings.user_models_dir
        self._user_models = pathlib.Path(models) if models else None

    def __repr__(self) -> str:
        return f"<OfflineProvider {self._store.models_dir}>"

    def cache_identity(self) -> str:
        """The downloaded models in use, each by name, size and time of change: an answer
        made before a model was added, removed or replaced is not reused."""
        if self._user_models is None or not self._user_models.is_dir():
            return ""
        files = []
        for path in sorted(self._user_models.glob("*.onnx")):
            stat = path.stat()
            files.append((path.name, stat.st_size, stat.st_mtime_ns))
        return repr(files)

    # ---- shared steps ---------------------------------------------------------------------
    def _alpha(self, rgbf: np.ndarray, cancel: CancelToken) -> np.ndarray:
        model = learned.find("background", self._user_models)
        if model is not None:
            cancel.progress(0.05, f"Matting with {model.label}")
            return learned.modnet_matte(self._user_models, rgbf, cancel)
        cancel.progress(0.05, "Finding the person")
        prob = segment.coarse_mask(self._store, rgbf)
        cancel.progress(0.2, "Refining the edge")
        return segment.refine(prob, rgbf)

    def _depth(self, rgb: np.ndarray, cancel: CancelToken):
        rgbf = images.to_float_rgb(_check_rgb(rgb))
        model = learned.find("depth", self._user_models)
        if model is not None:
            cancel.progress(0.1, f"Estimating depth with {model.label}")
            return (learned.depth_anything(self._user_models, rgbf, cancel),
                    f"Relative depth of the whole photo, {learned.made_by(model)}")
        alpha = self._alpha(rgbf, cancel)
        cancel.progress(0.35, "Finding the face")
        face: Face | None = find_face(self._store, rgbf, cancel) if alpha.max() >= 0.5 else None
        cancel.progress(0.55, "Modelling the relief")
        depth = portrait_depth.portrait_depth(alpha, face, cancel)
        if not (depth > 0).any():
            note = NO_PERSON_NOTE
        else:
            note = DEPTH_NOTE if face is not None else DEPTH_NOTE_NO_FACE
        return depth, note

    # ---- capabilities ---------------------------------------------------------------------
    def background(self, rgb: np.ndarray, mode: str = "CUTOUT", *,
                   cancel: CancelToken = NEVER_CANCELLED) -> Result:
        if mode not in BACKGROUND_REMOVAL_MODES:
            raise ProviderError(f"Unknown background mode {mode!r}")
        src = _check_rgb(rgb)
        rgbf = images.to_float_rgb(src)
        alpha = self._alpha(rgbf, cancel)
        cancel.progress(0.8, "Composing")
        note = "" if alpha.max() >= 0.5 else NO_PERSON_NOTE
        if not note and not segment.person_shaped(alpha) and detect(self._store, rgbf) is None:
            note = NOT_A_PERSON_NOTE
        matte_model = learned.find("background", self._user_models)
        if matte_model is not None:
            note = "; ".join(filter(None, (f"Matte {learned.made_by(matte_model)}", note)))
        if mode == "MASK":
            mask = images.to_uint8(alpha)
            cancel.progress(1.0, "Done")
            return Result(mask, note=note)
        colour = src[..., :3].astype(np.float32)
        if mode == "CUTOUT_SHADOW":
            shadow = drop_shadow(alpha)
            out_a = alpha + shadow * (1.0 - alpha)
            # person over a black shadow, un-premultiplied
            colour = colour * (alpha / np.maximum(out_a, 1e-6))[..., None]
        else:
            out_a = alpha
        rgba = np.empty(src.shape[:2] + (4,), np.uint8)
        rgba[..., :3] = images.to_uint8(colour, peak=255.0)
        rgba[..., 3] = images.to_uint8(out_a)
        if mode == "CUTOUT_SHADOW":
            note = note or "Cutout with a soft drop shadow (offline)"
        cancel.progress(1.0, "Done")
        return Result(rgba, note=note)

    def depth(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        depth, note = self._depth(rgb, cancel)
        cancel.progress(1.0, "Done")
        return Result(depth, note=note)

    def normals(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        from ...core.normals import normals_from_depth
        depth, note = self._depth(rgb, cancel)
        cancel.progress(0.9, "Computing normals")
        normals = normals_from_depth(depth, NORMALS_STRENGTH)
        cancel.progress(1.0, "Done")
        return Result(normals, note=note.replace("Approximate depth", "Normals from approximate "
                                                  "depth", 1))

    def cleanup(self, rgb: np.ndarray, mask: np.ndarray, *,
                cancel: CancelToken = NEVER_CANCELLED, exclude_person: bool = False) -> Result:
        """Fill the masked pixels from the rest of the image. ``exclude_person``: never copy
        from the person (the selfie mask), e.g. when cleaning the wall behind a portrait."""
        src = _check_rgb(rgb)[..., :3]
        m = np.asarray(mask)
        if m.ndim == 3:
            m = m.max(axis=2)
        if m.shape != src.shape[:2]:
            raise ProviderError(f"The mask ({m.shape[1]}x{m.shape[0]}) must be the size of the "
                                f"image ({src.shape[1]}x{src.shape[0]})")
        from ...core.inpaint import inpaint
        exclude = None
        if exclude_person:
            exclude = self._alpha(images.to_float_rgb(src), cancel) > 0.5
        cancel.progress(0.0, "Filling")
        out = np.ascontiguousarray(src, dtype=np.uint8)
        m = m.astype(np.uint8)
        note = "Cleaned up offline"
        model = learned.find("cleanup", self._user_models)
        if model is not None:
            out, m, large = learned.fill_large_holes(self._user_models, out, m, cancel)
            if large:
                note = f"Large areas {learned.made_by(model)}; the rest cleaned up offline"
        if m.any():
            out = inpaint(out, m, exclude=exclude, cancel=cancel)
        cancel.progress(1.0, "Done")
        return Result(out, note=note)

    # ---- is it a portrait? (no network, whatever provider makes the maps) ---------------
    def person_evidence(self, rgb: np.ndarray) -> str:
        """What shows a person in ``rgb``: "a face", "a person-shaped mask", or "" (none).

        A cheap check (a 256 mask and a 128 face detection on a copy at most
        PERSON_CHECK_SIZE pixels long, about 0.05-0.2 s): the portrait maps need a person,
        the texture maps suit everything else (bricks, wood, stone, a landscape)."""
        src = _check_rgb(rgb)[..., :3]
        h, w = src.shape[:2]
        scale = min(1.0, PERSON_CHECK_SIZE / max(h, w))
        rgbf = images.to_float_rgb(src)
        if scale < 1.0:
            rgbf = images.resize(rgbf, max(2, round(h * scale)), max(2, round(w * scale)))
        if detect(self._store, rgbf) is not None:
            return "a face"
        prob = segment.coarse_mask(self._store, rgbf)
        if (prob > 0.5).mean() >= MIN_PERSON_COVERAGE and segment.person_shaped(prob):
            return "a person-shaped mask"
        return ""

    def find_person(self, rgb: np.ndarray) -> bool:
        """True when the face detector or the person mask finds a person in ``rgb``."""
        return bool(self.person_evidence(rgb))

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        for name in (segment.MODEL, "face_detection_short_range", "face_landmark"):
            self._store.session(name)
        return f"{self.label}: ready (no network needed)"
