"""A loopback stand-in for the five services in ../shared/api-docs, written from the documents.

Stdlib HTTP + numpy + Pillow only (no Mapsmith imports), so unit tests and Blender tests can
both use it::

    with FakeServices() as srv:
        settings = Settings(api_key=CLIPDROP_KEY, base_url=srv.url)

Each route checks what its document asks (auth header, field names, formats, size limits),
answers in the document's shapes (ClipDrop ``{"error"}`` JSON, Erase ``{code, message,
data}``, Background removal ``results[].status`` / base64 PNG entities, 413, 422) with its
credits headers and per-minute limits, and does simple deterministic image work so results
mean something. ``fault()`` injects failures (also hostile servers: trickling, oversized or
key-echoing
answers); ``requests`` records what arrived (secrets redacted), ``body_bytes_sent`` what the
oversized answers managed to send.
"""

from __future__ import annotations

import base64
import dataclasses
import email.parser
import email.policy
import hashlib
import io
import json
import math
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

CLIPDROP_KEY = "clipdrop-test-key-0123456789"
ERASE_KEY = "erase-test-key-0123456789"
RAPIDAPI_KEY = "rapidapi-test-key-0123456789"
BROKE_KEY = "broke-test-key-0123456789"  # accepted by every service, with zero credits
RAPIDAPI_HOST = "background-removal4.p.rapidapi.com"
SECRET_HEADERS = ("x-api-key", "authorization", "x-rapidapi-key")
# service -> a valid key
KEY_OF = {"clipdrop": CLIPDROP_KEY, "erase": ERASE_KEY, "bgremoval": RAPIDAPI_KEY}
AUTH_HEADER = {"clipdrop": "x-api-key", "erase": "authorization", "bgremoval": "x-rapidapi-key"}

CLIPDROP_ROUTES = {"/cleanup/v1": "cleanup", "/portrait-depth-estimation/v1": "depth",
                   "/portrait-surface-normals/v1": "normals"}
MB = 1_000_000


@dataclasses.dataclass
class Upload:
    """One multipart file as received."""

    filename: str
    content_type: str
    data: bytes
    format: str | None = None  # what Pillow recognised, None when unreadable
    size: tuple | None = None  # (w, h)
    mode: str | None = None

    def array(self) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(self.data)))


@dataclasses.dataclass
class Record:
    method: str
    path: str
    query: dict
    headers: dict  # lower-case names; secret values replaced by "<redacted>"
    key: str | None  # "valid", "wrong", "broke" or None (no key header)
    files: dict
    form: dict
    status: int | None = None
    time: float = 0.0


@dataclasses.dataclass
class Fault:
    kind: object  # an HTTP status, or one of FAULT_KINDS
    times: int | None  # None = every request
    route: str | None  # path prefix, None = any
    retry_after: str | None
    seconds: float
    size: int = 0


FAULT_KINDS = ("delay", "drop", "corrupt_image", "truncated_image", "bad_base64",
               "failure_in_200", "bad_json", "wrong_size", "trickle", "trickle_headers",
               "huge", "huge_chunked", "echo_key")
HUGE = 300 * 1024 * 1024  # what an oversized answer claims (or streams) by default


