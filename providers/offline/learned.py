"""Optional learned models for the offline provider: the catalogue and how each one runs.

bpy-free. The model manager (preferences) lists ``CATALOGUE``; ``downloads.download`` puts a
model into the user's models folder and records its SHA-256 in that folder's ``SHA256SUMS``;
the offline provider asks :func:`find` whether a capability has an installed model and then
runs it here. With no model installed nothing here runs and the provider works as before.

Every entry was checked on its publisher's Hugging Face page (licence, file path, size) and is
pinned to a commit, so the file behind a URL cannot change under the recorded size. LaMa's
SHA-256 is pinned from its publisher's LFS pointer; the other two are verified against the
SHA-256 the host declares (``X-Linked-Etag``).

Pre- and post-processing follow each model's reference implementation (cited per function);
the resizes are numpy copies of the OpenCV / PyTorch ones those use (``core.images``).
"""

from __future__ import annotations

import math
import pathlib
import threading

import numpy as np

from ...core import components, images
from ...core.errors import NEVER_CANCELLED, ProviderError
from .downloads import ModelInfo, installed
from .runtime import ModelStore

DEPTH_ANYTHING = ModelInfo(
    id="DEPTH_ANYTHING_V2_SMALL", label="Depth Anything V2 Small", capability="depth",
    improves="Depth and normals of any photo, estimated by a network instead of modelled "
             "from the person's outline",
    licence="Apache-2.0", source="https://huggingface.co/onnx-community/depth-anything-v2-small",
    path="onnx-community/depth-anything-v2-small/resolve/"
         "709283e53fbd1183571e606f5cb37beae681336d/onnx/model.onnx",
    filename="depth_anything_v2_small.onnx", size=99_100_000)

MODNET = ModelInfo(
    id="MODNET", label="MODNet portrait matting", capability="background",
    improves="Soft hair and edge detail in portrait cutouts and masks",
    licence="Apache-2.0", source="https://huggingface.co/Xenova/modnet",
    path="Xenova/modnet/resolve/e231692d2977d62c7be22830f92d9f8a2f0737f7/onnx/model.onnx",
    filename="modnet.onnx", size=25_900_000)

LAMA = ModelInfo(
    id="LAMA", label="Big LaMa inpainting", capability="cleanup",
    improves="Large cleanup areas: fills big holes with plausible structure (small ones keep "
             "the fast built-in fill)",
    licence="Apache-2.0", source="https://huggingface.co/Carve/LaMa-ONNX",
    path="Carve/LaMa-ONNX/resolve/956ee2068f77a0be185761b58dcbd97b06e00cef/lama.onnx",
    filename="lama.onnx", size=207_479_252,
    sha256="351e481e287f345b7fbfd026068cfb9ec0c7f24b440e6501458ebe54a833d1a1")

CATALOGUE = (DEPTH_ANYTHING, MODNET, LAMA)
BY_ID = {info.id: info for info in CATALOGUE}

REDOWNLOAD = ("Remove it and download it again in the model manager (Preferences > Add-ons > "
              "Mapsmith > Learned Models).")

_STORES: dict = {}
_STORES_LOCK = threading.Lock()


def lookup(model_id: str) -> ModelInfo:
    try:
        return BY_ID[model_id]
    except KeyError:
        raise ProviderError(f"Unknown model {model_id!r}; the model manager lists "
                            f"{', '.join(BY_ID)}") from None


def store(folder: pathlib.Path) -> ModelStore:
    """The (cached) store of the downloaded models in ``folder``; its errors say how to get a
    good copy again."""
    key = str(pathlib.Path(folder).resolve())
    with _STORES_LOCK:
        found = _STORES.get(key)
        if found is None:
            found = _STORES[key] = ModelStore(pathlib.Path(folder), hint=REDOWNLOAD)
        return found


def forget(folder: pathlib.Path) -> None:
    """Drop the cached sessions and checksums of ``folder`` (after a download or removal)."""
    with _STORES_LOCK:
        _STORES.pop(str(pathlib.Path(folder).resolve()), None)


def find(capability: str, folder: pathlib.Path | None) -> ModelInfo | None:
    """The installed model for ``capability`` in ``folder``, or None."""
    if folder is None:
        return None
    for info in CATALOGUE:
        if info.capability == capability and installed(info, folder):
            return info
    return None


def _name(info: ModelInfo) -> str:
    return info.filename[:-len(".onnx")]


