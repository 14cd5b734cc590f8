"""core/uv_seams.py: a mark across a UV seam is filled from the other side of the seam."""

import numpy as np
import pytest

from mapsmith.core import inpaint, uv_seams
from mapsmith.core.errors import InputError

CELL, MARGIN = 64, 4                 # a 4 x 3 cross layout of 64-texel cells, 4-texel gutters
HEIGHT, WIDTH = 3 * CELL, 4 * CELL
# Colour = 0.5 + position @ COLOUR_AXES: smooth over the cube. Equal x and y rows make it
# change at the same rate on both sides of the -X / +Y edge (no kink where the cube bends), so
# there the exact fill is known: the straight continuation from one side to the other.
COLOUR_AXES = np.array([[0.3, -0.25, 0.15], [0.3, -0.25, 0.15], [0.1, 0.2, -0.3]])


def cube():
    """A 2 m cube centred at the origin, every face its own UV island (every edge a seam).

    Cross layout (cells as (column, row from the bottom)): -X (0,1), -Y (1,1), +X (2,1),
    +Y (3,1), +Z (1,2), -Z (1,0). -X and +Y are neighbours on the cube but lie at the two
    ends of the strip in the image.
    """
    faces = {  # origin, s axis, t axis (right-handed, outward normals), UV cell
        "-X": ((-1, 1, -1), (0, -2, 0), (0, 0, 2), (0, 1)),
        "-Y": ((-1, -1, -1), (2, 0, 0), (0, 0, 2), (1, 1)),
        "+X": ((1, -1, -1), (0, 2, 0), (0, 0, 2), (2, 1)),
        "+Y": ((1, 1, -1), (-2, 0, 0), (0, 0, 2), (3, 1)),
        "+Z": ((-1, -1, 1), (2, 0, 0), (0, 2, 0), (1, 2)),
        "-Z": ((-1, 1, -1), (2, 0, 0), (0, -2, 0), (1, 0)),
    }
    positions = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    corners, uvs = [], []
    for origin, s_axis, t_axis, (cu, cv) in faces.values():
        o, s, t = (np.array(v, float) for v in (origin, s_axis, t_axis))
        quad = [(0, 0), (1, 0), (1, 1), (0, 1)]
        idx = [positions.index(tuple((o + a * s + b * t).astype(int))) for a, b in quad]
        uv = [((cu * CELL + MARGIN + a * (CELL - 2 * MARGIN)) / WIDTH,
               (cv * CELL + MARGIN + b * (CELL - 2 * MARGIN)) / HEIGHT) for a, b in quad]
        for tri in ((0, 1, 2), (0, 2, 3)):
            corners.append([idx[k] for k in tri])
            uvs.append([uv[k] for k in tri])
    return uv_seams.SurfaceMesh(np.array(positions, float), corners, uvs)


def surface_points(mesh, smap):
    tri = smap.triangle
    on = tri >= 0
    pts = np.zeros(tri.shape + (3,))
    x = mesh.positions[mesh.corners[tri[on]]]
    pts[on] = (smap.bary[on][..., None] * x).sum(axis=1)
    return pts, on


@pytest.fixture(scope="module")
def painted():
    """The cube's texture painted with a colour field that is smooth over the surface; the
    gutter is black, as a new Blender image is."""
    mesh = cube()
    smap = uv_seams.rasterise(mesh, HEIGHT, WIDTH)
    pts, on = surface_points(mesh, smap)
    colour = np.clip(0.5 + pts @ COLOUR_AXES, 0, 1)
    image = np.where(on[..., None], colour, 0.0)
    return mesh, smap, pts, on, image


def mark_at(pts, on, centre, radius=0.25):
    return on & (np.linalg.norm(pts - np.array(centre, float), axis=-1) < radius)


def strip_along_edge(pts, on, half_width=0.2, half_length=0.6):
    """A scratch along the -X / +Y edge (x = -1, y = 1), crossing it: 12 texels wide."""
    off = np.hypot(pts[..., 0] + 1.0, pts[..., 1] - 1.0)
    return on & (off < half_width) & (np.abs(pts[..., 2]) < half_length)


