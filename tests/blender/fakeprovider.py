"""A stand-in provider for the Blender tests while the offline provider is not there yet."""

import importlib

import numpy as np

from blhelpers import PKG


def _blob(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # head: ellipse centred at (0.35 h, 0.5 w); body: wide ellipse at the bottom
    r1 = ((xx - 0.5 * w) / (0.22 * w)) ** 2 + ((yy - 0.35 * h) / (0.28 * h)) ** 2
    r2 = ((xx - 0.5 * w) / (0.45 * w)) ** 2 + ((yy - 1.05 * h) / (0.45 * h)) ** 2
    d = np.maximum(np.sqrt(np.clip(1 - r1, 0, 1)), 0.6 * np.sqrt(np.clip(1 - r2, 0, 1)))
    return d.astype(np.float32)


def make(fail=None):
    providers = importlib.import_module(PKG + ".providers")
    normals = importlib.import_module(PKG + ".core.normals")

    class Fake(providers.Provider):
        id = "OFFLINE"
        label = "Fake"
        capabilities = frozenset(providers.CAPABILITIES)
        remote = False

        def _maybe_fail(self, what):
            if fail == what:
                raise providers.ProviderError(f"fake {what} failure")

        def depth(self, rgb, *, cancel=None):
            self._maybe_fail("depth")
            return providers.Result(_blob(*rgb.shape[:2]), note="fake depth")

        def normals(self, rgb, *, cancel=None):
            self._maybe_fail("normals")
            return providers.Result(normals.normals_from_depth(_blob(*rgb.shape[:2])))

        def background(self, rgb, mode="CUTOUT", *, cancel=None):
            self._maybe_fail("background")
            m = (_blob(*rgb.shape[:2]) > 0).astype(np.uint8) * 255
            if mode == "MASK":
                return providers.Result(m)
            return providers.Result(np.dstack([rgb[..., :3], m]))

    return Fake()


def install(monkeypatch, fail=None):
    providers = importlib.import_module(PKG + ".providers")
    real = providers.create
    monkeypatch.setattr(providers, "create",
                        lambda pid, settings=None: make(fail) if pid == "OFFLINE"
                        else real(pid, settings))


def offline_or_fake(monkeypatch):
    """Use the real offline provider when it is installed, else the stand-in."""
    providers = importlib.import_module(PKG + ".providers")
    try:
        providers.create("OFFLINE")
    except Exception:
        install(monkeypatch)
