"""CSV cells a spreadsheet shows as text: the site's rule for every CSV it writes itself.

A cell starting with = + - @ (or tab / CR) would run as a formula in Excel (CSV injection);
a leading ' makes it text. JSON keeps values as they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with a leading ' when it is text that starts like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
