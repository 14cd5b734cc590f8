"""Build times of core.relief (bpy-free): depth map -> relief mesh arrays.

    python tools/bench_relief.py [--repeat N] [--resolutions 256 512 1024]

For every resolution and mode (BASE / CUT, open / solid) prints the best of ``repeat`` runs
of :func:`depth_to_relief`, plus :func:`heights_only` (the update path). The depth map is a
synthetic portrait (shoulders, a head with a hole, a separate hand) at 1.4x the grid, so
resampling, smoothing, the cut and the rim all do real work. Nothing here asserts a time;
``bench()`` returns the rows for tools/bench.py or anything else that wants them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import importlib.util
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _relief_module():
    """core.relief without running the add-on's ``__init__`` (which needs bpy)."""
    if "mapsmith" not in sys.modules:
        spec = importlib.machinery.ModuleSpec("mapsmith", None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [str(ROOT)]
        sys.modules["mapsmith"] = package
    return importlib.import_module("mapsmith.core.relief")


def portrait_depth(h: int, w: int) -> np.ndarray:
    """A portrait-like depth map (row 0 = top, background 0): two islands and a hole."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    shoulders = (xx - 0.5 * w) ** 2 + (yy - 1.05 * h) ** 2 < (0.45 * w) ** 2
    head_e = ((xx - 0.5 * w) / (0.22 * w)) ** 2 + ((yy - 0.48 * h) / (0.25 * h)) ** 2
    head = head_e < 1.0
    hole = ((xx - 0.5 * w) / (0.06 * w)) ** 2 + ((yy - 0.46 * h) / (0.06 * h)) ** 2 < 1.0
    hand = (xx - 0.12 * w) ** 2 + (yy - 0.15 * h) ** 2 < (0.07 * w) ** 2
    fg = (shoulders | head | hand) & ~hole
    depth = np.where(head, 0.5 + 0.5 * np.clip(1.0 - head_e, 0, 1), 0.4)
    return np.where(fg, depth, 0.0).astype(np.float32)


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench(resolutions=(256, 512, 1024), repeat: int = 3, smoothing: float = 1.0) -> list:
    """[{resolution, mode, seconds, vertices, polygons, loops}, ...], best of ``repeat``."""
    relief = _relief_module()
    rows = []
    for res in resolutions:
        side = int(round(res * 1.4))
        depth = portrait_depth(side, side)
        t, z = _best(lambda: relief.heights_only(depth, res, 0.1, smoothing), repeat)
        rows.append(dict(resolution=res, mode="heights_only", seconds=t,
                         vertices=int(z.size), polygons=0, loops=0))
        for background in ("BASE", "CUT"):
            for solid in (False, True):
                t, m = _best(lambda: relief.depth_to_relief(
                    depth, resolution=res, background=background, solid=solid,
                    smoothing=smoothing), repeat)
                rows.append(dict(resolution=res, mode=f"{background}{' solid' if solid else ''}",
                                 seconds=t, vertices=m.num_vertices, polygons=m.num_polygons,
                                 loops=m.num_loops))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[256, 512, 1024])
    args = parser.parse_args(argv)
    print(f"core.relief build times (best of {args.repeat}), numpy {np.__version__}")
    print(f"{'grid':>6}  {'mode':<13} {'time':>9} {'vertices':>10} {'faces':>10} {'loops':>10}")
    for r in bench(tuple(args.resolutions), args.repeat):
        print(f"{r['resolution']:>5}²  {r['mode']:<13} {r['seconds'] * 1000:>6.1f} ms "
              f"{r['vertices']:>10} {r['polygons']:>10} {r['loops']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
