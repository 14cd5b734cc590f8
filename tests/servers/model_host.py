"""A loopback stand-in for the models host (Hugging Face's download layout), stdlib only.

    with ModelHost({"org/model/resolve/main/model.onnx": data}) as host:
        download(info, folder, base_url=host.url)

Like Hugging Face, a download of ``/<path>`` answers 302 with ``X-Linked-Etag`` (the file's
SHA-256) and ``X-Linked-Size`` to ``/cdn/<path>``, which serves the bytes and honours
``Range``. ``fault`` changes one behaviour: ``"no-etag"``, ``"wrong-etag"``, ``"corrupt"``
(serves other bytes under the right etag), ``"drop"`` (closes the connection after
``drop_after`` bytes), ``"slow"`` (sends ``slow_chunk`` bytes every 50 ms), ``"no-range"``
(ignores Range, answers 200 with everything). ``requests`` lists (method, path, Range).
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ModelHost:
    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.fault: str | None = None
        self.drop_after = 0
        self.slow_chunk = 4096
        self.requests: list[tuple[str, str, str]] = []
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ModelHost:
        host = self

        class Handler(_Handler):
            server_host = host

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_host: ModelHost

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        host = self.server_host
        path = self.path.split("?", 1)[0]
        host.requests.append(("GET", path, self.headers.get("Range", "")))
        cdn = path.startswith("/cdn/")
        name = path[len("/cdn/"):] if cdn else path.lstrip("/")
        data = host.files.get(name)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not cdn:
            self.send_response(302)
            self.send_header("Location", f"/cdn/{name}")
            digest = hashlib.sha256(data).hexdigest()
            if host.fault == "wrong-etag":
                digest = hashlib.sha256(b"something else").hexdigest()
            if host.fault != "no-etag":
                self.send_header("X-Linked-Etag", f'"{digest}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if host.fault == "corrupt":
            data = bytes(b ^ 0x5A for b in data)
        start = 0
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and host.fault != "no-range":
            start = int(ranged[len("bytes="):].split("-")[0] or 0)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if host.fault == "drop":
            self.wfile.write(body[:host.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        if host.fault == "slow":
            for i in range(0, len(body), host.slow_chunk):
                try:
                    self.wfile.write(body[i:i + host.slow_chunk])
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
            return
        self.wfile.write(body)
