"""Real Blender (the bpy wheel) with the BUILT extension zip installed as a user would.

Run with a venv's python: ``.venv-4.2/bin/python -m pytest tests/blender``. The zip comes
from ``make build`` (dist/mapsmith-*-linux_x64.zip). Blender's user folders go to a temporary
directory so nothing touches the home folder.
"""

import os
import tempfile

import pytest

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mapsmith-blender-user-")

from blhelpers import PKG, addon_module, enable, exit_now, install_zip, prefs  # noqa: E402

import bpy  # noqa: E402,F401  (after BLENDER_USER_RESOURCES)


@pytest.fixture(scope="session")
def installed():
    install_zip()
    yield addon_module()


@pytest.fixture
def blank(installed):
    """An empty scene with the add-on enabled and online access off (Blender's default)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    enable()
    bpy.context.preferences.system.use_online_access = False
    yield bpy.context
    for record in addon_module().providers.REMOTE:
        setattr(prefs(), f"{record.service}_api_key", "")


@pytest.fixture
def online(blank):
    bpy.context.preferences.system.use_online_access = True
    yield blank


def pytest_unconfigure(config):
    # Blender 4.x can hang at exit while anything is registered: unregister, then leave
    # without interpreter teardown, keeping pytest's own exit status (1 if it never came).
    exit_now(getattr(config, "_mapsmith_status", 1))


def pytest_sessionfinish(session, exitstatus):
    session.config._mapsmith_status = int(exitstatus)


class _CountingServer:
    """A loopback server that counts connections; GET /slow?s=2 answers after s seconds."""

    def __init__(self):
        import http.server
        import threading
        import urllib.parse

        outer = self
        self.connections = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def setup(self):
                outer.connections += 1
                super().setup()

            def do_GET(self):  # noqa: N802
                import time
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                time.sleep(float(query.get("s", ["0"])[0]))
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def counting_server():
    server = _CountingServer()
    yield server
    server.close()


@pytest.fixture
def server():
    """The loopback stand-ins for the services (tests/servers/fake_services.py)."""
    from mapsmith.tests.servers.fake_services import FakeServices

    with FakeServices() as srv:
        yield srv
    p = prefs()
    p.clipdrop_url = p.erase_url = ""


@pytest.fixture
def clipdrop(online, monkeypatch):
    """The loopback fake ClipDrop (and Background Removal) on a fresh port, with valid keys and
    no key from the environment; the preferences keep every provider at Offline."""
    import importlib

    from mapsmith.tests.servers.fake_services import CLIPDROP_KEY, RAPIDAPI_KEY, FakeServices
    providers = importlib.import_module(f"{PKG}.providers")
    for env in (record.key_env for record in providers.REMOTE):
        monkeypatch.delenv(env, raising=False)
    with FakeServices() as services:
        p = prefs()
        for service, key in (("clipdrop", CLIPDROP_KEY), ("bgremoval", RAPIDAPI_KEY)):
            setattr(p, f"{service}_url", services.url)
            setattr(p, f"{service}_api_key", key)
        p.max_retries, p.timeout_s = 0, 10.0
        yield services
