"""全国地方公共団体コード: 5 digits and a check digit that catches a mistyped code."""

from __future__ import annotations

import re

CODE_RE = re.compile(r"^\d{6}$")
WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first_five: str) -> int:
    """S = 6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5; check = (11 − S mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(first_five, WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_valid_code(code: str) -> bool:
    """Six digits whose last one is the check digit of the first five."""
    return bool(CODE_RE.match(code)) and check_digit(code[:5]) == int(code[5])
