"""sRGB transfer functions and dtype conversions (IEC 61966-2-1). bpy-free."""

from __future__ import annotations

import numpy as np


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8 with rounding (values outside 0..1 are clipped)."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 0..1."""
    return np.asarray(x, dtype=np.float32) / 255.0
