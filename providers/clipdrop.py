"""ClipDrop: Cleanup, Portrait Depth Estimation, Portrait Surface Normals (api-docs 000-002).

bpy-free. Each call fits the photo to the endpoint's limits, uploads it as ``image_file`` with
the ``x-api-key`` header, checks the answer has the uploaded size and brings it back to the
source size. With ``Settings.base_url`` set, all three paths live under that one base.
"""

from __future__ import annotations

import numpy as np

from ..core import image_files, masks
from . import http
from .contract import NEVER_CANCELLED, CancelToken, Provider, ProviderError, Result, Settings

CLEANUP_BASE = "https://apis.clipdrop.co"
PORTRAIT_BASE = "https://clipdrop-api.co"
CLEANUP_PATH = "cleanup/v1"
DEPTH_PATH = "portrait-depth-estimation/v1"
NORMALS_PATH = "portrait-surface-normals/v1"

# "16 megapixels", "25 megapixels", "30 Mb" read in decimal units: the stricter reading.
CLEANUP_LIMITS = image_files.Limits(("PNG", "JPEG"), max_pixels=16_000_000, max_bytes=30_000_000)
PORTRAIT_LIMITS = image_files.Limits(("PNG", "JPEG", "WEBP"), max_pixels=25_000_000,
                                 max_bytes=30_000_000)
PER_MINUTE = {CLEANUP_PATH: 50, DEPTH_PATH: 60, NORMALS_PATH: 60}


class ClipDropProvider(Provider):
    id = "CLIPDROP"
    label = "ClipDrop"
    capabilities = frozenset({"depth", "normals", "cleanup"})

    def __init__(self, settings: Settings = Settings()):
        super().__init__(settings)
        self._client = http.Client(self.label, settings, lambda key: {"x-api-key": key})

    def _post(self, base: str, path: str, files, cancel: CancelToken, answer=None):
        """``answer``: (size, format) of the image the service sends back, for the cap."""
        url = self._client.url(base, path)
        pace = http.pacer(path, url, PER_MINUTE[path])
        cap = image_files.answer_bytes(*answer) if answer else http.DEFAULT_ANSWER_BYTES
        cancel.progress(0.3, f"Waiting for {self.label}")
        return self._client.request("POST", url, files=files, token=cancel, pace=pace,
                                    max_bytes=cap)

    def _portrait(self, path: str, rgb: np.ndarray, mode: str, cancel: CancelToken):
        cancel.progress(0.1, "Preparing the image")
        fitted = image_files.fit(image_files.as_rgb(rgb), PORTRAIT_LIMITS, service=self.label)
        # "response mime type will be image/jpeg" (a JPEG of the uploaded size)
        response = self._post(PORTRAIT_BASE, path,
                              {"image_file": (fitted.filename, fitted.data, fitted.mime)}, cancel,
                              answer=(fitted.size, "JPEG"))
        cancel.progress(0.8, "Reading the answer")
        image = image_files.decode(response.content, service=self.label, mode=mode,
                               size=fitted.size)
        return image, fitted, http.credits_from(response, self.id)

    def depth(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        grey, fitted, credits = self._portrait(DEPTH_PATH, rgb, "L", cancel)
        depth = image_files.resize(grey.astype(np.float32) / 255.0, fitted.source_size)
        return Result(depth, credits)

    def normals(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        normals, fitted, credits = self._portrait(NORMALS_PATH, rgb, "RGB", cancel)
        return Result(image_files.resize(normals, fitted.source_size), credits)

    def cleanup(self, rgb: np.ndarray, mask: np.ndarray, *,
                cancel: CancelToken = NEVER_CANCELLED) -> Result:
        """The mask is binarised (any grey counts as "clean up") at the uploaded size; the
        document allows only 0 and 255. Growing it is the caller's choice (core.masks.grow)."""
        cancel.progress(0.1, "Preparing the image")
        fitted = image_files.fit(image_files.as_rgb(rgb), CLEANUP_LIMITS, service=self.label)
        binary = masks.binarise(mask, fitted.size)
        if not binary.any():
            raise ProviderError(f"{self.label}: the mask is empty, nothing to clean up")
        files = {"image_file": (fitted.filename, fitted.data, fitted.mime),
                 "mask_file": ("mask.png", image_files.encode(binary, "PNG"), "image/png")}
        # "a PNG image with the same dimensions as the image_file"
        response = self._post(CLEANUP_BASE, CLEANUP_PATH, files, cancel,
                              answer=(fitted.size, "PNG"))
        cancel.progress(0.8, "Reading the answer")
        image = image_files.decode(response.content, service=self.label, mode="RGB",
                               size=fitted.size)
        return Result(image_files.resize(image, fitted.source_size), http.credits_from(response, self.id))

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """ClipDrop has no free call that reports credits, and spending one on a button
        click would surprise. So: a depth request without an image. Checked in the
        documented order (key first), a bad key gives 401/403, no credits 402, and a good
        key 400 "missing image_file", which costs nothing. Credits show after a real run."""
        try:
            response = self._post(PORTRAIT_BASE, DEPTH_PATH, None, cancel)
        except ProviderError as err:
            if err.status == 400:
                return f"{self.label}: reachable, key not refused (credits show after a run)"
            raise
        credits = http.credits_from(response, self.id)
        return f"{self.label}: reachable" + (f", {credits}" if credits else "")
