"""The enhancer frame step's per-op-bound parts compiled with numba (models/enhancer_numpy.py calls them).

A 10 ms frame on the CPU is ~150 numpy calls on vectors of 128-161 values: each costs ~0.3-1 us of interpreter and
ufunc dispatch whatever its size, more than its arithmetic. Here each GLA block, the head, the tone feature, the
SNR-adaptive mask, the deep filter's taps and the pitch search are one compiled call, with the formulas of the numpy
code they replaced; their matrix products go through BLAS (scipy's build), and some sums run in another order or in
float64, so the results agree to float rounding, and `numpy_frame` checks the whole frame against the torch step
when it builds it. Compiled on first use and cached beside this file (numba's `cache=True`; where the folder is not
writable, numba keeps the cache in a per-user folder).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@njit(cache=True)
def _inv_rms(x: np.ndarray, eps: float) -> float:
    acc = 0.0
    for v in x:
        acc += v * v
    return 1.0 / math.sqrt(acc / x.shape[0] + eps)


@njit(cache=True)
def gla_block(h, S, w, g_w, g_b, o_w, mlp_w, down_w, sizes, o_eps, eps, inv_gnorm):
    """One GLA block (FastGLAStep's layer) for rows h (B, d) -> (B, d); S (B, heads, dk, dv) updated in place.
    sizes: (q, k, v, g, r) widths of w's columns."""
    B = h.shape[0]
    heads, dk, dv = S.shape[1], S.shape[2], S.shape[3]
    nq, nk, nv, ng = sizes[0], sizes[1], sizes[2], sizes[3]
    scale = dk**-0.5
    out = np.empty_like(h)
    o = np.empty(heads * dv, h.dtype)
    for b in range(B):
        x = h[b]
        z = np.dot(x, w) * np.float32(_inv_rms(x, eps))
        q, k, v = z[:nq], z[nq : nq + nk], z[nq + nk : nq + nk + nv]
        g = z[nq + nk + nv : nq + nk + nv + ng]
        r = z[nq + nk + nv + ng :]
        gl = np.dot(g, g_w) + g_b
        for hh in range(heads):
            for i in range(dk):
                gi = _sigmoid(gl[hh * dk + i]) ** inv_gnorm
                ki = k[hh * dk + i]
                for j in range(dv):
                    S[b, hh, i, j] = S[b, hh, i, j] * gi + ki * v[hh * dv + j]
            ss = 0.0
            for j in range(dv):
                acc = 0.0
                for i in range(dk):
                    acc += q[hh * dk + i] * S[b, hh, i, j]
                acc *= scale
                o[hh * dv + j] = acc
                ss += acc * acc
            inv = 1.0 / math.sqrt(ss / dv + o_eps)
            for j in range(dv):
                rj = r[hh * dv + j]
                o[hh * dv + j] = o[hh * dv + j] * inv * (rj * _sigmoid(rj))
        x2 = x + np.dot(o, o_w)
        z2 = np.dot(x2, mlp_w) * np.float32(_inv_rms(x2, eps))
        half = z2.shape[0] // 2
        m = np.empty(half, h.dtype)
        for j in range(half):
            gj = z2[j]
            m[j] = gj * _sigmoid(gj) * z2[half + j]
        out[b] = x2 + np.dot(m, down_w)
    return out


@njit(cache=True)
def head(h, W, bias, eps):
    """The head on rows h (B, d): RMS-normalised (its weight folded into W), then W and the bias."""
    out = np.empty((h.shape[0], W.shape[1]), h.dtype)
    for b in range(h.shape[0]):
        out[b] = np.dot(h[b], W) * np.float32(_inv_rms(h[b], eps)) + bias
    return out


@njit(cache=True)
def tone_step(X, h, unsubnormal, tiny, deep_bins, compress):
    """NumpyFrame._tone: X (B, bins) complex, h the complex tone history (B, K + 1, bins), updated in place: slots
    0..K-2 the last unit phase steps against their previous phasor, K-1 the previous phasor's conjugate, K the
    previous spectrum's. -> (the deep filter's phase feature (B, 2 deep_bins), real/imaginary interleaved and
    |p|^(compress / 2) long; empty for 0 bins), the steadiness (B, bins)."""
    B, K1, nb = h.shape
    K = K1 - 1
    fdt = X.real.dtype
    adv = np.empty((B, 2 * deep_bins), fdt)
    steady = np.empty((B, nb), fdt)
    expo = (compress / 2 - 1) / 2  # p |p|^(compress / 2 - 1): compressed_advance
    for b in range(B):
        for j in range(nb):
            p = X[b, j] * h[b, K, j]
            if j < deep_bins:
                pr, pi = p.real, p.imag
                f = (pr * pr + pi * pi + 1e-20) ** expo
                adv[b, 2 * j], adv[b, 2 * j + 1] = pr * f, pi * f
            ps = p * unsubnormal
            v = ps / max(abs(ps), tiny)
            u = v * h[b, K - 1, j]
            s = u
            for t in range(K - 1):
                s += h[b, t, j]
            steady[b, j] = abs(s) / K
            for t in range(K - 2):
                h[b, t, j] = h[b, t + 1, j]
            h[b, K - 2, j] = u
            h[b, K - 1, j] = v.conjugate()
            h[b, K, j] = X[b, j].conjugate()
    return adv, steady


@njit(cache=True)
def adaptive_mask(m, power, level, from_bin, weight, post, k, start, lo, hi, post_span, mask_floor, level_floor):
    """NumpyFrame._adaptive (adaptive_mask, enhancer_gain.py) for one frame of rows: m, power (B, bins); level (B, 2)
    updated in place; the scalars are the config's, derived per frame by the caller. -> the floored mask (B, bins)."""
    B, nb = m.shape
    out = np.empty_like(m)
    for b in range(B):
        e0 = 0.0
        e1 = 0.0
        for j in range(from_bin, nb):
            mb, pb = m[b, j], power[b, j]
            e0 += mb * mb * pb
            e1 += (1 - mb) * (1 - mb) * pb
        level[b, 0] += weight * (e0 - level[b, 0])
        level[b, 1] += weight * (e1 - level[b, 1])
        lg0 = math.log10(max(level[b, 0], level_floor))
        lg1 = math.log10(max(level[b, 1], level_floor))
        floor = min(max(start + k * (lg1 - lg0), lo), hi)
        if post:
            bb = floor * post
            floor = floor * post_span + mask_floor
            for j in range(nb):
                mj = m[b, j]
                sin2 = math.sin(mj * (math.pi / 2)) ** 2
                mj = (1 + bb) * mj * sin2 / max(sin2 + bb, 1e-12)
                out[b, j] = mj + floor * (1 - mj)
        else:
            for j in range(nb):
                out[b, j] = m[b, j] + floor * (1 - m[b, j])
    return out


@njit(cache=True)
def deep_filter(Y, logits, frames, P, nb, K, off):
    """NumpyFrame._filter's deep filter, in place on the masked spectrum Y (B, bins) complex: each of the lowest df
    bins gets its K taps (tanh of the head's outputs after the mask and the speech probability, real/imaginary
    interleaved per bin and tap) on the last K frames (B, T, df) complex, and where off >= 0 one more tap at the
    head's outputs off.. on P (B, df), the bins one pitch period back."""
    B, T, df = frames.shape
    for b in range(B):
        for j in range(df):
            acc = Y[b, j]
            for t in range(K):
                c = nb + 1 + 2 * (j * K + t)
                acc += complex(math.tanh(logits[b, c]), math.tanh(logits[b, c + 1])) * frames[b, T - K + t, j]
            if off >= 0:
                acc += complex(math.tanh(logits[b, off + 2 * j]), math.tanh(logits[b, off + 2 * j + 1])) * P[b, j]
            Y[b, j] = acc


@njit(cache=True)
def pitch_pick(x, corr, W, floor_ratio, tie):
    """pitch_frame_np's search after its correlations: x (B, L + W) float64, corr (B, J) the frame's correlation with
    each earlier window (j = 0: L samples back) -> the chosen windows (B, W) and their normalized correlation (B,),
    the longest lag within `tie` of the best (the smallest j), energies by running sums floored at floor_ratio of the
    segment's (enhancer_pitch.py)."""
    B, n = x.shape
    J = corr.shape[1]
    L = n - W
    lagged = np.empty((B, W))
    best = np.empty(B)
    sq = np.empty(n + 1)
    r = np.empty(J)
    for b in range(B):
        sq[0] = 0.0
        for i in range(n):
            sq[i + 1] = sq[i] + x[b, i] * x[b, i]
        floor = sq[n] * floor_ratio
        ef = max(sq[n] - sq[L], floor)
        top = -np.inf
        for j in range(J):
            r[j] = corr[b, j] / math.sqrt(max(sq[W + j] - sq[j], floor) * ef + 1e-9)
            top = max(top, r[j])
        j = 0
        while r[j] < top - tie:
            j += 1
        lagged[b] = x[b, j : j + W]
        best[b] = r[j]
    return lagged, best
