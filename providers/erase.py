"""Erase: inpainting with an optional grey-level mask (api-docs 003). bpy-free.

The document says "JSON object in the body" but its example, the only concrete thing, posts
multipart ``image`` and ``mask`` files with ``output_format`` as a form field; we follow the
example. The ``authorization`` header carries the key as is (no "Bearer"), as in the example.
Answers are ``{"code": 0|-1, "message", "data": {"image": base64, "seed"}}``; a non-200 or
``code != 0`` is a failure.
"""

from __future__ import annotations

import numpy as np

from ..core import image_files, images, masks
from . import http
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
    id="ERASE", label="Erase", capabilities=frozenset({"cleanup"}),
    service="erase", key_env="MAPSMITH_ERASE_API_KEY",
    endpoints=(("erase", "https://www.aithriving.com/api/edit/erase"),))
MAX_SEED = 4294967294

# The document gives no limits. These match ClipDrop Cleanup's pixel budget and keep uploads
# under 15 MB, a common gateway body limit; fit() shrinks or re-encodes to stay inside.
LIMITS = image_files.Limits(("PNG", "JPEG", "WEBP"), max_pixels=16_000_000, max_bytes=15_000_000)


class EraseProvider(Provider):
    record = RECORD
    output_format = "png"  # lossless; the answer is brought back to the source size anyway

    def __init__(self, settings: Settings | None = None, *, seed: int = 0):
        super().__init__(settings)
        self.seed = seed  # 0 = the service picks one; Result.note reports the one used
        self.client = http.Client(self.label, self.settings, lambda key: {"authorization": key})

    def _post(self, files: dict, data: dict, size: tuple, cancel: CancelToken):
        url = self.client.url(self.record.endpoint("erase"))
        cancel.progress(0.3, f"Waiting for {self.label}")
        # JSON holding the base64 image in output_format, at the uploaded size
        cap = image_files.answer_bytes(size, self.output_format.upper(), in_json=True)
        response = self.client.request("POST", url, files=files, data=data, token=cancel,
                                       max_bytes=cap)
        body = self.client.json(response)
        if not isinstance(body, dict) or body.get("code") != 0:
            message = body.get("message") if isinstance(body, dict) else None
            raise self.client.fail(f"the service could not process the image: "
                                   f"{self.client.quote(message or 'no reason given')}")
        return response, body

    def cleanup(self, rgb: np.ndarray, mask: np.ndarray, *,
                cancel: CancelToken = NEVER_CANCELLED) -> Result:
        """The mask keeps its grey levels: the service reads them as per-pixel strength. The
        image goes without alpha, so only the explicit mask steers the inpainting."""
        if not 0 <= int(self.seed) <= MAX_SEED:
            raise ProviderError(f"{self.label}: the seed must be 0..{MAX_SEED}")
        cancel.progress(0.1, "Preparing the image")
        fitted = image_files.fit(image_files.as_rgb(rgb), LIMITS, service=self.label)
        grey = images.resize(masks.as_mask(mask), *fitted.shape)
        if not grey.any():
            raise ProviderError(f"{self.label}: the mask is empty, nothing to clean up")
        files = {"image": (fitted.filename, fitted.data, fitted.mime),
                 "mask": ("mask.png", image_files.encode(grey, "PNG"), "image/png")}
        data = {"output_format": self.output_format}
        if self.seed:
            data["seed"] = str(int(self.seed))
        response, body = self._post(files, data, fitted.size, cancel)
        cancel.progress(0.8, "Reading the answer")
        result = body.get("data") if isinstance(body.get("data"), dict) else {}
        image = image_files.decode_base64(result.get("image"), service=self.label, mode="RGB",
                                      size=fitted.size)
        seed = result.get("seed")
        note = f"seed {self.client.quote(seed, 40)}" if seed is not None else ""
        return Result(images.resize(image, *fitted.source_shape),
                      http.credits_from(response, self.id), note)

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """No free call is documented; failed calls are free ("You will not be charged for
        failed results"), so post without an image: a refused key fails on its own status,
        anything else means the service is there and took the key."""
        url = self.client.url(self.record.endpoint("erase"))
        try:
            response = self.client.request("POST", url, data={"output_format": "png"},
                                            token=cancel)
        except ProviderError as err:
            if err.status in (400, 422):
                return f"{self.label}: reachable, key not refused"
            raise
        credits = http.credits_from(response, self.id)
        return f"{self.label}: reachable, key not refused" + (f", {credits}" if credits else "")
