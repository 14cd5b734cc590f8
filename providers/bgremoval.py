"""Background removal behind RapidAPI (api-docs 004). bpy-free.

``POST /v1/results?mode=...`` with the photo as the multipart ``image`` field; the answer is
JSON whose ``results[0].entities[0].image`` is a base64 PNG. A failure can hide inside a
200 (``results[0].status.code == "failure"``); 413 means the request was too big, 422 that no
image arrived. The key goes in ``X-RapidAPI-Key`` with ``X-RapidAPI-Host``, the gateway's
convention.
"""

from __future__ import annotations

import numpy as np

from ..core import image_files, images
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

HOST = "background-removal4.p.rapidapi.com"
RECORD = ProviderRecord(
    id="BGREMOVAL", label="Background Removal", capabilities=frozenset({"background"}),
    service="bgremoval", key_env="MAPSMITH_BGREMOVAL_API_KEY",
    endpoints=tuple((name, f"https://{HOST}/v1/{name}")
                    for name in ("version", "modes", "results")))
MODES = {"CUTOUT": "fg-image", "CUTOUT_SHADOW": "fg-image-shadow", "MASK": "fg-mask"}

# "JPEG or PNG", "less than 16Mb", "maximum allowed resolution is 4096x4096".
LIMITS = image_files.Limits(("PNG", "JPEG"), max_side=4096, max_bytes=15_999_999)


class BackgroundRemovalProvider(Provider):
    record = RECORD

    def __init__(self, settings: Settings | None = None):
        super().__init__(settings)
        self.client = http.Client(self.label, self.settings,
                                   lambda key: {"X-RapidAPI-Key": key, "X-RapidAPI-Host": HOST})

    def _get(self, endpoint: str, cancel: CancelToken):
        return self.client.request("GET", self.client.url(self.record.endpoint(endpoint)),
                                   token=cancel)

    def background(self, rgb: np.ndarray, mode: str = "CUTOUT", *,
                   cancel: CancelToken = NEVER_CANCELLED) -> Result:
        if mode not in MODES:
            raise ProviderError(f"{self.label}: unknown mode {mode!r}")
        cancel.progress(0.1, "Preparing the image")
        source = image_files.as_rgb(rgb)
        fitted = image_files.fit(source, LIMITS, service=self.label)
        w, h = fitted.size
        hints = {413: f"image too large for the service even after resizing to {w}x{h}",
                 422: "the service received no image"}
        cancel.progress(0.3, f"Waiting for {self.label}")
        try:
            # JSON holding one base64 PNG of the uploaded size
            response = self.client.request(
                "POST", self.client.url(self.record.endpoint("results")),
                params={"mode": MODES[mode]},
                files={"image": (fitted.filename, fitted.data, fitted.mime)}, token=cancel,
                max_bytes=image_files.answer_bytes(fitted.size, "PNG", in_json=True))
        except ProviderError as err:
            if err.status in hints:
                raise self.client.fail(f"{hints[err.status]} ({err.status})",
                                        status=err.status) from None
            raise
        cancel.progress(0.8, "Reading the answer")
        encoded = self._entity_image(self.client.json(response), MODES[mode])
        out_mode = "L" if mode == "MASK" else "RGBA"
        image = image_files.decode_base64(encoded, service=self.label, mode=out_mode,
                                      size=fitted.size)
        if fitted.scaled and mode == "CUTOUT":
            # The cutout's colours are the photo's own: keep them sharp, upscale only alpha.
            alpha = images.resize(np.ascontiguousarray(image[:, :, 3]), *fitted.source_shape)
            image = np.dstack([source, alpha])
        else:
            image = images.resize(image, *fitted.source_shape)
        return Result(image, http.credits_from(response, self.id))

    def _entity_image(self, body, wanted: str):
        """results[0] checked: a failure inside a 200 becomes the service's own message."""
        try:
            result = body["results"][0]
            status = result.get("status") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self.client.fail("the service sent an answer without results") from None
        if status.get("code") != "ok":
            reason = self.client.quote(status.get("message") or "no reason given")
            raise self.client.fail(f"could not process the image: {reason}")
        entities = [e for e in result.get("entities") or [] if isinstance(e, dict)]
        named = [e for e in entities if e.get("name") == f"general-{wanted}"]
        if not (named or entities):
            raise self.client.fail("the service sent an answer without an image")
        return (named or entities)[0].get("image")

    def modes(self, *, cancel: CancelToken = NEVER_CANCELLED) -> list:
        """The modes the service offers (GET /v1/modes)."""
        modes = self.client.json(self._get("modes", cancel))
        if not isinstance(modes, list):
            raise self.client.fail("the service sent an unexpected list of modes")
        return [str(m) for m in modes]

    def test_connection(self, *, cancel: CancelToken = NEVER_CANCELLED) -> str:
        """GET /v1/version and /v1/modes: free, and they prove the key and the host work."""
        response = self._get("version", cancel)
        version = self.client.text(response, 40).strip('"') or "unknown version"
        offered = self.modes(cancel=cancel)
        missing = [m for m in MODES.values() if m not in offered]
        credits = http.credits_from(response, self.id)
        status = f"{self.label}: service {version}"
        if missing:
            status += f", missing modes {', '.join(missing)}"
        return status + (f", {credits}" if credits else ", ready")
