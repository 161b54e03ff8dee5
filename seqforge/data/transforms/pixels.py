"""Images as pixel sequences: upsampling and a fixed pixel order.

Pixel-by-pixel sequential MNIST (Le et al. 2015) reads a 28×28 image one pixel at a time
— 784 steps, one feature — and its permuted form shuffles the pixel order with one fixed
permutation, so that neighbouring pixels are no longer neighbouring steps and the
dependencies span the whole sequence. These helpers do the same for any stack of images.
"""

from __future__ import annotations

import numpy as np


def interpolation_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) weights of linear interpolation from n samples to m, ends aligned: row i
    mixes the two source samples around position i·(n−1)/(m−1)."""
    if m == n:
        return np.eye(n)
    pos = np.linspace(0.0, n - 1.0, m)  # (m,)
    lo = np.minimum(np.floor(pos).astype(np.int64), n - 2)
    frac = pos - lo
    w = np.zeros((m, n))
    w[np.arange(m), lo] = 1.0 - frac
    w[np.arange(m), lo + 1] = frac
    return w


def upsample(images: np.ndarray, scale: int) -> np.ndarray:
    """(N, h, w) → (N, scale·h, scale·w) by bilinear interpolation (corners aligned).

    The result holds no more information than the input — it is only longer when read
    as a sequence — and stays within the input's value range."""
    if scale == 1:
        return images
    _, h, w = images.shape
    rows = interpolation_matrix(h, scale * h)  # (sh, h)
    cols = interpolation_matrix(w, scale * w)  # (sw, w)
    return np.einsum("ih,nhw,jw->nij", rows, images, cols).astype(images.dtype)


def pixel_order(steps: int, permute: bool, seed: int) -> np.ndarray:
    """(steps,) the order pixels are read in: row by row, or one fixed permutation of it."""
    if not permute:
        return np.arange(steps)
    return np.random.default_rng(seed).permutation(steps)


def as_sequences(images: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(N, h, w) → (N, h·w, 1): one pixel per step, in ``order``."""
    flat = images.reshape(images.shape[0], -1)  # (N, h·w) row by row
    return np.ascontiguousarray(flat[:, order, None])


__all__ = ["upsample", "pixel_order", "as_sequences", "interpolation_matrix"]
