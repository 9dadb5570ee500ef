"""An independent, obviously-correct NumPy/Python implementation of Philox4x32-10."""

from __future__ import annotations

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF


def philox4x32_10(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, int, int, int]:
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK32, p1 & MASK32, ((p0 >> 32) ^ c3 ^ k1) & MASK32, p0 & MASK32
        k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
    return c0, c1, c2, c3


def episode_reset_uniforms(env_seed: int, episode: int, count: int) -> np.ndarray:
    """The documented reset stream: key = env seed, counter = (block, episode lo, episode hi, 1);
    each block gives two 64-bit draws (words 0-1, then 2-3); u = (draw >> 11) * 2**-53."""
    key = (env_seed & MASK32, env_seed >> 32)
    draws = []
    block = 0
    while len(draws) < count:
        w = philox4x32_10((block, episode & MASK32, episode >> 32, 1), key)
        draws += [w[0] | (w[1] << 32), w[2] | (w[3] << 32)]
        block += 1
    return np.array([(d >> 11) * 2.0**-53 for d in draws[:count]])
