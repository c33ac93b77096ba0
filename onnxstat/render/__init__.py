"""Outputs: terminal tables, JSON/CSV/Markdown, the HTML report, plots, annotated models."""