class FakeServices:
    """The server. Attributes tests may change: ``keys`` (service -> accepted keys),
    ``credits`` (key -> credits left), ``rate_limits`` (ClipDrop route -> requests per
    ``rate_period`` seconds), ``rate_period``."""

    def __init__(self, credits: int = 1000):
        self.keys = {"clipdrop": {CLIPDROP_KEY, BROKE_KEY}, "erase": {ERASE_KEY, BROKE_KEY},
                     "bgremoval": {RAPIDAPI_KEY, BROKE_KEY}}
        self.credits = {CLIPDROP_KEY: credits, ERASE_KEY: credits, RAPIDAPI_KEY: credits,
                        BROKE_KEY: 0}
        self.rate_limits = {"cleanup": 50, "depth": 60, "normals": 60}
        self.rate_period = 60.0
        self.depth_16bit = False  # True: depth answers as a 16-bit grey PNG (a compatible server)
        self.requests: list = []
        self.body_bytes_sent = 0  # by "huge" / "huge_chunked" answers, until the client left
        self._faults: list = []
        self._hits: dict = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeServices:
        handler = type("Handler", (_Handler,), {"services": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True,
                         name="fake-services").start()  # a short poll: quick shutdown
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServices:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- control --------------------------------------------------------------------------
    def fault(self, kind, times: int | None = 1, *, route: str | None = None,
              retry_after=None, seconds: float = 0.0, size: int = HUGE) -> None:
        """Misbehave on the next ``times`` requests (``None``: until cleared) to ``route``.

        ``kind``: an HTTP status answered in the route's error shape (with ``retry_after``
        as Retry-After), "delay" (``seconds`` before answering), "drop" (close without an
        answer), "corrupt_image", "truncated_image", "bad_base64", "failure_in_200",
        "bad_json" or "wrong_size". Hostile servers: "trickle" (the route's answer, its body
        one byte every ``seconds``), "trickle_headers" (the whole answer so, status line
        first), "huge" (200 with a Content-Length of ``size`` bytes, then zeros as fast as
        the client takes them), "huge_chunked" (the same without a length, chunked),
        "echo_key" (the key that arrived is appended to every text the answer holds).
        """
        if not isinstance(kind, int) and kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, times, route,
                                      None if retry_after is None else str(retry_after),
                                      seconds, size))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route is None or path.startswith(fault.route):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _rate_limited(self, key: str, route: str) -> int | None:
        """Seconds to wait when this request would break the route's limit, else None."""
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._hits.get((key, route), []) if now - t < self.rate_period]
            if len(hits) >= self.rate_limits[route]:
                self._hits[(key, route)] = hits
                return max(1, math.ceil(hits[0] + self.rate_period - now))
            self._hits[(key, route)] = hits + [now]
        return None

    def _charge(self, key: str, amount: int) -> int:
        with self._lock:
            self.credits[key] -= amount
            return self.credits[key]


class _Reply(Exception):
    """Raised inside a route to answer at once."""

    def __init__(self, status: int, body, ctype: str = "application/json", headers=None):
        super().__init__(status)
        self.status, self.body, self.ctype, self.headers = status, body, ctype, headers or {}


class _Handler(BaseHTTPRequestHandler):
    services: FakeServices
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    # -- plumbing -------------------------------------------------------------------------
    def _serve(self, method: str):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        files, form = _parse_form(self.headers.get("content-type", ""), body)
        headers = {k.lower(): ("<redacted>" if k.lower() in SECRET_HEADERS else v)
                   for k, v in self.headers.items()}
        srv = self.services
        service = _service_of(url.path)
        key = self.headers.get(AUTH_HEADER.get(service, ""), None) or None
        record = Record(method, url.path, dict(urllib.parse.parse_qsl(url.query)), headers,
                        self._key_status(service, key), files, form, time=time.monotonic())
        with srv._lock:
            srv.requests.append(record)
        fault = srv._take_fault(url.path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.kind in ("huge", "huge_chunked"):
            record.status = 200
            self._send_huge(fault)
            return
        try:
            route = self._route(method, url.path, key)
            if fault is not None and isinstance(fault.kind, int):
                raise _Reply(fault.kind, _error_body(url.path, fault.kind, "Injected failure"),
                             headers={"Retry-After": fault.retry_after}
                             if fault.retry_after is not None else {})
            raise _Reply(*route(record, fault.kind if fault else None))
        except _Reply as reply:
            record.status = reply.status
            if fault is not None and fault.kind == "echo_key":
                reply = _echo(reply, key)
            self._send(reply, fault)

    def _route(self, method, path, key):
        srv = self.services
        if method == "POST" and path in CLIPDROP_ROUTES:
            return lambda rec, fault: _clipdrop(srv, CLIPDROP_ROUTES[path], rec, key, fault)
        if method == "POST" and path == "/api/edit/erase":
            return lambda rec, fault: _erase(srv, rec, key, fault)
        if path in ("/v1/version", "/v1/modes", "/v1/results"):
            return lambda rec, fault: _bgremoval(srv, method, path, rec, key, fault)
        raise _Reply(404, {"error": "Not found"})

    def _key_status(self, service: str | None, key: str | None) -> str | None:
        if key is None or service is None:
            return None
        if key not in self.services.keys[service]:
            return "wrong"
        return "valid" if self.services.credits.get(key, 0) > 0 else "broke"

    def _send(self, reply: _Reply, fault: Fault | None = None):
        body = reply.body
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        trickle = fault.kind if fault is not None and fault.kind in ("trickle",
                                                                     "trickle_headers") else None
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, str(value))
            if trickle == "trickle_headers":
                head, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n", []
                self._trickle(head + body, fault.seconds)
                return
            self.end_headers()
            if trickle == "trickle":
                self.wfile.flush()
                self._trickle(body, fault.seconds)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to do

    def _trickle(self, data: bytes, seconds: float):
        """One byte every ``seconds`` (at least 0.5 s), until done or the client leaves."""
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(seconds or 0.5)

    def _send_huge(self, fault: Fault):
        """200 and ``fault.size`` zero bytes (announced, or chunked), counted as they go."""
        block = bytes(64 * 1024)
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if fault.kind == "huge":
                self.send_header("Content-Length", str(fault.size))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = fault.size
            while left > 0:
                part = block[:min(left, len(block))]
                if fault.kind == "huge":
                    self.wfile.write(part)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                left -= len(part)
                with self.services._lock:
                    self.services.body_bytes_sent += len(part)
            if fault.kind == "huge_chunked":
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should


