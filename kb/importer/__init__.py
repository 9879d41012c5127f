"""`kb import`: the Cabinet Office's sheets (text or PDF) → proposal files, merged with what is there."""

from kb.importer.merge import ImportReport, plan_import, run_import

__all__ = ["ImportReport", "plan_import", "run_import"]
