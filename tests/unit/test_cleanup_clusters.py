"""core.cleanup_region clusters and core.cleanup_seams: the regions sent, the fill at seams."""

import numpy as np
import pytest
from test_uv_seams import COLOUR_AXES, HEIGHT, WIDTH, cube, strip_along_edge, surface_points

from mapsmith.core import cleanup_region, cleanup_seams, inpaint, masks, uv_seams
from mapsmith.core.errors import Cancelled, CancelToken


def marks_buffer(shape, boxes):
    buf = np.zeros(shape + (4,), np.float32)
    for x0, y0, x1, y1 in boxes:
        buf[y0:y1, x0:x1, :3] = 1.0
    return buf


def test_four_corners_of_a_4k_texture_are_four_small_unshrunk_regions():
    size = 4096
    marks = [(100, 100, 140, 130), (3950, 100, 3990, 130), (100, 3950, 140, 3980),
             (3950, 3950, 3990, 3980)]
    marked = cleanup_region.find_marks(marks_buffer((size, size), marks))
    plans = cleanup_region.plan_regions(marked, 4)
    assert len(plans) == 4
    for plan, (x0, y0, x1, y1) in zip(sorted(plans, key=lambda p: (p.box[1], p.box[0])), marks):
        bx0, by0, bx1, by1 = plan.box
        assert (bx1 - bx0) * (by1 - by0) < 0.005 * size * size            # small
        # the whole context margin is there: nothing was shrunk to fit a budget
        m = cleanup_region.MIN_MARGIN
        assert bx0 <= x0 - 4 - m and by0 <= y0 - 4 - m
        assert bx1 >= min(size, x1 + 4 + m) and by1 >= min(size, y1 + 4 + m)
        assert plan.grown.shape == (by1 - by0, bx1 - bx0)


def test_regions_cover_exactly_the_grown_marks_once():
    """Many specks: fewer requests than specks, every grown texel in exactly one region, the
    same grown mask as growing the whole mask at once, no region beyond the budget."""
    rng = np.random.default_rng(3)
    size = 1024
    boxes = []
    for _ in range(60):
        x, y = rng.integers(0, size - 8, 2)
        boxes.append((x, y, x + rng.integers(1, 8), y + rng.integers(1, 8)))
    buf = marks_buffer((size, size), boxes)
    marked = cleanup_region.find_marks(buf)
    plans = cleanup_region.plan_regions(marked, 3, budget=300_000)
    assert 1 < len(plans) <= cleanup_region.MAX_REGIONS
    cover = np.zeros((size, size), np.int32)
    for plan in plans:
        x0, y0, x1, y1 = plan.box
        assert (x1 - x0) * (y1 - y0) <= 300_000
        cover[y0:y1, x0:x1] += plan.grown > 0
    expected = masks.grow((buf[..., 0] > 0).astype(np.uint8) * 255, 3) > 0
    assert cover.max() == 1
    assert np.array_equal(cover > 0, expected)


def test_close_marks_share_one_request():
    marked = cleanup_region.find_marks(marks_buffer((2048, 2048), [(500, 500, 510, 510),
                                                                   (560, 530, 570, 540)]))
    assert len(cleanup_region.plan_regions(marked, 4)) == 1


def test_many_far_marks_merge_to_the_request_limit_without_shrinking():
    boxes = [(x, y, x + 4, y + 4) for x in range(100, 4000, 800) for y in range(100, 4000, 800)]
    marked = cleanup_region.find_marks(marks_buffer((4096, 4096), boxes))
    plans = cleanup_region.plan_regions(marked, 2, max_regions=8)
    assert len(plans) <= 8
    assert all((p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) <= cleanup_region.REGION_BUDGET
               for p in plans)


def test_a_part_token_maps_progress_and_shares_cancel():
    seen = []
    token = CancelToken(lambda f, text: seen.append((round(f, 3), text)))
    part = token.part(0.5, 0.75, "Region 2 of 4: ")
    part.progress(0.5, "Filling")
    assert seen == [(0.625, "Region 2 of 4: Filling")]
    token.cancel()
    with pytest.raises(Cancelled):
        part.check()