# -- form parsing and image helpers ----------------------------------------------------------
def _parse_form(ctype: str, body: bytes):
    files, form = {}, {}
    if ctype.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = _upload(part.get_filename(), part.get_content_type(), payload)
            else:
                form[name] = payload.decode("utf-8", "replace")
    elif ctype.startswith("application/x-www-form-urlencoded"):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
    return files, form


def _upload(filename, ctype, data) -> Upload:
    upload = Upload(filename, ctype, data)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upload.format, upload.size, upload.mode = img.format, img.size, img.mode
    except Exception:  # unreadable: the route decides what that means
        pass
    return upload


def _encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **({"quality": 92} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def foreground(rgb: np.ndarray) -> np.ndarray:
    """Soft 0..1 "person" mask: how far each pixel is from the median border colour."""
    rgb = rgb.astype(np.float32)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    distance = np.abs(rgb - np.median(border, axis=0)).max(axis=2)
    return np.clip((distance - 24.0) / 24.0, 0.0, 1.0)


def depth_of(rgb: np.ndarray) -> np.ndarray:
    """A smooth blob inside the person, 1 nearest; exactly 0 outside."""
    person = foreground(rgb) > 0.5
    if not person.any():
        return np.zeros(person.shape, np.float32)
    ys, xs = np.nonzero(person)
    cy, cx = ys.mean(), xs.mean()
    sy, sx = max(ys.std(), 1.0) * 2, max(xs.std(), 1.0) * 2
    y, x = np.mgrid[0:person.shape[0], 0:person.shape[1]]
    blob = 0.3 + 0.7 * np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))
    return np.where(person, blob, 0.0).astype(np.float32)