def made_by(info: ModelInfo) -> str:
    return f"made by {info.label} (downloaded model)"


# -- Depth Anything V2 -----------------------------------------------------------------------
# Reference: github.com/DepthAnything/Depth-Anything-V2, depth_anything_v2/dpt.py
# (DepthAnythingV2.image2tensor / infer_image) and depth_anything_v2/util/transform.py
# (Resize, NormalizeImage): RGB / 255; Resize(518, 518, keep_aspect_ratio=True,
# ensure_multiple_of=14, resize_method="lower_bound", cv2.INTER_CUBIC); ImageNet mean/std;
# CHW. The output is relative inverse depth (disparity: larger = nearer), resized back with
# F.interpolate(mode="bilinear", align_corners=True).
DEPTH_INPUT = 518
DEPTH_MULTIPLE = 14
IMAGENET_MEAN = np.float32([0.485, 0.456, 0.406])
IMAGENET_STD = np.float32([0.229, 0.224, 0.225])


def _multiple_of(x: float, multiple: int, min_val: int) -> int:
    # transform.py Resize.constrain_to_multiple_of (round to the multiple, never below min)
    y = int(np.round(x / multiple) * multiple)
    if y < min_val:
        y = int(math.ceil(x / multiple) * multiple)
    return y


def depth_input_size(height: int, width: int) -> tuple[int, int]:
    """Resize.get_size for lower_bound + keep_aspect_ratio: the side that needs the larger
    scale reaches 518; both sides a multiple of 14, neither below 518."""
    scale = max(DEPTH_INPUT / height, DEPTH_INPUT / width)
    return (_multiple_of(scale * height, DEPTH_MULTIPLE, DEPTH_INPUT),
            _multiple_of(scale * width, DEPTH_MULTIPLE, DEPTH_INPUT))


def depth_anything(folder: pathlib.Path, rgbf: np.ndarray, cancel=NEVER_CANCELLED) -> np.ndarray:
    """Relative depth of the whole photo, float32 (H, W) in 0..1, 1 = nearest."""
    models = store(folder)
    h, w = rgbf.shape[:2]
    nh, nw = depth_input_size(h, w)
    x = (images.resize_cubic(rgbf, nh, nw) - IMAGENET_MEAN) / IMAGENET_STD
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)
    cancel.check()
    name = _name(DEPTH_ANYTHING)
    out = np.asarray(models.run(name, {models.input_name(name): x})[0], np.float32)
    disparity = out.reshape(out.shape[-2:])
    disparity = images.resize_aligned(disparity, h, w)
    lo, hi = float(disparity.min()), float(disparity.max())
    if not np.isfinite([lo, hi]).all():
        raise ProviderError(f"{DEPTH_ANYTHING.label} returned no usable depth. {REDOWNLOAD}")
    return ((disparity - lo) / max(hi - lo, 1e-6)).astype(np.float32)


# -- MODNet ----------------------------------------------------------------------------------
# Reference: github.com/ZHKKKe/MODNet, demo/image_matting/colab/inference.py: RGB,
# ToTensor + Normalize((0.5,) * 3, (0.5,) * 3), i.e. (x - 0.5) / 0.5; ref_size 512: an image
# whose long side is under 512 or short side over 512 gets its short side scaled to 512 (the
# other by the aspect, int()), else it keeps its size; then both sides rounded down to a
# multiple of 32; F.interpolate(mode="area") there and back. Output: the matte, 0..1.
MATTE_REF = 512
MATTE_MULTIPLE = 32


def matte_input_size(height: int, width: int) -> tuple[int, int]:
    if max(height, width) < MATTE_REF or min(height, width) > MATTE_REF:
        if width >= height:
            rh, rw = MATTE_REF, int(width / height * MATTE_REF)
        else:
            rh, rw = int(height / width * MATTE_REF), MATTE_REF
    else:
        rh, rw = height, width
    return rh - rh % MATTE_MULTIPLE, rw - rw % MATTE_MULTIPLE


def modnet_matte(folder: pathlib.Path, rgbf: np.ndarray, cancel=NEVER_CANCELLED) -> np.ndarray:
    """The person matte, float32 (H, W) in 0..1."""
    models = store(folder)
    h, w = rgbf.shape[:2]
    rh, rw = matte_input_size(h, w)
    if rh < MATTE_MULTIPLE or rw < MATTE_MULTIPLE:
        raise ProviderError(f"The image ({w}x{h}) is too narrow for {MODNET.label}")
    x = (images.resize_area(rgbf, rh, rw) - 0.5) / 0.5
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)
    cancel.check()
    name = _name(MODNET)
    out = np.asarray(models.run(name, {models.input_name(name): x})[0], np.float32)
    matte = images.resize_area(out.reshape(out.shape[-2:]), h, w)
    return np.clip(matte, 0.0, 1.0).astype(np.float32)


