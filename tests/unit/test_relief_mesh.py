"""core/relief_mesh.py: depth map -> relief mesh arrays (geometry, topology, UVs, speed)."""

import time

import numpy as np
import pytest

from mapsmith.core import mesh_check, relief_mesh

# The grid-level tests below check today's LINEAR mapping on the exact grid: height =
# depth x strength x width, "depth > 0" as the foreground, the outline on grid vertices.


def relief(depth, *, strength=0.1, width=0.2, **kw):
    kw.setdefault("background_level", 0.0)
    kw.setdefault("smooth_outline", False)
    kw.setdefault("compression", "LINEAR")
    return relief_mesh.depth_to_relief(depth, long_side=width, relief_height=strength * width,
                                       **kw)


def heights(depth, res, strength=0.1, smoothing=1.0, *, width=0.2, **kw):
    kw.setdefault("background_level", 0.0)
    kw.setdefault("compression", "LINEAR")
    return relief_mesh.heights_only(depth, res, relief_height=strength * width,
                                    smoothing=smoothing, long_side=width, **kw)


# ------------------------------------------------------------------------------- fixtures ---


def dome(h=300, w=240, radius=None, cx=None, cy=None):
    """A paraboloid: 1 at the centre, 0 (background) outside the disk."""
    cy = h / 2 if cy is None else cy
    cx = w / 2 if cx is None else cx
    radius = 0.4 * min(h, w) if radius is None else radius
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2) / radius ** 2
    return np.clip(1.0 - r2, 0.0, 1.0).astype(np.float32)


