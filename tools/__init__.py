"""Operational scripts (run from the repository root, e.g. ``python3 tools/smoke.py``)."""