# -- LaMa ------------------------------------------------------------------------------------
# Reference: github.com/advimman/lama, bin/predict.py with saicinpainting/evaluation/data.py
# and saicinpainting/training/trainers/default.py: image RGB / 255 (CHW), mask binarised
# (mask > 0), the network sees image * (1 - mask) with the mask (done inside the exported
# graph), output RGB 0..1 -> clip(x * 255). The Carve/LaMa-ONNX export takes fixed 512 x 512
# inputs "image" (1, 3, 512, 512) and "mask" (1, 1, 512, 512) and scales its output to
# 0..255 (its README's example clips it to bytes directly); an output in 0..1 is scaled here.
# A hole is cut out with context around it (CONTEXT times its size each side), resized to
# 512 (area for the image, any-covered for the mask, so no hole pixel is lost), filled,
# and only its hole pixels are brought back (bicubic), so the rest stays byte-identical.
LAMA_SIZE = 512
CONTEXT = 1.0
# Holes up to this many pixels keep the built-in exemplar fill (fast, texture-exact); larger
# ones (in any 8-connected piece of the mask) go to LaMa when it is installed.
LAMA_MIN_AREA = 48 * 48


def lama_fill(folder: pathlib.Path, rgb: np.ndarray, hole: np.ndarray,
              cancel=NEVER_CANCELLED) -> np.ndarray:
    """``rgb`` uint8 (H, W, 3) with the ``hole`` (bool (H, W)) filled by LaMa."""
    models = store(folder)
    name = _name(LAMA)
    inputs = {i.name: i for i in models.session(name).get_inputs()}
    rows, cols = np.nonzero(hole)
    h, w = hole.shape
    size = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    half = int(math.ceil(size * (0.5 + CONTEXT)))
    cy, cx = (rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2
    top, left = max(cy - half, 0), max(cx - half, 0)
    bottom, right = min(cy + half + 1, h), min(cx + half + 1, w)
    crop = rgb[top:bottom, left:right].astype(np.float32) / 255.0
    crop_hole = hole[top:bottom, left:right]
    ch, cw = crop_hole.shape
    image = images.resize_area(crop, LAMA_SIZE, LAMA_SIZE)
    mask = (images.resize_area(crop_hole.astype(np.float32), LAMA_SIZE, LAMA_SIZE) > 0)
    feeds = {}
    for input_name, meta in inputs.items():
        channels = meta.shape[1] if len(meta.shape) == 4 else None
        if channels == 1 or input_name == "mask":
            feeds[input_name] = mask.astype(np.float32)[None, None]
        else:
            feeds[input_name] = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
    cancel.check()
    out = np.asarray(models.run(name, feeds)[0], np.float32)[0].transpose(1, 2, 0)
    if float(np.nanmax(out)) <= 1.5:       # an export that leaves the output in 0..1
        out = out * 255.0
    filled = images.resize_cubic(out, ch, cw)
    result = rgb.copy()
    patch = result[top:bottom, left:right]
    patch[crop_hole] = images.to_uint8(filled[crop_hole] / 255.0)
    return result


def fill_large_holes(folder: pathlib.Path, rgb: np.ndarray, mask: np.ndarray,
                     cancel=NEVER_CANCELLED) -> tuple[np.ndarray, np.ndarray, int]:
    """Fill each piece of ``mask`` (uint8 (H, W), > 0 = clean up) larger than
    ``LAMA_MIN_AREA`` with LaMa. Returns the image, the mask of what is left for the built-in
    fill (the small pieces) and how many pieces LaMa filled."""
    labels, count = components.label(mask > 0)
    sizes = components.sizes(labels, count)
    large = [i for i in range(1, count + 1) if sizes[i] > LAMA_MIN_AREA]
    out = rgb
    for n, i in enumerate(large):
        cancel.progress(n / max(len(large), 1) * 0.5, f"Filling with {LAMA.label}")
        out = lama_fill(folder, out, labels == i, cancel)
    rest = mask.copy()
    if large:
        rest[np.isin(labels, large)] = 0
    return out, rest, len(large)
