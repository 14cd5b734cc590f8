"""Speed and memory, each figure against the naive way and the floor: what `make bench` prints.

    python tools/bench.py [--quick]

- the job runner: main-thread time and longest stall while a 2 s loopback request runs
  (naive: the request on the main thread, 2 s frozen; floor: zero);
- Blender image -> upload bytes at 1024², 2048², 4096² (naive: ``list(image.pixels)``;
  floor: a bare ``foreach_get`` + encode);
- depth -> relief mesh at 256², 512², 1024², with gradient compression and with linear
  (naive: ``from_pydata`` with Python lists; floor: a bare ``foreach_set`` of precomputed
  coordinates, topology and UVs, and the edges Blender derives from them);
- the offline provider's four capabilities at 512² and 1024²;
- peak memory (tracemalloc: Python and numpy allocations) of each.

Timings are the best of a few runs on whatever machine runs this (the figures in the README
come from the 2-core CI machine). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import http.server
import importlib
import pathlib
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import blenv  # noqa: E402  (before bpy)
import bpy  # noqa: E402
import numpy as np  # noqa: E402

ROWS: list[tuple] = []


def measure(fn, repeat: int = 3):
    """(best seconds over ``repeat`` runs, peak bytes of one more run under tracemalloc).

    Timing and memory are separate runs: tracemalloc slows every allocation it traces."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def timed(fn) -> float:
    """One run's seconds (for the naive ways, too slow to repeat or trace)."""
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def row(figure: str, value: float, naive: float | None, floor: float | None, peak: int | None,
        unit: str = "s") -> None:
    def ratio(other):
        if other is None or other <= 0 or value <= 0:
            return "-"
        return f"{other / value:.1f}x faster" if other > value else f"{value / other:.2f}x floor"
    fmt = (lambda v: f"{v * 1000:.1f} ms") if unit == "s" else (lambda v: f"{v:.1f} {unit}")
    ROWS.append((figure, fmt(value), "-" if naive is None else fmt(naive),
                 ratio(naive) if naive is not None else "-",
                 "-" if floor is None else fmt(floor),
                 f"{value / floor:.2f}x" if floor else "-",
                 "-" if peak is None else f"{peak / 2**20:.1f} MiB"))
    print(f"bench: {figure}: {fmt(value)}", flush=True)