def normals_of(rgb: np.ndarray) -> np.ndarray:
    """Normals of the depth blob (X right, Y up, Z to the viewer); (128,128,255) outside."""
    depth = depth_of(rgb) * (0.3 * rgb.shape[1])  # relief height in pixels
    d_row, d_col = np.gradient(depth)
    n = np.dstack([-d_col, d_row, np.ones_like(depth)])  # rows run down, Y runs up
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    out = np.round((n + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    out[depth == 0] = (128, 128, 255)
    return out


def inpaint(rgb: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Blend towards the mean colour around the masked region, by per-pixel strength 0..1."""
    set_ = strength > 0
    if not set_.any():
        return rgb.copy()
    ys, xs = np.nonzero(set_)
    y0, y1 = max(0, ys.min() - 8), ys.max() + 9
    x0, x1 = max(0, xs.min() - 8), xs.max() + 9
    window, keep = rgb[y0:y1, x0:x1], ~set_[y0:y1, x0:x1]
    fill = window[keep].mean(axis=0) if keep.any() else rgb[~set_].mean(axis=0)
    s = strength[:, :, None]
    return np.round(rgb * (1.0 - s) + fill * s).clip(0, 255).astype(np.uint8)


def _service_of(path: str) -> str | None:
    if path in CLIPDROP_ROUTES:
        return "clipdrop"
    if path == "/api/edit/erase":
        return "erase"
    return "bgremoval" if path.startswith("/v1/") else None


def _error_body(path: str, status: int, text: str):
    if path == "/api/edit/erase":
        return {"code": -1, "message": text}
    if path.startswith("/v1/"):
        return {"message": text}
    return {"error": text}


def _echo(reply: _Reply, key: str | None) -> _Reply:
    """The reply with the key that arrived appended to its texts (a careless server): a text
    body, and every error, message, detail or seed field of a JSON body, however deep."""
    extra = f" (key {key})"

    def echo(value, name=None):
        if isinstance(value, dict):
            return {k: echo(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [echo(v) for v in value]
        if name in ("error", "message", "detail", "seed"):
            return f"{value}{extra}"
        return value

    body = reply.body + extra if isinstance(reply.body, str) else echo(reply.body)
    return _Reply(reply.status, body, reply.ctype, reply.headers)


def _damage(data: bytes, fault) -> bytes:
    if fault == "corrupt_image":
        return b"\x89PNG\r\n\x1a\n" + hashlib.sha256(data).digest() * 16
    if fault == "truncated_image":
        return data[:len(data) // 2]
    return data


def _rgb(upload: Upload) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(upload.data)).convert("RGB"))


# -- ClipDrop (000, 001, 002) ---------------------------------------------------------------
def _clipdrop(srv: FakeServices, route: str, rec: Record, key: str, fault):
    def error(status, text, **headers):
        raise _Reply(status, {"error": text}, headers=headers)

    if rec.key is None:
        error(401, "No api key provided")
    if rec.key == "wrong":
        error(403, "Invalid api key")
    if rec.key == "broke":
        error(402, "Your account has no remaining credits")
    wait = srv._rate_limited(key, route)
    if wait is not None:
        error(429, "Too many requests, blocked by the rate limiter", **{"Retry-After": wait})
    image = rec.files.get("image_file")
    if image is None:
        error(400, "Missing image_file in request")
    formats = ("JPEG", "PNG") if route == "cleanup" else ("JPEG", "PNG", "WEBP")
    if image.format not in formats:
        error(400, "Input image format is not valid")
    if image.size[0] * image.size[1] > (16 if route == "cleanup" else 25) * MB:
        error(400, "Image resolution is too big")
    if len(image.data) > 30 * MB:
        error(400, "Image file is too big")
    rgb = _rgb(image)
    headers = {}
    if route == "cleanup":
        mask = rec.files.get("mask_file")
        if mask is None:
            error(400, "Missing mask_file in request")
        if mask.format != "PNG":
            error(400, "mask_file must be a PNG")
        if mask.size != image.size:
            error(400, "mask_file must have the same resolution as image_file")
        values = np.unique(np.asarray(Image.open(io.BytesIO(mask.data)).convert("L")))
        if not set(values.tolist()) <= {0, 255}:
            error(400, "mask_file must contain only 0 and 255 values")
        out = inpaint(rgb, mask.array().reshape(rgb.shape[:2] + (-1,))[:, :, 0] / 255.0)
        ctype, fmt = "image/png", "PNG"
    elif route == "depth" and srv.depth_16bit:
        out, ctype, fmt = (depth_of(rgb) * 65535 + 0.5).astype(np.uint16), "image/png", "PNG"
    elif route == "depth":
        out, ctype, fmt = (depth_of(rgb) * 255 + 0.5).astype(np.uint8), "image/jpeg", "JPEG"
    else:
        out, ctype, fmt = normals_of(rgb), "image/jpeg", "JPEG"
    if fault == "wrong_size":
        out = out[::2, ::2]
    headers["x-remaining-credits"] = srv._charge(key, 1)
    if route != "cleanup":
        headers["x-credits-consumed"] = 1
    if fault == "bad_json":
        raise _Reply(200, "{not json", headers=headers)
    return 200, _damage(_encode(out, fmt), fault), ctype, headers


# -- Erase (003) ----------------------------------------------------------------------------
def _erase(srv: FakeServices, rec: Record, key: str, fault):
    def error(status, text):
        raise _Reply(status, {"code": -1, "message": text})

    if rec.key is None:
        error(401, "Missing authorization")
    if rec.key == "wrong":
        error(403, "Invalid authorization token")
    if rec.key == "broke":
        error(402, "Insufficient credits")
    image = rec.files.get("image")
    if image is None:
        error(400, "image is required")
    if image.format not in ("JPEG", "PNG", "WEBP"):
        error(400, "Unsupported image format, use jpeg, png or webp")
    output_format = rec.form.get("output_format", "png")
    if output_format not in ("jpeg", "png", "webp"):
        error(400, "output_format must be one of jpeg, png, webp")
    try:
        seed = int(rec.form.get("seed", "0"))
    except ValueError:
        seed = -1
    if not 0 <= seed <= 4294967294:
        error(400, "seed must be in [0, 4294967294]")
    pixels = np.asarray(Image.open(io.BytesIO(image.data)))
    mask = rec.files.get("mask")
    if mask is not None:
        if mask.size != image.size:
            error(400, "mask must have the same size as image")
        strength = np.asarray(Image.open(io.BytesIO(mask.data)).convert("L")) / 255.0
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        strength = pixels[:, :, 3] / 255.0
    else:
        strength = np.zeros(pixels.shape[:2])
    out = inpaint(_rgb(image), strength)
    if fault == "failure_in_200":
        raise _Reply(200, {"code": -1, "message": "Generation failed, please retry"})
    if fault == "bad_json":
        raise _Reply(200, "{not json")
    if fault == "wrong_size":
        out = out[::2, ::2]
    data = _damage(_encode(out, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[output_format]),
                   fault)
    encoded = "%%% not base64 %%%" if fault == "bad_base64" else base64.b64encode(data).decode()
    srv._charge(key, 6)  # "6 credits per successful result"
    return 200, {"code": 0, "message": "success",
                 "data": {"image": encoded, "seed": seed or 1050625087}}


# -- Background removal (004) ---------------------------------------------------------------
def _bgremoval(srv: FakeServices, method: str, path: str, rec: Record, key: str, fault):
    def error(status, body, ctype="application/json"):
        raise _Reply(status, body, ctype)

    if rec.key is None:
        error(401, {"message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys "
                               "for more info."})
    if rec.key == "wrong":
        error(403, {"message": "You are not subscribed to this API."})
    if rec.headers.get("x-rapidapi-host") != RAPIDAPI_HOST:
        error(400, {"message": "Missing or wrong X-RapidAPI-Host header"})
    if path == "/v1/version":
        return 200, "v1.5.0", "text/plain"
    if path == "/v1/modes":
        return 200, ["fg-image", "fg-image-shadow", "fg-mask"]
    if method != "POST":
        error(405, {"detail": "Method Not Allowed"})
    if rec.key == "broke":
        error(402, {"message": "You have exceeded the quota for requests on your plan"})
    mode = rec.query.get("mode", "fg-image")
    if mode not in ("fg-image", "fg-image-shadow", "fg-mask"):
        error(422, {"detail": f"Unknown mode {mode}"})
    image = rec.files.get("image")
    if image is None and "url" not in rec.form:
        error(422, {"detail": "Missing image or url field."})
    if image is not None and len(image.data) > 32 * MB:
        error(413, "Error: Request Entity Too Large\nYour client issued a request that was "
                   "too large.", "text/html")

    def result(code, message, entities=()):
        name = image.filename if image is not None else "url"
        md5 = hashlib.md5(image.data if image is not None else b"").hexdigest()
        return 200, {"results": [{"status": {"code": code, "message": message}, "name": name,
                                  "md5": md5, "entities": list(entities)}]}

    if image is None:
        return result("failure", "File passed as URL is too big or non downloadable")
    if image.content_type not in ("image/jpeg", "image/png"):
        return result("failure", "Unsupported file MIME type")
    if image.format is None or fault == "failure_in_200":
        return result("failure", "Can not load image.")
    if len(image.data) >= 16 * MB or max(image.size) > 4096:
        return result("failure", "Image is too big")
    rgb = _rgb(image)
    alpha = (foreground(rgb) * 255 + 0.5).astype(np.uint8)
    if mode == "fg-mask":
        out = alpha
    else:
        out = np.dstack([rgb, alpha])
        if mode == "fg-image-shadow":
            shadow = np.roll(alpha, max(1, rgb.shape[0] // 20), axis=0) // 2
            out[:, :, :3][(alpha == 0) & (shadow > 0)] = 0
            out[:, :, 3] = np.maximum(alpha, shadow)
    if fault == "wrong_size":
        out = out[::2, ::2]
    if fault == "bad_json":
        raise _Reply(200, "{not json")
    data = _damage(_encode(out, "PNG"), fault)
    encoded = "%%% not base64 %%%" if fault == "bad_base64" else base64.b64encode(data).decode()
    srv._charge(key, 1)
    return result("ok", "Success", [{"kind": "image", "name": f"general-{mode}",
                                     "image": encoded, "format": "PNG"}])
