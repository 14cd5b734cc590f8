#!/usr/bin/env python3
"""Time each offline capability at 512 and 1024 (longer side) on this machine.

    python tools/bench_offline.py [--sizes 512 1024] [--repeat 3] [--json]

Uses skimage's astronaut() portrait, resized. The first call (model loading and the SHA-256
check) is timed separately as "load". ``bench()`` is importable for `make bench`.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _import_provider():
    if "mapsmith" not in sys.modules:   # the repository as the package ``mapsmith`` (no bpy)
        spec = importlib.machinery.ModuleSpec("mapsmith", None, is_package=True)
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [str(ROOT)]
        sys.modules["mapsmith"] = module
    from mapsmith.providers.offline import OfflineProvider, imaging
    return OfflineProvider, imaging


def portrait(size: int) -> np.ndarray:
    from skimage import data
    _, imaging = _import_provider()
    img = data.astronaut().astype(np.float32) / 255.0
    return np.round(imaging.resize(img, size, size) * 255).astype(np.uint8)


def bench(sizes=(512, 1024), repeat: int = 3) -> dict:
    """{"load_s": t, "<capability>@<size>": best seconds, ...}"""
    OfflineProvider, _ = _import_provider()
    provider = OfflineProvider()
    results = {}
    t0 = time.perf_counter()
    provider.test_connection()
    results["load_s"] = time.perf_counter() - t0
    for size in sizes:
        img = portrait(size)
        mask = np.zeros(img.shape[:2], np.uint8)
        c = size // 2
        mask[c - size // 16:c + size // 16, size // 8:size // 8 + size // 8] = 255
        runs = {
            "background": lambda: provider.background(img, "CUTOUT"),
            "depth": lambda: provider.depth(img),
            "normals": lambda: provider.normals(img),
            "cleanup": lambda: provider.cleanup(img, mask),
        }
        for name, fn in runs.items():
            best = float("inf")
            for _ in range(repeat if name != "cleanup" else 1):
                t = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t)
            results[f"{name}@{size}"] = best
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res = bench(args.sizes, args.repeat)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"offline provider, model load + checksum: {res['load_s'] * 1000:.0f} ms")
    print(f"{'capability':<12}" + "".join(f"{s:>10}" for s in args.sizes))
    for name in ("background", "depth", "normals", "cleanup"):
        print(f"{name:<12}" + "".join(f"{res[f'{name}@{s}']:>9.2f}s" for s in args.sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
