"""core/mesh_check.py: placement on the bed, bodies, the checks before a print export."""

import numpy as np
import pytest

from mapsmith.core import mesh_check, relief_mesh
from mapsmith.core.errors import InputError

trimesh = pytest.importorskip("trimesh")


def cube(size=10.0, offset=(0.0, 0.0, 0.0)):
    """Quads, outward."""
    c = (np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                   [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], np.float64) * size
         + np.asarray(offset))
    faces = np.array([[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6],
                      [3, 0, 4, 7]])
    return c, faces


def polys(parts):
    co, loops, n = [], [], 0
    for c, f in parts:
        co.append(c)
        loops.append(f + n)
        n += len(c)
    faces = np.concatenate(loops)
    size = np.full(len(faces), faces.shape[1], np.int64)
    starts = np.arange(len(faces)) * faces.shape[1]
    return mesh_check.Polygons(np.concatenate(co), faces.ravel(), starts, size)


def test_inspect_a_cube_in_mm():
    report = mesh_check.inspect(polys([cube(10.0)]))
    assert report.watertight and report.bodies == 1 and report.triangles == 12
    assert report.size_mm == (10.0, 10.0, 10.0)
    assert report.volume_cm3 == pytest.approx(1.0)
    assert mesh_check.problems(report) == ""
    assert mesh_check.summary(report) == "10.0 x 10.0 x 10.0 mm, 1.0 cm3, 12 triangles"


def test_bodies_match_trimesh_and_the_largest_is_kept():
    mesh = polys([cube(10.0), cube(2.0, (20, 0, 0)), cube(1.0, (0, 30, 0))])
    assert mesh_check.count_bodies(mesh) == 3
    big, parts, dropped = mesh_check.largest_body(mesh)
    assert mesh_check.count_bodies(big) == 1 and big.num_vertices == 8
    assert mesh_check.inspect(big).volume_cm3 == pytest.approx(1.0)
    assert (parts, dropped) == (2, pytest.approx(12 / 18))
    # trimesh agrees, on a solid relief with two islands.
    yy, xx = np.mgrid[0:120, 0:160]
    left = (xx - 40) ** 2 + (yy - 60) ** 2 < 30 ** 2
    right = (xx - 120) ** 2 + (yy - 60) ** 2 < 25 ** 2
    depth = left | right
    rm = relief_mesh.depth_to_relief(depth * 0.5, resolution=80, solid=True)
    two = mesh_check.Polygons(rm.co, rm.loop_vertex, rm.poly_start, rm.poly_size)
    tris = np.concatenate([rm.loop_vertex[np.stack([s, s + k, s + k + 1], axis=1)]
                           for size, s in two.polygon_loops() for k in range(1, size - 1)])
    assert trimesh.Trimesh(rm.co, tris).body_count == mesh_check.count_bodies(two) == 2


def test_open_and_inside_out_meshes_are_named():
    c, f = cube()
    report = mesh_check.inspect(polys([(c, f[1:])]))             # one face missing
    assert not report.watertight
    assert mesh_check.problems(report) == "4 open edges (holes)"
    report = mesh_check.inspect(polys([(c, f[:, ::-1])]))        # every face flipped
    assert report.watertight and mesh_check.problems(report) == "its faces point inwards"
    with pytest.raises(InputError, match="no faces"):
        mesh_check.inspect(mesh_check.Polygons(c, np.zeros(0, int), np.zeros(0, int),
                                               np.zeros(0, int)))


def test_lay_on_bed_and_fit():
    c, _ = cube(10.0, (5.0, -7.0, 3.0))
    laid = mesh_check.lay_on_bed(c)
    assert laid.min(axis=0).tolist() == [-5.0, -5.0, 0.0]
    assert laid.max(axis=0).tolist() == [5.0, 5.0, 10.0]
    assert mesh_check.fits((200, 150, 20)) and not mesh_check.fits((230, 100, 10))
    assert mesh_check.fit_factor((440, 100, 10)) == pytest.approx(0.5)
    assert mesh_check.fit_factor((100, 100, 500), (220, 220, 250)) == pytest.approx(0.5)
    assert mesh_check.fit_factor((10, 10, 10)) == 1.0
