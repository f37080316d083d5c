"""The average-cost walk behind positions' P&L."""

from __future__ import annotations

import pytest

from market.pnl import walk


@pytest.mark.parametrize(
    ("trades", "expected"),
    [
        ([(2, 200), (-1, -150)], (1, 100, 50)),  # half a long sold at a profit
        ([(-2, -200), (1, 80)], (-1, -100, 20)),  # half a short bought back cheaper
        ([(2, 200), (-3, -450)], (-1, -150, 100)),  # a sell through zero opens a short at its price
        ([(1, 100), (-1, -90)], (0, 0, -10)),  # closed at a loss: flat, nothing open
        ([(1, 100), (1, 130), (-1, -130)], (1, 115, 15)),  # the average, not the last, is closed
    ],
)
def test_average_cost_walk(trades: list[tuple[int, int]], expected: tuple[int, int, int]) -> None:
    assert walk(trades) == expected