def print_table() -> None:
    head = ("figure", "mapsmith", "naive", "vs naive", "floor", "vs floor", "peak mem")
    widths = [max(len(str(r[i])) for r in [head, *ROWS]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print("\n" + line + "\n" + "-" * len(line))
    for r in ROWS:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


# -- 1. job runner --------------------------------------------------------------------
def bench_job_runner() -> None:
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            time.sleep(2.0)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    import requests

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    jobs = importlib.import_module(blenv.PKG + ".blender.jobs")
    try:
        t0 = time.perf_counter()
        job = jobs.Job(lambda token: requests.get(url, timeout=10).text).start()
        busy, longest = 0.0, 0.0
        while True:  # what the modal timer does, every 10 ms instead of 100 ms
            p0 = time.perf_counter()
            state = job.poll()
            dt = time.perf_counter() - p0
            busy, longest = busy + dt, max(longest, dt)
            if state != jobs.RUNNING:
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        requests.get(url, timeout=10)  # the naive way: on the main thread
        naive = time.perf_counter() - t1
    finally:
        server.shutdown()
    row("job runner: main-thread time during a 2 s request", busy, naive, None, None)
    row("job runner: longest main-thread stall", longest, naive, None, None)
    print(f"bench: (request took {wall:.2f} s wall; UI timer free throughout)")


# -- 2. Blender image -> upload bytes -------------------------------------------------
def bench_upload(sizes) -> None:
    pixels = importlib.import_module(blenv.PKG + ".blender.pixels")
    image_files = importlib.import_module(blenv.PKG + ".core.image_files")
    rng = np.random.default_rng(0)
    for n in sizes:
        image = bpy.data.images.new(f"bench{n}", n, n, alpha=True)
        # A smooth image with some noise: PNG cost like a photo's, not like noise or flat.
        ramp = np.linspace(0, 1, n, dtype=np.float32)
        px = np.empty((n, n, 4), np.float32)
        px[..., 0] = ramp[None, :]
        px[..., 1] = ramp[:, None]
        px[..., 2] = 0.5 + 0.05 * rng.standard_normal((n, n)).astype(np.float32)
        px[..., 3] = 1
        image.pixels.foreach_set(px.ravel())

        def ours():
            rgba = pixels.read_display_uint8(image)
            return image_files.encode(rgba[..., :3], "PNG")

        def floor():
            buf = np.empty(n * n * 4, np.float32)
            image.pixels.foreach_get(buf)
            rgb = (buf.reshape(n, n, 4)[::-1, :, :3] * 255 + 0.5).astype(np.uint8)
            return image_files.encode(rgb, "PNG")

        def naive():
            buf = np.array(list(image.pixels), np.float32)
            rgb = (buf.reshape(n, n, 4)[::-1, :, :3] * 255 + 0.5).astype(np.uint8)
            return image_files.encode(rgb, "PNG")

        t, peak = measure(ours)
        tf = min(timed(floor) for _ in range(3))
        tn = timed(naive)
        row(f"image -> PNG upload bytes {n}²", t, tn, tf, peak)
        bpy.data.images.remove(image)


# -- 3. depth -> relief mesh ----------------------------------------------------------
def bench_relief(resolutions) -> None:
    """Depth -> mesh with the operator's defaults (GRADIENT compression, the automatic
    foreground), against LINEAR and against the floor: a bare ``foreach_set`` of the ready
    arrays (vertices, loops, polygons and UVs) plus the edges Blender derives."""
    relief_mesh = importlib.import_module(blenv.PKG + ".core.relief_mesh")
    meshes = importlib.import_module(blenv.PKG + ".blender.meshes")
    yy, xx = np.mgrid[-1:1:1024j, -1:1:1024j]
    depth = np.clip(1 - (xx**2 + yy**2), 0, 1).astype(np.float32)  # a dome, background 0
    rng = np.random.default_rng(0)
    depth += np.where(depth > 0, 0.01 * rng.standard_normal(depth.shape), 0).astype(np.float32)

    for res in resolutions:
        def build(**options):
            def run():
                data = relief_mesh.depth_to_relief(depth, resolution=res, background="BASE",
                                                   solid=False, **options)
                bpy.data.meshes.remove(meshes.from_relief("bench relief", data))
            return run

        data = relief_mesh.depth_to_relief(depth, resolution=res, background="BASE", solid=False)

        def floor():  # the arrays are ready: only the foreach_set calls remain
            mesh = bpy.data.meshes.new("floor")
            mesh.vertices.add(len(data.co))
            mesh.vertices.foreach_set("co", data.co.ravel())
            mesh.loops.add(len(data.loop_vertex))
            mesh.loops.foreach_set("vertex_index", data.loop_vertex)
            mesh.polygons.add(len(data.poly_start))
            mesh.polygons.foreach_set("loop_start", data.poly_start)
            mesh.uv_layers.new(name="UVMap").data.foreach_set("uv", data.loop_uv.ravel())
            mesh.update(calc_edges=True)
            bpy.data.meshes.remove(mesh)

        def naive():
            verts = [tuple(v) for v in data.co.tolist()]
            faces = [data.loop_vertex[s:s + n].tolist()
                     for s, n in zip(data.poly_start.tolist(), data.poly_size.tolist())]
            mesh = bpy.data.meshes.new("naive")
            mesh.from_pydata(verts, [], faces)
            mesh.update()
            bpy.data.meshes.remove(mesh)

        # Interleaved runs, best of each: on a busy machine the ratio to the floor is what
        # is stable, not the absolute times.
        ours, linear = build(), build(compression="LINEAR")
        runs = [(timed(ours), timed(linear), timed(floor)) for _ in range(5)]
        t, tl, tf = (min(r[i] for r in runs) for i in range(3))
        peak = measure(ours, repeat=0)[1]
        tn = timed(naive)
        row(f"depth -> relief mesh {res}² (gradient compression)", t, tn, tf, peak)
        row(f"depth -> relief mesh {res}² (linear)", tl, None, tf, measure(linear, repeat=0)[1])
        t, peak = measure(lambda: relief_mesh.depth_to_relief(
            depth, resolution=res, background="CUT", solid=True))
        row(f"depth -> solid cut relief arrays {res}² (no Blender)", t, None, None, peak)


# -- 4. offline provider --------------------------------------------------------------
def bench_offline(sizes) -> None:
    from PIL import Image
    from skimage import data

    offline = importlib.import_module(blenv.PKG + ".providers.offline")
    provider = offline.OfflineProvider()
    portrait = data.astronaut()
    for n in sizes:
        rgb = np.asarray(Image.fromarray(portrait).resize((n, n), Image.LANCZOS))
        mask = np.zeros((n, n), np.uint8)
        mask[int(n * .70):int(n * .80), int(n * .60):int(n * .75)] = 255  # ~1.5 % of the image
        provider.background(rgb, "MASK")  # load models once, outside the timings
        provider.depth(rgb)
        for name, call in (("background (mask)", lambda: provider.background(rgb, "MASK")),
                           ("depth", lambda: provider.depth(rgb)),
                           ("normals", lambda: provider.normals(rgb)),
                           ("cleanup (1.5 % mask)", lambda: provider.cleanup(rgb, mask))):
            t, peak = measure(call, repeat=2)
            row(f"offline {name} {n}²", t, None, None, peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes only")
    args = parser.parse_args()
    blenv.install()
    blenv.reset_scene()
    print(f"bench: Blender {bpy.app.version_string}, numpy {np.__version__}")
    bench_job_runner()
    bench_upload((1024,) if args.quick else (1024, 2048, 4096))
    bench_relief((256,) if args.quick else (256, 512, 1024))
    bench_offline((512,) if args.quick else (512, 1024))
    print_table()
    return 0


if __name__ == "__main__":
    status = 1
    try:
        status = main()
    finally:
        blenv.exit_now(status)
