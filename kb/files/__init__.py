"""Proposal files: Markdown with YAML front matter ⇄ `Proposal` (parse, render, check, fmt, store)."""

from kb.files.check import CheckResult, check_paths
from kb.files.parse import parse_document, parse_file, parse_lenient, parse_text
from kb.files.render import render

__all__ = ["CheckResult", "check_paths", "parse_document", "parse_file", "parse_lenient", "parse_text", "render"]
