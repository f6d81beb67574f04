"""The content domain's vocabulary: tiers and signal periods."""

from __future__ import annotations

from typing import Literal

Tier = Literal["seed", "sprout", "sapling", "tree", "grove"]
TIERS: tuple[str, ...] = ("seed", "sprout", "sapling", "tree", "grove")
SignalPeriod = Literal["all_time", "last_30d", "last_7d"]
