"""Reading the Cabinet Office's published sheets (個票) into proposals: pure text → models."""

from kb.importer.sheets.reader import ReadResult, Sheet, read_sheets

__all__ = ["ReadResult", "Sheet", "read_sheets"]
