"""Helpers for the texture-map tests on real textures (bpy-free; unit and Blender tests)."""

import numpy as np


def seamless(texture: np.ndarray) -> np.ndarray:
    """A seamless tile: the texture mirrored right and down (edges continue each other)."""
    row = np.concatenate([texture, texture[:, ::-1]], axis=1)
    return np.concatenate([row, row[::-1]], axis=0)


def mortar_mask(brick):
    """The mortar lines: thin and lighter than the bricks around them (a local top-hat)."""
    lum = brick.astype(np.float32)
    k = 9
    pad = np.pad(lum, k, mode="reflect")
    local = np.mean([np.roll(np.roll(pad, dy, 0), dx, 1)[k:-k, k:-k]
                     for dy in range(-k, k + 1, 3) for dx in range(-k, k + 1, 3)], axis=0)
    return lum - local > 20
