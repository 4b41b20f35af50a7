"""Compiled (numba) loops: a one-pass mask survey of two volumes, and on a block of slices the offset
joint histograms and the intersection statistics.

The block loops work on the cropped, padded blocks of `mrsynth.qc.stack.SliceBlock` (float32
images, bool masks, C-contiguous, k padding slices on both ends, a one-pixel in-plane rim no mask
reaches) and fill rows z0..z1-1 of a per-slice output, so threads can share one output. In-plane
they visit only rows r0..r1-1 and columns c0..c1-1 (a box holding every masked voxel of those
slices). Arithmetic follows the per-slice reference: binning in float32 exactly as
`mrsynth.qc.mi` states, sums in float64. Compiled on first import, then cached beside this file
(about 15 s of CPU once per checkout; loading the cache takes about 0.5 s).

Inner loops index only with loop counters or unsigned positions: a possibly negative index costs
a wrap-around test per access and stops vectorisation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

_IMAGES, _MASKS = (types.Array(dtype, 3, "C", readonly=True) for dtype in (types.float32, types.boolean))
_BLOCK = (_IMAGES, _IMAGES, _MASKS, _MASKS)  # read-only accepts writeable arrays too
_RANGE = (types.intp,) * 7  # z0, z1, r0, r1, c0, c1, k
_KERNEL = {"nogil": True, "cache": True}
_SUMS = {"reassoc", "contract"}  # float64 sums in any order: exact-enough, and vectorised
_inline = njit(nogil=True, cache=True, inline="always")
_INT32_MAX = np.int32(0x7FFFFFFF)
_COPIES = 4
"""Interleaved histogram copies: consecutive voxels in the same cell do not wait on each other."""


@_inline
def _order_key(bits):
    """Integer with the order of the finite float32 whose bits these are (an involution): min/max on ints vectorise."""
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


@_inline
def _masked_positions(mask, r0, r1, c0, c1, out):
    """Flat in-plane positions of the True pixels of one slice within the box, written to `out`; their count."""
    width, count = mask.shape[1], 0
    for i in range(r0, r1):
        row, start = mask[i, c0:c1], i * width + c0
        for j in range(row.size):  # branch-free compaction
            out[count] = start + j
            count += row[j]
    return count


@_inline
def _bin_scale(low, high, bins):
    """float32 bins / (high - low), 0 for a constant image (every voxel in bin 0)."""
    return np.float32(bins) / (high - low) if high > low else np.float32(0.0)


@_inline
def _float_bounds(xs, ys):
    """float32 [min x, max x, min y, max y] of two equally long arrays."""
    x_keys, y_keys = xs.view(np.int32), ys.view(np.int32)
    x_low, x_high, y_low, y_high = _INT32_MAX, -_INT32_MAX, _INT32_MAX, -_INT32_MAX
    for q in range(xs.size):  # selects, not min(): this form vectorises
        u, v = _order_key(x_keys[q]), _order_key(y_keys[q])
        x_low = u if u < x_low else x_low
        x_high = u if u > x_high else x_high
        y_low = v if v < y_low else y_low
        y_high = v if v > y_high else y_high
    bits = np.empty(4, np.int32)
    bits[0], bits[1], bits[2], bits[3] = x_low, x_high, y_low, y_high
    for q in range(4):
        bits[q] = _order_key(bits[q])
    return bits.view(np.float32)


@_inline
def _count_cells(xs, ys, bins, cells, hist):
    """Add the (bin of x, bin of y) cell of each pair to `hist`, each side binned between its own min and max."""
    bounds = _float_bounds(xs, ys)
    x_scale, y_scale = _bin_scale(bounds[0], bounds[1], bins), _bin_scale(bounds[2], bounds[3], bins)
    top = bins - 1
    for q in range(xs.size):
        i = min(np.intp((xs[q] - bounds[0]) * x_scale), top)
        j = min(np.intp((ys[q] - bounds[2]) * y_scale), top)
        cells[q] = i * bins + j
    for q in range(xs.size):
        hist[q % _COPIES, cells[q]] += 1


@njit(types.void(*_BLOCK, *_RANGE, types.intp, types.int64[:, :, :, ::1]), **_KERNEL)
def joint_counts(src, tgt, src_mask, tgt_mask, z0, z1, r0, r1, c0, c1, k, bins, out):
    """out[z, c] = (bins, bins) counts of (source bin, target bin) of block slice z+k against z+c, c = 0..2k.

    Over the voxels in both masks, each image binned between its own min and max there.
    """
    plane = src.shape[1] * src.shape[2]
    positions = np.empty(plane, np.uintp)
    sources, xs, ys = np.empty(plane, np.float32), np.empty(plane, np.float32), np.empty(plane, np.float32)
    cells = np.empty(plane, np.uintp)
    hist = np.zeros((_COPIES, bins * bins), np.int64)
    for z in range(z0, z1):
        source = src[z + k].ravel()
        candidates = _masked_positions(src_mask[z + k], r0, r1, c0, c1, positions)
        for q in range(candidates):
            sources[q] = source[positions[q]]
        for c in range(2 * k + 1):
            target, target_mask = tgt[z + c].ravel(), tgt_mask[z + c].ravel()
            count = 0
            for q in range(candidates):  # branch-free compaction of the voxels in both masks
                p = positions[q]
                xs[count], ys[count] = sources[q], target[p]
                count += target_mask[p]
            hist[:] = 0
            if count:
                _count_cells(xs[:count], ys[:count], bins, cells, hist)
            out[z, c] = hist.sum(axis=0).reshape(bins, bins)


@_inline
def _sobel_magnitude(up, mid, down, j):
    """|gradient| of `skimage.filters.sobel` at column j+1 of row `mid`, times a constant (4·sqrt(2)), in float64."""
    across = (np.float64(up[j + 2]) - up[j]) + 2.0 * (np.float64(mid[j + 2]) - mid[j])
    across += np.float64(down[j + 2]) - down[j]
    along = (np.float64(down[j]) - up[j]) + 2.0 * (np.float64(down[j + 1]) - up[j + 1])
    along += np.float64(down[j + 2]) - up[j + 2]
    return np.sqrt(across * across + along * along)


@_inline
def _pearson(n, sx, sy, sxx, syy, sxy, constant):
    """Pearson r from sums about a pivot; NaN when either side is constant (variance ≤ constant·Σ²)."""
    if n < 2:
        return np.nan
    vx, vy = sxx - sx * sx / n, syy - sy * sy / n
    if not (vx > constant * sxx and vy > constant * syy):
        return np.nan
    return min(max((sxy - sx * sy / n) / np.sqrt(vx * vy), -1.0), 1.0)


@_inline
def _pivot(a, b, a_mask, b_mask, r0, r1, c0, c1):
    """(x, y, |∇x|, |∇y|) at the first box pixel in both masks; zeros when there is none."""
    for i in range(r0, r1):
        for j in range(c0, c1):
            if a_mask[i, j] and b_mask[i, j]:
                rows_a, rows_b = a[i - 1 : i + 2, j - 1 : j + 2], b[i - 1 : i + 2, j - 1 : j + 2]
                return (np.float64(a[i, j]), np.float64(b[i, j]),
                        _sobel_magnitude(rows_a[0], rows_a[1], rows_a[2], 0),
                        _sobel_magnitude(rows_b[0], rows_b[1], rows_b[2], 0))
    return 0.0, 0.0, 0.0, 0.0


@njit(types.void(*_BLOCK, *_RANGE, types.float64, types.float64[:, ::1]), fastmath=_SUMS, **_KERNEL)
def intersection_stats(src, tgt, src_mask, tgt_mask, z0, z1, r0, r1, c0, c1, k, constant, out):
    """out[z] = (source mask voxels, target mask voxels, voxels in both, ncc, edge_corr) of block slice z+k.

    Sums run over the whole box with each pixel weighted 1 inside both masks and 0 outside
    (branch-free, so they vectorise), about the values at the first such pixel (a pivot), so one
    pass loses no precision. Box pixels on the block's rim are skipped: no mask reaches it.
    """
    r0, r1, c0, c1 = max(r0, 1), min(r1, src.shape[1] - 1), max(c0, 1), min(c1, src.shape[2] - 1)
    for z in range(z0, z1):
        a, b, a_mask, b_mask = src[z + k], tgt[z + k], src_mask[z + k], tgt_mask[z + k]
        px, py, pgx, pgy = _pivot(a, b, a_mask, b_mask, r0, r1, c0, c1)
        n_a = n_b = n = sx = sy = sxx = syy = sxy = gx = gy = gxx = gyy = gxy = 0.0
        for i in range(r0, r1):
            # rows with one column either side, so column j of the box is index j+1
            a_up, a_mid, a_down = a[i - 1, c0 - 1 : c1 + 1], a[i, c0 - 1 : c1 + 1], a[i + 1, c0 - 1 : c1 + 1]
            b_up, b_mid, b_down = b[i - 1, c0 - 1 : c1 + 1], b[i, c0 - 1 : c1 + 1], b[i + 1, c0 - 1 : c1 + 1]
            a_row, b_row = a_mask[i, c0:c1], b_mask[i, c0:c1]
            for j in range(a_row.size):
                weight = np.float64(a_row[j] & b_row[j])  # sums of 0/1 in float64: exact counts
                n_a += a_row[j]
                n_b += b_row[j]
                n += weight
                x, y = (a_mid[j + 1] - px) * weight, (b_mid[j + 1] - py) * weight
                ex = (_sobel_magnitude(a_up, a_mid, a_down, j) - pgx) * weight
                ey = (_sobel_magnitude(b_up, b_mid, b_down, j) - pgy) * weight
                sx += x
                sy += y
                sxx += x * x
                syy += y * y
                sxy += x * y
                gx += ex
                gy += ey
                gxx += ex * ex
                gyy += ey * ey
                gxy += ex * ey
        out[z, 0], out[z, 1], out[z, 2] = n_a, n_b, n
        out[z, 3] = _pearson(n, sx, sy, sxx, syy, sxy, constant)
        out[z, 4] = _pearson(n, gx, gy, gxx, gyy, gxy, constant)


@njit([types.void(volume, volume, types.intp, types.int64[::1], types.boolean[:, ::1]) for volume in (_IMAGES, _MASKS)],
      **_KERNEL)
def mask_survey(a, b, axis, both, plane):
    """One pass in memory order over two volumes (non-zero = in the mask): voxels in both per index along
    `axis` into `both`, and whether either mask uses each in-plane pixel (the other two axes, in order) into `plane`.
    """
    both[:] = 0
    plane[:, :] = False
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            row_a, row_b = a[i, j], b[i, j]
            if axis == 2:
                for q in range(row_a.size):
                    both[q] += (row_a[q] != 0) & (row_b[q] != 0)
                for q in range(row_a.size):
                    if (row_a[q] != 0) | (row_b[q] != 0):
                        plane[i, j] = True
                        break
            else:
                hits, out = 0, plane[j] if axis == 0 else plane[i]
                for q in range(row_a.size):
                    hits += (row_a[q] != 0) & (row_b[q] != 0)
                    out[q] |= (row_a[q] != 0) | (row_b[q] != 0)
                both[i if axis == 0 else j] += hits