def portrait(h=480, w=360):
    """A portrait-like depth map, row 0 = top: shoulders (a disk cut by the bottom edge),
    an elliptical head overlapping them with a hole through it, and a separate small
    island (a raised hand). Expect 2 islands, 1 hole, 3 boundary loops."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    shoulders = (xx - 0.5 * w) ** 2 + (yy - 1.05 * h) ** 2 < (0.45 * w) ** 2
    head_e = ((xx - 0.5 * w) / (0.22 * w)) ** 2 + ((yy - 0.48 * h) / (0.25 * h)) ** 2
    head = head_e < 1.0
    hole = ((xx - 0.5 * w) / (0.06 * w)) ** 2 + ((yy - 0.46 * h) / (0.06 * h)) ** 2 < 1.0
    hand = (xx - 0.12 * w) ** 2 + (yy - 0.15 * h) ** 2 < (0.07 * w) ** 2
    fg = (shoulders | head | hand) & ~hole
    depth = np.where(head, 0.5 + 0.5 * np.clip(1.0 - head_e, 0, 1), 0.4)
    return np.where(fg, depth, 0.0).astype(np.float32)


def face_normals(mesh):
    """Newell normals (P, 3) of every polygon (unnormalised; area-weighted)."""
    p = mesh.co.astype(np.float64)
    n = np.zeros((mesh.num_polygons, 3))
    for size in (3, 4):
        sel = np.flatnonzero(mesh.poly_size == size)
        loops = mesh.poly_start[sel, None] + np.arange(size)
        v = p[mesh.loop_vertex[loops]]
        w = np.roll(v, -1, axis=1)
        n[sel] = 0.5 * np.cross(v, w).sum(axis=1)
    return n


def edge_list(mesh):
    poly = np.repeat(np.arange(mesh.num_polygons), mesh.poly_size)
    start = mesh.poly_start[poly]
    nxt = np.arange(mesh.num_loops) + 1
    wrap = nxt == start + mesh.poly_size[poly]
    nxt[wrap] = start[wrap]
    return mesh.loop_vertex, mesh.loop_vertex[nxt]


def islands(mesh):
    """Connected components of the mesh (label propagation over edges)."""
    a, b = edge_list(mesh)
    label = np.arange(mesh.num_vertices)
    while True:
        m = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]
        if np.array_equal(new, label):
            return np.unique(label).size
        label = new


def boundary_loops(mesh):
    """Number of boundary loops of an open mesh (edges used by one face)."""
    a, b = edge_list(mesh)
    nv = mesh.num_vertices
    key = a.astype(np.int64) * nv + b
    rev = b.astype(np.int64) * nv + a
    bnd = ~np.isin(rev, key)
    succ = np.full(nv, -1)
    succ[a[bnd]] = b[bnd]
    assert np.count_nonzero(bnd) == np.unique(a[bnd]).size, "a vertex with two boundary gaps"
    seen = np.zeros(nv, bool)
    loops = 0
    for start in a[bnd]:  # loops over boundary vertices: fine at test sizes
        if seen[start]:
            continue
        loops += 1
        v = start
        while not seen[v]:
            seen[v] = True
            v = succ[v]
        assert v == start
    return loops


def front_uv(mesh):
    """Per-vertex UV of the front vertices (taken from the loops)."""
    uv = np.full((mesh.num_vertices, 2), np.nan, np.float32)
    uv[mesh.loop_vertex] = mesh.loop_uv
    return uv[: mesh.n_front]


# ---------------------------------------------------------------------------------- grid ---


@pytest.mark.parametrize("shape, res, expect", [
    ((300, 400), 64, (48, 64)),
    ((400, 300), 64, (64, 48)),
    ((100, 100), 33, (33, 33)),
    ((10, 1000), 100, (2, 100)),  # the short side never drops below 2 vertices
])
def test_grid_shape_follows_image_aspect(shape, res, expect):
    assert relief_mesh.grid_shape(shape, res) == expect
    assert heights(np.full(shape, 0.5, np.float32), res, 0.1, 0).shape == expect


def test_vertex_count_matches_resolution():
    d = np.full((300, 400), 0.5, np.float32)
    m = relief(d, resolution=64, background="BASE")
    assert m.grid_shape == (48, 64)
    assert m.num_vertices == 48 * 64 == m.n_front
    assert m.num_polygons == 47 * 63
    s = relief(d, resolution=64, background="BASE", solid=True)
    assert s.num_vertices == 48 * 64 + 2 * (47 + 63)  # the back copies only the border
    assert s.n_rim_polys == 2 * (47 + 63)


def test_mesh_is_centred_with_the_image_aspect_and_width():
    d = dome(300, 240)
    m = relief(d, resolution=80, width=0.5, background="BASE")
    lo, hi = m.co.min(axis=0), m.co.max(axis=0)
    np.testing.assert_allclose(lo[:2], -hi[:2], atol=1e-6)
    np.testing.assert_allclose(hi[1] - lo[1], 0.5, rtol=1e-6)  # portrait: height is long
    np.testing.assert_allclose((hi[0] - lo[0]) / (hi[1] - lo[1]), 240 / 300, rtol=1e-6)
    assert lo[2] == 0.0  # background at z = 0, relief above


# ------------------------------------------------------------------------------- heights ---


def test_heights_are_depth_times_strength_times_width():
    """Four flat blocks of known depth: vertices away from the block edges carry exactly
    that depth, scaled to strength * width metres."""
    d = np.zeros((400, 400), np.float32)
    d[:200, :200], d[:200, 200:], d[200:, :200], d[200:, 200:] = 0.2, 0.4, 0.6, 0.8
    z = heights(d, 41, 0.1, 0.0, width=2.0)
    assert z.shape == (41, 41)
    for (r, c), value in {(5, 5): 0.2, (5, 35): 0.4, (35, 5): 0.6, (35, 35): 0.8}.items():
        np.testing.assert_allclose(z[r - 4:r + 5, c - 4:c + 5], value * 0.1 * 2.0, rtol=1e-5)


def test_a_linear_ramp_is_sampled_at_the_vertex_positions():
    """Vertex c sits at image x = c * W / (cols - 1): a ramp keeps its values there."""
    w = 500
    ramp = np.tile(((np.arange(w) + 0.5) / w).astype(np.float32), (100, 1))
    z = heights(ramp, 101, 1.0, 0.0, width=1.0)
    x = np.arange(101) / 100
    assert z.shape == (20, 101)
    np.testing.assert_allclose(z[10, 1:-1], x[1:-1], atol=1e-4)  # border: half cell repeated


def test_heights_are_monotone_in_depth():
    """A pointwise larger depth map never gives a lower vertex (resampling and smoothing
    are averages with positive weights), and strictly larger depth gives higher vertices."""
    rng = np.random.default_rng(1)
    low = rng.uniform(0.01, 0.5, (97, 131)).astype(np.float32)
    high = low + rng.uniform(0.0, 0.5, low.shape).astype(np.float32)
    for smoothing in (0.0, 1.0, 3.0):
        zl = heights(low, 64, 0.1, smoothing)
        zh = heights(high, 64, 0.1, smoothing)
        assert np.all(zh >= zl - 1e-7)
        assert np.all(heights(low + np.float32(0.3), 64, 0.1, smoothing) > zl)
    # a smooth ramp downsampled and smoothed stays strictly monotone
    ramp = np.tile(np.linspace(0.1, 1.0, 400, dtype=np.float32), (300, 1))
    z = heights(ramp, 100, 0.1, 2.0)
    assert np.all(np.diff(z, axis=1) > 0)


def test_dome_centre_is_highest_and_heights_fall_off():
    d = dome(301, 301)
    z = heights(d, 101, 0.1, 1.5, width=0.2)
    r, c = np.unravel_index(np.argmax(z), z.shape)
    assert (r, c) == (50, 50)
    assert z.max() <= 0.1 * 0.2 + 1e-7 and z.max() > 0.9 * 0.1 * 0.2
    assert np.all(np.diff(z[50, 50:]) <= 1e-9) and np.all(np.diff(z[50:, 50]) <= 1e-9)


def test_nearer_is_higher_and_row_zero_is_the_top():
    """Depth increases down the image (nearest at the bottom row): the highest vertices
    must be at the bottom of the mesh (smallest y, v = 0)."""
    d = np.tile(np.linspace(0.1, 1.0, 200, dtype=np.float32)[:, None], (1, 150))
    m = relief(d, resolution=60, background="BASE")
    top = m.co[np.argmax(m.co[:, 2])]
    assert top[1] == m.co[:, 1].min()
    assert front_uv(m)[np.argmax(m.co[:, 2]), 1] == 0.0


def test_heights_only_matches_front_vertices_through_grid_index():
    d = portrait(240, 180)
    kw = dict(resolution=90, strength=0.15, smoothing=2.0, width=0.3)
    m = relief(d, background="CUT", solid=True, **kw)
    z = heights(d, kw["resolution"], kw["strength"], kw["smoothing"],
                            width=kw["width"])
    np.testing.assert_array_equal(m.co[: m.n_front, 2], z.ravel()[m.grid_index])
    np.testing.assert_array_equal(m.co[m.n_front:, :2], m.co[m.back_index, :2])


def test_smoothing_does_not_pull_the_silhouette_down():
    """Masked smoothing: a flat disk stays flat right up to its edge."""
    d = np.where(dome(200, 200) > 0, 0.5, 0.0).astype(np.float32)
    m = relief(d, resolution=100, smoothing=4.0, strength=0.1, width=0.2)
    np.testing.assert_allclose(m.co[:, 2], 0.5 * 0.1 * 0.2, rtol=1e-5)


# ------------------------------------------------------------------------ background ---


def test_base_keeps_the_full_rectangle():
    d = dome(120, 160)
    m = relief(d, resolution=80, background="BASE")
    rows, cols = m.grid_shape
    assert m.num_vertices == rows * cols
    assert m.num_polygons == (rows - 1) * (cols - 1) and m.num_triangles == 0
    assert mesh_check.check_manifold(m)["boundary_edges"] == 2 * (rows - 1 + cols - 1)
    z = m.co[:, 2].reshape(rows, cols)
    assert z[0].max() == 0.0 and z[:, 0].max() == 0.0  # background corners flat at 0
    np.testing.assert_allclose(mesh_check.surface_area(m) > 0.2 * 0.15, True)


def test_cut_removes_background_faces():
    d = dome(200, 200, radius=70)
    base = relief(d, resolution=100, background="BASE")
    cut = relief(d, resolution=100, background="CUT")
    assert cut.num_polygons < base.num_polygons
    # every kept vertex is foreground: inside the disk, above z = 0
    assert cut.co[:, 2].min() > 0.0
    r = np.hypot(cut.co[:, 0], cut.co[:, 1])
    assert r.max() <= 0.2 * (70 + 0.5) / 200  # disk rasterised to whole pixels
    # the kept area approximates the disk (silhouette chamfered, shrunk by under a cell)
    flat = relief(d, resolution=100, background="CUT", strength=0.0)
    disk = np.pi * (0.2 * 70 / 200) ** 2
    assert 0.95 * disk < mesh_check.surface_area(flat) <= disk
    # triangles only on the silhouette: each has a boundary edge (its diagonal)
    c = mesh_check.check_manifold(cut)
    assert cut.num_triangles > 0 and c["manifold"] and c["consistent"]
    a, b = edge_list(cut)
    key = a.astype(np.int64) * cut.num_vertices + b
    on_boundary = ~np.isin(b.astype(np.int64) * cut.num_vertices + a, key)
    tri_loops = cut.poly_start[cut.poly_size == 3, None] + np.arange(3)
    assert np.all(on_boundary[tri_loops].any(axis=1))
    assert relief(d, resolution=100, background="BASE").num_triangles == 0
    assert boundary_loops(cut) == 1 and islands(cut) == 1


def test_front_faces_point_up_and_back_faces_down():
    m = relief(dome(), resolution=60, solid=True)
    n = face_normals(m)
    f, b = m.n_front_polys, m.n_back_polys
    assert np.all(n[:f, 2] > 0)
    assert np.all(n[f:f + b, 2] < 0)
    rim = n[f + b:]
    assert np.allclose(rim[:, 2], 0.0, atol=1e-12)  # vertical walls
    # walls face away from the centre of this convex dome
    centres = np.array([m.co[m.loop_vertex[s:s + 4]].mean(axis=0)
                        for s in m.poly_start[f + b:]])
    assert np.all(np.einsum("ij,ij->i", rim[:, :2], centres[:, :2]) > 0)


# ---------------------------------------------------------------------------- solid ---


@pytest.mark.parametrize("background", ["CUT", "BASE"])
def test_solid_is_closed_manifold_and_outward(background):
    d = dome(300, 240)
    m = relief(d, resolution=96, background=background, solid=True,
                               thickness=0.005)
    c = mesh_check.check_manifold(m)
    assert c["watertight"], c
    assert c["unused_vertices"] == 0
    assert c["euler"] == 2  # one closed sphere-like shell
    assert mesh_check.volume(m) > 0
    assert np.all(m.co[m.n_front:, 2] == np.float32(-0.005))
    open_ = relief(d, resolution=96, background=background)
    assert not mesh_check.check_manifold(open_)["closed"]


def test_solid_volume_matches_the_shape():
    """A flat slab of known size: volume = area * (height + thickness)."""
    d = np.full((100, 200), 0.5, np.float32)
    m = relief(d, resolution=50, background="BASE", solid=True, width=0.2,
                               strength=0.1, thickness=0.004)
    np.testing.assert_allclose(mesh_check.volume(m), 0.2 * 0.1 * (0.5 * 0.1 * 0.2 + 0.004),
                               rtol=1e-5)


def test_portrait_with_hole_and_island_is_watertight():
    d = portrait()
    m = relief(d, resolution=160, background="CUT", solid=True,
                               smoothing=1.5)
    c = mesh_check.check_manifold(m)
    assert c["watertight"], c
    assert mesh_check.volume(m) > 0
    assert islands(m) == 2  # body+head, and the raised hand
    # Euler characteristic of closed shells: 2 per island, -2 per hole (genus)
    assert c["euler"] == 2 * 2 - 2 * 1
    front = relief(d, resolution=160, background="CUT", smoothing=1.5)
    assert boundary_loops(front) == 3  # outer silhouette, hole, hand
    assert islands(front) == 2


def test_base_portrait_is_watertight():
    m = relief(portrait(), resolution=120, background="BASE", solid=True)
    c = mesh_check.check_manifold(m)
    assert c["watertight"] and c["euler"] == 2 and mesh_check.volume(m) > 0


@pytest.mark.parametrize("p", [0.3, 0.6, 0.85])
def test_noisy_masks_never_pinch(p):
    """Random masks are full of diagonal contacts (bow-ties); the cut must resolve them."""
    rng = np.random.default_rng(int(p * 100))
    d = np.where(rng.random((120, 90)) < p, rng.uniform(0.1, 1, (120, 90)), 0).astype(np.float32)
    m = relief(d, resolution=120, solid=True, smoothing=0.0)
    c = mesh_check.check_manifold(m)
    assert c["watertight"], c
    assert mesh_check.volume(m) > 0


def test_check_manifold_detects_problems():
    m = relief(dome(60, 60), resolution=30, solid=True)
    assert mesh_check.check_manifold(m)["watertight"]
    # flip one face: two directed edges now repeat
    bad = relief_mesh.ReliefMesh(**{f.name: getattr(m, f.name) for f in
                               __import__("dataclasses").fields(m)})
    bad.loop_vertex = m.loop_vertex.copy()
    s = m.poly_start[0]
    bad.loop_vertex[s:s + 4] = bad.loop_vertex[s:s + 4][::-1]
    c = mesh_check.check_manifold(bad)
    assert not c["consistent"] and c["misoriented_edges"] == 4
    # a bow-tie: two triangles sharing only a vertex
    co = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]], np.float32)
    tie = relief_mesh.ReliefMesh(co=co, loop_vertex=np.array([0, 1, 2, 0, 3, 4], np.int32),
                            poly_start=np.array([0, 3], np.int32),
                            poly_size=np.array([3, 3], np.int32),
                            loop_uv=np.zeros((6, 2), np.float32), grid_shape=(0, 0),
                            grid_index=np.zeros(0, np.int32))
    c = mesh_check.check_manifold(tie)
    assert c["nonmanifold_vertices"] == 1 and not c["manifold"]


# ------------------------------------------------------------------------------- UVs ---


@pytest.mark.parametrize("background, solid", [("BASE", False), ("CUT", True)])
def test_uvs_cover_the_image_with_v_zero_at_the_bottom(background, solid):
    m = relief(dome(300, 240), resolution=61, background=background,
                               solid=solid)
    assert m.loop_uv.dtype == np.float32 and m.loop_uv.shape == (m.num_loops, 2)
    assert m.loop_uv.min() >= 0.0 and m.loop_uv.max() <= 1.0
    uv = front_uv(m)
    rows, cols = m.grid_shape
    r, c = np.divmod(m.grid_index, cols)
    np.testing.assert_allclose(uv[:, 0], c / (cols - 1), atol=1e-6)
    np.testing.assert_allclose(uv[:, 1], 1 - r / (rows - 1), atol=1e-6)
    # u grows with x, v with y over the full image rectangle: the photo is upright
    size = np.array([0.2 * 240 / 300, 0.2])
    np.testing.assert_allclose(m.co[: m.n_front, :2], (uv - 0.5) * size, atol=1e-6)
    if background == "BASE":
        assert uv[:, 1].min() == 0.0 and uv[:, 0].min() == 0.0 and uv.max() == 1.0
    if solid:  # back and rim reuse the UV of the front vertex above them
        all_uv = np.full((m.num_vertices, 2), np.nan, np.float32)
        all_uv[m.loop_vertex] = m.loop_uv
        np.testing.assert_array_equal(all_uv[m.n_front:], all_uv[m.back_index])


# ------------------------------------------------------------------------- contract ---


def test_array_types_and_layout():
    m = relief(portrait(120, 90), resolution=64, solid=True)
    assert m.co.dtype == np.float32 and m.co.shape == (m.num_vertices, 3)
    assert m.co.flags.c_contiguous
    for a in (m.loop_vertex, m.poly_start, m.poly_size, m.grid_index):
        assert a.dtype == np.int32
    assert m.poly_start[0] == 0
    np.testing.assert_array_equal(np.diff(m.poly_start), m.poly_size[:-1])
    assert m.poly_start[-1] + m.poly_size[-1] == m.num_loops
    assert set(np.unique(m.poly_size)) <= {3, 4}
    assert m.n_front_polys + m.n_back_polys + m.n_rim_polys == m.num_polygons
    assert np.all(m.poly_size[m.n_front_polys + m.n_back_polys:] == 4)
    assert 0 <= m.loop_vertex.min() and m.loop_vertex.max() < m.num_vertices
    assert np.unique(m.loop_vertex).size == m.num_vertices  # no unused vertices


def test_accepts_integer_nan_and_single_channel_depth():
    d = dome(50, 70)
    as_u8 = np.round(d * 255).astype(np.uint8)
    np.testing.assert_allclose(heights(as_u8, 35, 0.1, 1.0),
                               heights(as_u8 / np.float32(255), 35, 0.1, 1.0),
                               atol=1e-7)
    as_u16 = np.round(d * 65535).astype(np.uint16)
    np.testing.assert_allclose(heights(as_u16, 35, 0.1, 1.0),
                               heights(d, 35, 0.1, 1.0), atol=1e-6)
    d[0, 0] = np.nan
    m = relief(d[:, :, None], resolution=35)
    assert np.isfinite(m.co).all()
    thin = relief(np.full((4, 400), 0.5, np.float32), resolution=100,
                                  smoothing=8.0, solid=True)  # blur wider than the grid
    assert thin.grid_shape == (2, 100) and mesh_check.check_manifold(thin)["watertight"]
    np.testing.assert_allclose(thin.co[: thin.n_front, 2], 0.5 * 0.1 * 0.2, rtol=1e-5)
    up = relief(dome(20, 30), resolution=300, background="BASE")  # upsampling
    assert up.grid_shape == (200, 300)


@pytest.mark.parametrize("kwargs, message", [
    (dict(background="NONE"), "Background"),
    (dict(resolution=1), "Resolution"),
    (dict(resolution=100.5), "Resolution"),
    (dict(width=0), "Size"),
    (dict(strength=-1), "Relief height"),
    (dict(compression="LOG"), "Compression"),
    (dict(detail=2), "Detail"),
    (dict(min_island=-0.5), "Minimum island"),
    (dict(smoothing=-1), "Smoothing"),
    (dict(solid=True, thickness=0), "Thickness"),
])
def test_bad_arguments_raise_readable_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        relief(dome(40, 40), **kwargs)


def test_empty_foreground_raises_but_base_still_works():
    d = np.zeros((50, 50), np.float32)
    with pytest.raises(ValueError, match="no subject"):
        relief(d, resolution=20)
    m = relief(d, resolution=20, background="BASE", solid=True)
    assert mesh_check.check_manifold(m)["watertight"]


def test_background_level_treats_low_depth_as_background():
    d = dome(100, 100) + np.float32(0.02)  # no exact zeros: a noisy background
    assert relief(d, resolution=50).num_vertices == 50 * 50
    cut = relief(d, resolution=50, background_level=0.03)
    assert cut.num_vertices < 0.7 * 50 * 50


# ----------------------------------------------------------------------------- speed ---


def test_resolution_1024_builds_quickly():
    d = portrait(1400, 1050)
    t0 = time.perf_counter()
    m = relief(d, resolution=1024, background="CUT", solid=True)
    t_cut = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = relief(d, resolution=1024, background="BASE", solid=True)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    z = heights(d, 1024, 0.1, 1.0)
    t_h = time.perf_counter() - t0
    rows, cols = b.grid_shape
    assert rows == 1024 and cols == 768 and z.shape == (1024, 768)
    assert b.num_vertices == rows * cols + 2 * (rows - 1 + cols - 1)
    print(f"\n1024 grid: CUT+solid {t_cut:.3f}s ({m.num_vertices} verts, "
          f"{m.num_polygons} faces), BASE+solid {t_base:.3f}s ({b.num_vertices} verts), "
          f"heights_only {t_h:.3f}s")
    c = mesh_check.check_manifold(m)
    assert c["watertight"] and c["euler"] == 2 * 2 - 2 * 1  # two islands, one hole


# ----------------------------------------------------- sculpted relief (issue 12, 13.4) ---


def outside_checks(mesh):
    """trimesh and manifold3d (test-only outside libraries) on the mesh in millimetres:
    watertight, consistently wound, a positive volume, one manifold, and no
    self-intersection (a boolean with a box resolves overlaps: its volume would differ)."""
    import manifold3d
    import trimesh
    tris = mesh_check.triangles(mesh)
    tm = trimesh.Trimesh(mesh.co * 1000.0, tris, process=True)
    assert tm.is_watertight and tm.is_winding_consistent and tm.is_volume
    solid = manifold3d.Manifold(manifold3d.Mesh(
        vert_properties=(mesh.co * 1000.0).astype(np.float32), tri_verts=tris.astype(np.uint32)))
    assert solid.status() == manifold3d.Error.NoError
    box = manifold3d.Manifold.cube([1000.0, 1000.0, 1000.0], True)
    assert (solid ^ box).volume() == pytest.approx(solid.volume(), rel=1e-6)
    assert solid.volume() == pytest.approx(tm.volume, rel=1e-6)
    return tm


def old_triangle_count(mesh):
    """Triangles the solid relief had before (the back a copy of the front): front twice
    plus two per rim quad."""
    front = mesh.poly_size[:mesh.n_front_polys]
    return 2 * int((front - 2).sum()) + 2 * mesh.n_rim_polys


@pytest.mark.parametrize("background", ["CUT", "BASE"])
def test_light_back_is_at_most_55_percent_and_passes_outside_checks(background):
    m = relief_mesh.depth_to_relief(portrait(), resolution=200, solid=True,
                                    background=background)
    tm = outside_checks(m)
    assert tm.body_count == 2 if background == "CUT" else tm.body_count == 1  # body + hand
    assert len(tm.faces) <= 0.55 * old_triangle_count(m)
    c = mesh_check.check_manifold(m)
    assert c["watertight"], c
    back = m.co[m.n_front:]
    assert np.all(back[:, 2] == back[0, 2])      # one flat plane


@pytest.mark.parametrize("p", [0.3, 0.6, 0.85])
def test_noisy_masks_with_smooth_outline_stay_watertight(p):
    rng = np.random.default_rng(int(p * 100))
    d = np.where(rng.random((120, 90)) < p, rng.uniform(0.1, 1, (120, 90)), 0).astype(np.float32)
    m = relief_mesh.depth_to_relief(d, resolution=120, solid=True, smoothing=0.0,
                                    min_island=0.0, background_level=0.0)
    assert mesh_check.check_manifold(m)["watertight"]
    outside_checks(m)


def rim_facets(mesh):
    f, b = mesh.n_front_polys, mesh.n_back_polys
    loops = mesh.poly_start[f + b:, None] + np.arange(4)
    v = mesh.co[mesh.loop_vertex[loops]].astype(np.float64)
    width = np.linalg.norm(v[:, 0, :2] - v[:, 1, :2], axis=1)
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    return width, np.degrees(np.arctan2(normal[:, 1], normal[:, 0]))


def test_smooth_outline_follows_the_circle_in_every_direction():
    """The rim of a disc: wall facets face hundreds of directions (not 8), the outline is
    closer to a circle than the grid staircase, and at the default print size (the
    defaults: 200 mm, resolution 400) no wall facet is narrower than a 0.4 mm nozzle."""
    n = 512
    y, x = np.mgrid[0:n, 0:n] + 0.5
    r2 = ((x - n / 2) ** 2 + (y - n / 2) ** 2) / (0.38 * n) ** 2
    disc = np.clip(1 - r2, 0, 1).astype(np.float32)
    spread = {}
    for smooth in (False, True):
        m = relief_mesh.depth_to_relief(disc, solid=True, smooth_outline=smooth)
        width, angle = rim_facets(m)
        radius = np.hypot(*m.co[m.back_index, :2].T)
        spread[smooth] = np.std(radius)
        directions = np.unique(np.round(angle)).size
        assert mesh_check.check_manifold(m)["watertight"]
        if smooth:
            assert directions > 180 and width.min() >= relief_mesh.NOZZLE
            outside_checks(m)
        else:
            assert directions == 8
    assert spread[True] < 0.7 * spread[False]


def test_defaults_are_print_friendly():
    """Issue 13 item 4: base >= 2 mm, cells (the narrowest feature) >= the nozzle."""
    cell = relief_mesh.DEFAULT_LONG_SIDE / (relief_mesh.DEFAULT_RESOLUTION - 1)
    assert cell >= relief_mesh.NOZZLE
    assert relief_mesh.DEFAULT_THICKNESS >= 0.002
    m = relief_mesh.depth_to_relief(portrait(), solid=True)
    assert m.co[:, 2].max() == pytest.approx(relief_mesh.DEFAULT_RELIEF_HEIGHT, rel=1e-5)
    assert m.co[:, 2].min() == pytest.approx(-relief_mesh.DEFAULT_THICKNESS, rel=1e-5)


def test_engrave_cuts_down_from_the_plate():
    m = relief_mesh.depth_to_relief(dome(), resolution=60, solid=True, engrave=True,
                                    background="BASE", relief_height=0.01, thickness=0.002)
    z = m.co[:, 2]
    assert z.max() == 0.0 and z[: m.n_front].min() == pytest.approx(-0.01, rel=1e-5)
    assert z.min() == pytest.approx(-0.012, rel=1e-5)
    assert mesh_check.check_manifold(m)["watertight"] and mesh_check.volume(m) > 0


def test_relief_height_is_the_peak():
    """GRADIENT: the highest point is exactly Relief Height; LINEAR: depth 1 would be."""
    kw = dict(relief_height=0.01, background_level=0.0)
    z = relief_mesh.heights_only(portrait(), 100, compression="GRADIENT", **kw)
    assert z.max() == pytest.approx(0.01, rel=1e-5)
    z = relief_mesh.heights_only(portrait(), 100, compression="LINEAR", **kw)
    assert 0.009 < z.max() <= 0.01


def test_displacement_image_matches_the_mesh_foreground():
    d = np.where(dome(120, 160) > 0, dome(120, 160) + np.float32(0.2), 0).astype(np.float32)
    rgba = relief_mesh.displacement_image(d, 64)
    assert rgba.shape == (120, 160, 4) and rgba.dtype == np.float32
    assert rgba[..., 0].max() == pytest.approx(1.0) and rgba[..., 0].min() == 0.0
    np.testing.assert_array_equal(rgba[..., 3] > 0, d > 0.02)
    assert np.all(rgba[..., 3][rgba[..., 0] > 0] == 1)
    assert np.all(relief_mesh.displacement_image(d, 64, background="BASE")[..., 3] == 1)
    assert relief_mesh.displacement_image(d, 64, engrave=True)[..., 0].min() == pytest.approx(-1)


@pytest.mark.parametrize("depth, message", [
    (np.zeros((40, 40), np.float32), "no subject"),                       # all background
    (np.full((40, 40), np.nan, np.float32), "no subject"),                # NaN everywhere
    (np.full((1, 40), 0.5, np.float32), "at least 2x2"),                   # one pixel wide
])
def test_bad_depth_gets_a_clear_message(depth, message):
    with pytest.raises(relief_mesh.InputError, match=message):
        relief_mesh.depth_to_relief(depth, resolution=32, solid=True)


def test_sensible_relief_from_flat_and_nan_ridden_depth():
    flat = relief_mesh.depth_to_relief(np.full((40, 50), 0.5, np.float32), resolution=40,
                                       solid=True)
    assert mesh_check.check_manifold(flat)["watertight"]
    np.testing.assert_allclose(flat.co[: flat.n_front, 2], relief_mesh.DEFAULT_RELIEF_HEIGHT)
    d = dome(100, 100)
    d[np.random.default_rng(3).random(d.shape) < 0.2] = np.nan   # 20 % NaN
    m = relief_mesh.depth_to_relief(d, resolution=80, solid=True)
    assert np.isfinite(m.co).all() and mesh_check.check_manifold(m)["watertight"]


def test_fit_depth_resizes_same_aspect_and_refuses_another():
    d = dome(100, 150)
    assert relief_mesh.fit_depth(d, (200, 300)).shape == (200, 300)
    assert relief_mesh.fit_depth(d, (100, 150)) is not None
    with pytest.raises(relief_mesh.InputError, match="shapes differ"):
        relief_mesh.fit_depth(d, (300, 300))
