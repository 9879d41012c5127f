"""Reading the Cabinet Office's published sheets (個票) into proposals: pure text → models."""

from .reader import ReadResult, Sheet, SheetProblem, read_sheets

__all__ = ["ReadResult", "Sheet", "SheetProblem", "read_sheets"]
