"""ClipDrop: Cleanup, Portrait Depth Estimation, Portrait Surface Normals (api-docs 000-002).

bpy-free. Each call fits the photo to the endpoint's limits, uploads it as ``image_file`` with
the ``x-api-key`` header, checks the answer has the uploaded size and brings it back to the
source size. With ``Settings.base_url`` set, all three paths live under that one base.
"""

from __future__ import annotations

import numpy as np

from ..core import image_files, images, masks
from . import http, pacing
from .contract import (
    NEVER_CANCELLED,
    CancelToken,
    Provider,
    ProviderError,
    ProviderRecord,
    Result,
    Settings,
)

RECORD = ProviderRecord(
    id="CLIPDROP", label="ClipDrop", capabilities=frozenset({"depth", "normals", "cleanup"}),
    service="clipdrop", key_env="MAPSMITH_CLIPDROP_API_KEY",
    endpoints=(("cleanup", "https://apis.clipdrop.co/cleanup/v1"),
               ("depth", "https://clipdrop-api.co/portrait-depth-estimation/v1"),
               ("normals", "https://clipdrop-api.co/portrait-surface-normals/v1")))

# "16 megapixels", "25 megapixels", "30 Mb" read in decimal units: the stricter reading.
CLEANUP_LIMITS = image_files.Limits(("PNG", "JPEG"), max_pixels=16_000_000, max_bytes=30_000_000)
PORTRAIT_LIMITS = image_files.Limits(("PNG", "JPEG", "WEBP"), max_pixels=25_000_000,
                                 max_bytes=30_000_000)
PER_MINUTE = {"cleanup": 50, "depth": 60, "normals": 60}


class ClipDropProvider(Provider):
    record = RECORD

    def __init__(self, settings: Settings | None = None):
        super().__init__(settings)
        self.client = http.Client(self.label, self.settings, lambda key: {"x-api-key": key})

    def _post(self, endpoint: str, files, cancel: CancelToken, answer=None):
        """``answer``: (size, format) of the image the service sends back, for the cap."""
        url = self.client.url(self.record.endpoint(endpoint))
        pace = pacing.pacer(endpoint, url, PER_MINUTE[endpoint])
        cap = image_files.answer_bytes(*answer) if answer else http.DEFAULT_ANSWER_BYTES
        cancel.progress(0.3, f"Waiting for {self.label}")
        return self.client.request("POST", url, files=files, token=cancel, pace=pace,
                                   max_bytes=cap)

    def _portrait(self, endpoint: str, rgb: np.ndarray, mode: str, cancel: CancelToken):
        cancel.progress(0.1, "Preparing the image")
        fitted = image_files.fit(image_files.as_rgb(rgb), PORTRAIT_LIMITS, service=self.label)
        # "response mime type will be image/jpeg" (a JPEG of the uploaded size)
        response = self._post(endpoint,
                              {"image_file": (fitted.filename, fitted.data, fitted.mime)}, cancel,
                              answer=(fitted.size, "JPEG"))
        cancel.progress(0.8, "Reading the answer")
        image = image_files.decode(response.content, service=self.label, mode=mode,
                               size=fitted.size)
        return image, fitted, http.credits_from(response, self.id)

    def depth(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        grey, fitted, credits = self._portrait("depth", rgb, "F", cancel)  # 16-bit stays 16
        depth = images.resize(grey.astype(np.float32), *fitted.source_shape, filter="lanczos")
        return Result(depth, credits)

    def normals(self, rgb: np.ndarray, *, cancel: CancelToken = NEVER_CANCELLED) -> Result:
        normals, fitted, credits = self._portrait("normals", rgb, "RGB", cancel)
        return Result(images.resize(normals, *fitted.source_shape), credits)

    def cleanup(self, rgb: np.ndarray, mask: np.ndarray, *,
                cancel: CancelToken = NEVER_CANCELLED) -> Result:
        """The mask is binarised (any grey counts as "clean up") at the uploaded size; the
        document allows only 0 and 255. Growing it is the caller's choice (core.masks.grow)."""
        cancel.progress(0.1, "Preparing the image")
        fitted = image_files.fit(image_files.as_rgb(rgb), CLEANUP_LIMITS, service=self.label)
        binary = masks.binarise(mask, fitted.shape)
        if not binary.any():
            raise ProviderError(f"{self.label}: the mask is empty, nothing to clean up")
        files = {"image_file": (fitted.filename, fitted.data, fitted.mime),
                 "mask_file": ("mask.png", image_files.encode(binary, "PNG"), "image/png")}
        # "a PNG image with the same dimensions as the image_file"
        response = self._post("cleanup", files, cancel, answer=(fitted.size, "PNG"))
        cancel.progress(0.8, "Reading the answer")
        image = image_files.decode(response.content, service=self.label, mode="RGB",
                               size=fitted.size)
        return Result(images.resize(image, *fitted.source_shape),
                      http.credits_from(response, self.id))

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """ClipDrop has no free call that reports credits, and spending one on a button
        click would surprise. So: a depth request without an image. Checked in the
        documented order (key first), a bad key gives 401/403, no credits 402, and a good
        key 400 "missing image_file", which costs nothing. Credits show after a real run."""
        try:
            response = self._post("depth", None, cancel)
        except ProviderError as err:
            if err.status == 400:
                return f"{self.label}: reachable, key not refused (credits show after a run)"
            raise
        credits = http.credits_from(response, self.id)
        return f"{self.label}: reachable" + (f", {credits}" if credits else "")
