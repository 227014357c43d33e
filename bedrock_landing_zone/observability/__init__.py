"""Dashboards, alarms and the metric catalog they are built from."""
