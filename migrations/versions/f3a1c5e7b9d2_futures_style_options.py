"""futures-style options: record the premium-style option cash of existing positions as variation

Options were premium-style (the buyer paid the premium at the trade, an Asian option's payoff was
paid at settlement) and their positions' ``variation_micros`` stayed 0. From this revision every
option is futures-style: ``variation_micros`` is the cash the position has received over its life,
and the next clearing pass pays ``qty x value x GPU-hours - cost - variation``. So each existing
option position records what it really received: ``-cost`` (the premium it paid or, written,
received), plus, for a settled Asian option, the payoff it was paid. An open position's next pass
then pays the holder the option's value from the writer, after which both sides are settled to the
marks like every new position. Data only; no schema change.

Revision ID: f3a1c5e7b9d2
Revises: a9d3f1b7c254
Create Date: 2026-12-01 01:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f3a1c5e7b9d2"
down_revision: str | None = "a9d3f1b7c254"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = "SELECT symbol FROM instruments WHERE kind IN ('option', 'asian')"
_ASIAN_PAYOFF = """
    SELECT CASE
        WHEN i.option_kind = 'call' AND i.settle_price_micros > i.strike_ticks * i.tick_micros
            THEN i.settle_price_micros - i.strike_ticks * i.tick_micros
        WHEN i.option_kind = 'put' AND i.settle_price_micros < i.strike_ticks * i.tick_micros
            THEN i.strike_ticks * i.tick_micros - i.settle_price_micros
        ELSE 0 END
        * i.lot_gpus * ((i.window_end_us - i.window_start_us) / 3600000000)
    FROM instruments i
    WHERE i.symbol = positions.symbol AND i.kind = 'asian' AND i.status = 'settled'
"""


def upgrade() -> None:
    op.execute(f"UPDATE positions SET variation_micros = -cost_micros WHERE symbol IN ({_OPTIONS})")
    op.execute(
        f"UPDATE positions SET variation_micros = variation_micros + qty * ({_ASIAN_PAYOFF}) "
        "WHERE symbol IN (SELECT symbol FROM instruments WHERE kind = 'asian' AND status = 'settled')"
    )


def downgrade() -> None:
    op.execute(f"UPDATE positions SET variation_micros = 0 WHERE symbol IN ({_OPTIONS})")
