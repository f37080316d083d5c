"""The Brownian bridge is an orthogonal change of coordinates: exact in law, whatever the grid."""

from __future__ import annotations

import numpy as np
import pytest

from pricing.montecarlo.bridge import BrownianBridge


@pytest.mark.parametrize(
    "times",
    [np.linspace(1 / 12, 1.0, 12), np.array([0.001, 0.002, 0.5, 0.51, 3.0]), np.arange(1, 366) / 365.0],
    ids=["monthly", "uneven", "daily"],
)
def test_bridge_increments_are_independent_standard_normals(times: np.ndarray) -> None:
    """Column j holds the increments driven by coordinate j alone; iid N(0, 1) increments need
    the map to be orthogonal."""
    matrix = BrownianBridge(times).increments(np.eye(times.size))
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(times.size), atol=1e-12)


def test_first_coordinate_fixes_the_terminal_value() -> None:
    times = np.array([0.1, 0.25, 0.7, 1.3])
    unit = np.zeros((times.size, 1))
    unit[0] = 1.0
    increments = BrownianBridge(times).increments(unit)[:, 0]
    path = np.cumsum(increments * np.sqrt(np.diff(times, prepend=0.0)))
    np.testing.assert_allclose(path, np.sqrt(times[-1]) * times / times[-1], atol=1e-14)


def test_a_fixing_at_time_zero_gets_no_randomness() -> None:
    times = np.array([0.0, 0.5, 1.0])
    matrix = BrownianBridge(times).increments(np.eye(3))
    np.testing.assert_array_equal(matrix[0], 0.0)
    np.testing.assert_allclose(matrix[1:] @ matrix[1:].T, np.eye(2), atol=1e-12)
