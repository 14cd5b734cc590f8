"""The cutout edge figures and picture of README's Remove Background section. bpy-free.

    python tools/edge_figure.py [--out docs/images/cutout_edge.png]

On the astronaut (scikit-image), with the offline provider's cutout before and after
``core.cutout.refine`` (defaults: edge colour on, despill 0.5, background pieces and islands
dropped), prints:

- pulled: the share of soft edge pixels (alpha 0.05..0.95) at least 20 levels closer (RGB
  distance) to the wall's colour (the photo at the nearest pixel of alpha <= 0.05) than to
  the subject's (the photo at the nearest pixel of alpha >= 0.95);
- kept far: pixels with any alpha more than 5 px outside the true edge of the astronaut's
  left side (her sleeve against the flag), traced by hand in
  tests/data/astronaut_left_edge.json, and the share of the subject's solid pixels (alpha
  >= 0.5 before) inside that outline still solid after;

and writes both cutouts over black, enlarged around the hair and the sleeve.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
from PIL import Image
from skimage import data

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import conftest  # noqa: E402,F401  (makes the repository importable as ``mapsmith``)

from mapsmith.core import cutout  # noqa: E402
from mapsmith.providers import create  # noqa: E402
from mapsmith.tests.unit.test_cutout import (  # noqa: E402  (the one definition of each)
    left_edge_figures,
    pulled_to_wall,
)


def over_black(rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:].astype(np.float32) / 255.0
    return np.round(rgba[..., :3] * a).astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "cutout_edge.png"))
    args = parser.parse_args()
    photo = data.astronaut()
    before = create("OFFLINE").background(photo, "CUTOUT").image
    after = cutout.refine(photo, before)
    far_before, far_after, kept = left_edge_figures(before[..., 3], after[..., 3])
    for name, rgba, far in (("before", before, far_before), ("after", after, far_after)):
        soft = int(((rgba[..., 3] > 12) & (rgba[..., 3] < 243)).sum())
        print(f"{name}: pulled towards the wall {pulled_to_wall(photo, rgba):.1%} of {soft} "
              f"soft edge pixels; {far} pixels kept more than 5 px outside the traced edge")
    print(f"the sleeve's solid pixels inside the traced edge still solid: {kept:.1%}")
    crops = []
    for top, left in ((0, 130), (384, 0)):         # the hair; the sleeve and the flag
        tiles = [over_black(x)[top:top + 128, left:left + 192] for x in (before, after)]
        crops.append(np.hstack([tiles[0], np.zeros((128, 4, 3), np.uint8), tiles[1]]))
    picture = np.vstack([crops[0], np.zeros((4, crops[0].shape[1], 3), np.uint8), crops[1]])
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2),
                                    Image.NEAREST).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