def test_rasterise_covers_each_island(painted):
    mesh, smap, _, on, _ = painted
    assert on.sum() == pytest.approx(6 * (CELL - 2 * MARGIN) ** 2, rel=0.02)
    assert set(np.unique(smap.triangle)) == set(range(-1, 12))
    assert np.allclose(smap.bary[on].sum(axis=1), 1.0, atol=1e-5)


def test_mark_across_a_seam_matches_the_far_side(painted):
    mesh, _, pts, on, image = painted
    truth = image.copy()
    mask = strip_along_edge(pts, on)
    rows, cols = np.nonzero(mask)
    assert cols.min() < CELL and cols.max() >= 3 * CELL   # two blobs, at both ends of the image
    damaged = image.copy()
    damaged[mask] = (1.0, 0.0, 1.0)                  # the defect the artist marked
    filled, done = uv_seams.fill(damaged, mask, mesh)
    assert np.array_equal(done, mask)
    err = np.abs(filled[mask] - truth[mask]) * 255
    assert err.mean() < 1.0 and err.max() < 3.0
    # An image-space fill takes the black gutter and the wrong island's edge instead.
    plain = inpaint.diffuse((damaged * 255).round().astype(np.uint8), mask.astype(np.uint8))
    plain_err = np.abs(plain[mask] / 255.0 - truth[mask]) * 255
    assert plain_err.mean() > 5 * err.mean() and plain_err.mean() > 15
    # Nothing outside the mark changed.
    assert np.array_equal(filled[~mask].astype(np.float32), damaged[~mask].astype(np.float32))


def test_mark_inside_an_island_is_an_ordinary_membrane(painted):
    mesh, _, pts, on, image = painted
    mask = mark_at(pts, on, (0.0, -1.0, 0.0), 0.3)   # the middle of the -Y face
    damaged = image.copy()
    damaged[mask] = 0.0
    filled, _ = uv_seams.fill(damaged, mask, mesh)
    err = np.abs(filled[mask] - image[mask]) * 255
    assert err.max() < 2.0                            # linear colour: the membrane is exact


def test_corner_of_three_faces(painted):
    mesh, _, pts, on, image = painted
    mask = mark_at(pts, on, (1.0, 1.0, 1.0), 0.3)    # a cube corner: three islands
    damaged = image.copy()
    damaged[mask] = 1.0
    filled, _ = uv_seams.fill(damaged, mask, mesh)
    # A corner cannot be unfolded flat (three right angles around it): a little more error.
    err = np.abs(filled[mask] - image[mask]) * 255
    assert err.mean() < 5.0 and err.max() < 15.0


def test_neighbours_inside_an_island_are_the_image_neighbours(painted):
    mesh, smap, _, _, _ = painted
    r, c = np.array([CELL + 30]), np.array([CELL + 30])     # inside the -Y island
    tri, bary = smap.triangle[r, c], smap.bary[r, c]
    index, weight = uv_seams.neighbour_weights(mesh, HEIGHT, WIDTH, r, c, tri, bary)
    got = sorted(int(i) for i, wt in zip(index[0], weight[0]) if wt > 1e-9)
    expect = sorted([(r[0] + dr) * WIDTH + c[0] + dc
                     for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0))])
    assert got == expect


def test_bad_input(painted):
    mesh, _, _, _, image = painted
    with pytest.raises(InputError):
        uv_seams.fill(image, np.zeros((4, 4), bool), mesh)
    with pytest.raises(InputError):
        uv_seams.SurfaceMesh(np.zeros((3, 3)), [[0, 1, 5]], np.zeros((1, 3, 2)))
    with pytest.raises(InputError):
        uv_seams.SurfaceMesh(np.zeros((3, 3)), np.zeros((0, 3)), np.zeros((0, 3, 2)))
