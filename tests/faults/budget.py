"""How many cases the fuzz and fault suites run: full size by default, scaled by TOURLINK_FUZZ_SCALE
and TOURLINK_FAULT_SCALE (e.g. 0.2 on a slow runner, 1 in CI when it fits the budget; see
docs/contributing.md). Never below a floor, so a scaled-down run still exercises every kind of case."""

from __future__ import annotations

import os


def _scale(name: str) -> float:
    value = os.environ.get(name, "1")
    try:
        scale = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: give a number, e.g. 0.2 or 1") from None
    if scale <= 0:
        raise ValueError(f"{name}={value!r}: give a number above 0")
    return scale


def fuzz_cases(full: int, floor: int = 50) -> int:
    """Cases of one generated-input fuzz test."""
    return max(floor, round(full * _scale("TOURLINK_FUZZ_SCALE")))


def fault_repeats(full: int, floor: int = 1) -> int:
    """Repeats of one fault matrix (each repeat injects every fault of the matrix once more)."""
    return max(floor, round(full * _scale("TOURLINK_FAULT_SCALE")))
