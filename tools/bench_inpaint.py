#!/usr/bin/env python3
"""Time core.inpaint at 512 and 1024 with a ~5 % mask, against the diffusion fill.

    python tools/bench_inpaint.py [--sizes 512 1024] [--repeat 3] [--json]

Two masks of about 5 % of the image, because they load the method differently: one square
"blob" (a single large hole: deep pyramid, brute force at the coarse level) and "strokes"
(a dozen brush strokes: many thin holes spread over the image, PatchMatch at every level).
The image is skimage's grass texture tiled to size. ``bench()`` is importable for `make bench`.
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


def _import_inpaint():
    if "mapsmith" not in sys.modules:   # the repository as the package ``mapsmith`` (no bpy)
        spec = importlib.machinery.ModuleSpec("mapsmith", None, is_package=True)
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [str(ROOT)]
        sys.modules["mapsmith"] = module
    from mapsmith.core import inpaint
    return inpaint


def texture(size: int) -> np.ndarray:
    from skimage import data
    grass = data.grass()
    reps = -(-size // grass.shape[0])
    return np.dstack([np.tile(grass, (reps, reps))[:size, :size]] * 3)


def masks(size: int) -> dict:
    """{"blob": square hole, "strokes": brush strokes}, each about 5 % of the image."""
    blob = np.zeros((size, size), np.uint8)
    side = int(round(np.sqrt(0.05) * size))
    top = (size - side) // 2
    blob[top:top + side, top:top + side] = 255

    strokes = np.zeros((size, size), np.uint8)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    width = max(4, size // 64)
    while (strokes > 0).mean() < 0.05:
        (y0, x0), (y1, x1) = rng.uniform(0.1, 0.9, size=(2, 2)) * size
        t = np.clip(((yy - y0) * (y1 - y0) + (xx - x0) * (x1 - x0)) /
                    ((y1 - y0) ** 2 + (x1 - x0) ** 2 + 1e-9), 0, 1)
        near = np.hypot(yy - (y0 + t * (y1 - y0)), xx - (x0 + t * (x1 - x0))) < width / 2
        strokes[near] = 255
    return {"blob": blob, "strokes": strokes}


def bench(sizes=(512, 1024), repeat: int = 3) -> dict:
    """{"<mask>@<size>": best seconds, "diffuse-<mask>@<size>": ..., "coverage-...": fraction}"""
    inpaint = _import_inpaint()
    results = {}
    for size in sizes:
        image = texture(size)
        for name, mask in masks(size).items():
            results[f"coverage-{name}@{size}"] = float((mask > 0).mean())
            for label, fn in ((name, inpaint.inpaint), (f"diffuse-{name}", inpaint.diffuse)):
                best = float("inf")
                for _ in range(repeat):
                    t = time.perf_counter()
                    fn(image, mask)
                    best = min(best, time.perf_counter() - t)
                results[f"{label}@{size}"] = best
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
    print("core.inpaint, best of", args.repeat, "(grass texture, ~5 % mask)")
    print(f"{'mask':<18}" + "".join(f"{s:>10}" for s in args.sizes))
    for name in ("blob", "strokes"):
        for label in (name, f"diffuse-{name}"):
            print(f"{label:<18}" + "".join(f"{res[f'{label}@{s}']:>9.2f}s" for s in args.sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
