"""Brownian bridge construction of Gaussian increments on an arbitrary time grid.

Quasi-random points are most uniform in their first coordinates, so the bridge spends them on the
coarsest features of the path: the first coordinate fixes W(t_n) = sqrt(t_n) Z, and each following
one fills the midpoint (by index) of an interval whose ends are known, breadth first:

    W(t_m) = ((t_r - t_m) W(t_l) + (t_m - t_l) W(t_r)) / (t_r - t_l)
             + sqrt((t_m - t_l)(t_r - t_m) / (t_r - t_l)) Z.

The normalised increments (W(t_i) - W(t_(i-1))) / sqrt(t_i - t_(i-1)) are again independent standard
normals, so the bridge changes which coordinate drives which feature but not the law: every model
consumes them through its exact transitions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class BrownianBridge:
    """A precomputed bridge schedule for one time grid (times strictly increasing, t_0 >= 0)."""

    def __init__(self, times: NDArray[np.float64]) -> None:
        n = times.size
        self._steps = np.diff(times, prepend=0.0)
        self._schedule: list[tuple[int, int, int, float, float, float]] = []
        t_end = times[-1]
        self._schedule.append((n - 1, -1, -1, 0.0, 0.0, float(np.sqrt(t_end))))
        intervals = [(-1, n - 1)]
        while intervals:
            finer = []
            for left, right in intervals:
                if right - left < 2:
                    continue
                mid = (left + right + 1) // 2
                t_l = times[left] if left >= 0 else 0.0
                t_m, t_r = times[mid], times[right]
                span = t_r - t_l
                self._schedule.append(
                    (
                        mid,
                        left,
                        right,
                        (t_r - t_m) / span,
                        (t_m - t_l) / span,
                        float(np.sqrt((t_m - t_l) * (t_r - t_m) / span)),
                    )
                )
                finer += [(left, mid), (mid, right)]
            intervals = finer

    def increments(self, normals: NDArray[np.float64]) -> NDArray[np.float64]:
        """Normalised increments (steps, paths) from normals (steps, paths) in bridge order."""
        level = np.empty_like(normals)
        for k, (target, left, right, w_left, w_right, sd) in enumerate(self._schedule):
            row = np.multiply(normals[k], sd, out=level[target])
            if left >= 0:
                row += w_left * level[left]
            if right >= 0:
                row += w_right * level[right]
        increments = np.empty_like(level)
        increments[0] = level[0]
        np.subtract(level[1:], level[:-1], out=increments[1:])
        scale = np.sqrt(self._steps)
        np.divide(increments, scale[:, None], out=increments, where=scale[:, None] > 0.0)
        increments[scale == 0.0] = 0.0
        return increments