# -- across UV seams --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cube_texture():
    mesh = cube()
    smap = uv_seams.rasterise(mesh, HEIGHT, WIDTH)
    pts, on = surface_points(mesh, smap)
    colour = np.clip(0.5 + pts @ COLOUR_AXES, 0, 1)
    truth = np.where(on[..., None], colour, 0.0)
    truth = np.round(truth * 255) / 255                     # a byte texture
    return mesh, pts, on, truth


def _marked(truth, mark, **plan_options):
    """The texture buffer (stored rows), and the plans of ``mark`` (top-first rows)."""
    buf = np.dstack([truth, np.ones(truth.shape[:2])])[::-1].astype(np.float32)
    mask_buf = np.zeros_like(buf)
    mask_buf[mark[::-1], :3] = 1.0
    return buf, cleanup_region.plan_regions(cleanup_region.find_marks(mask_buf), 0,
                                            **plan_options)


def _image_space(buf, plans):
    """What a provider does: fill each region from the image around it."""
    news = []
    for plan in plans:
        x0, y0, x1, y1 = plan.box
        region = buf[y0:y1, x0:x1]
        answer = inpaint.diffuse(np.rint(region[::-1, :, :3] * 255).astype(np.uint8),
                                 plan.grown[::-1])[::-1]
        news.append(cleanup_region.blend(region, answer, plan.weight, linear=False,
                                         is_float=False))
    return news


def test_seam_fill_matches_the_far_side_where_image_space_does_not(cube_texture):
    mesh, pts, on, truth = cube_texture
    mark = strip_along_edge(pts, on)                       # top-first rows
    damaged = truth.copy()
    damaged[mark] = (1.0, 0.0, 1.0)
    buf, plans = _marked(damaged, mark, request_cost=0)
    assert len(plans) == 2                                   # two blobs, far apart in the image
    plain = _image_space(buf, plans)
    news, texels, note = cleanup_seams.fill_across_seams(buf, plans, plain, mesh,
                                                         is_float=False)
    assert texels > 0 and note == ""
    out, plain_out = buf[..., :3].copy(), buf[..., :3].copy()
    for plan, new, old in zip(plans, news, plain):
        x0, y0, x1, y1 = plan.box
        inside = plan.weight > 0
        out[y0:y1, x0:x1][inside] = new[inside]
        plain_out[y0:y1, x0:x1][inside] = old[inside]
    out, plain_out = out[::-1], plain_out[::-1]
    err = np.abs(out[mark] - truth[mark]) * 255
    plain_err = np.abs(plain_out[mark] - truth[mark]) * 255
    print(f"\nseam fill error {err.mean():.2f} (95 %: {np.percentile(err, 95):.2f}) levels, "
          f"image space {plain_err.mean():.2f}")
    assert err.mean() < 3.0 and np.percentile(err, 95) < 6.0
    assert plain_err.mean() > 5 * err.mean()
    assert np.array_equal(out[~mark], damaged[~mark].astype(np.float32))   # nothing else


def test_overlapping_islands_keep_the_image_space_fill(cube_texture):
    mesh, pts, on, truth = cube_texture
    # A mirrored twin: the same UVs on the other side of the model (mirrored halves).
    twin = uv_seams.SurfaceMesh(np.concatenate([mesh.positions, mesh.positions * [-1, 1, 1]
                                                + [5, 0, 0]]),
                                np.concatenate([mesh.corners, mesh.corners + 8]),
                                np.concatenate([mesh.uvs, mesh.uvs]))
    buf, plans = _marked(truth, strip_along_edge(pts, on))
    plain = _image_space(buf, plans)
    news, texels, note = cleanup_seams.fill_across_seams(buf, plans, plain, twin,
                                                         is_float=False)
    assert texels == 0 and "overlap" in note
    assert all(np.array_equal(a, b) for a, b in zip(news, plain))


def test_a_mark_inside_an_island_is_left_to_the_provider(cube_texture):
    mesh, pts, on, truth = cube_texture
    mark = on & (np.linalg.norm(pts - [0.0, -1.0, 0.0], axis=-1) < 0.2)   # mid -Y face
    buf, plans = _marked(truth, mark)
    plain = _image_space(buf, plans)
    _news, texels, _note = cleanup_seams.fill_across_seams(buf, plans, plain, mesh,
                                                           is_float=False)
    assert texels == 0
