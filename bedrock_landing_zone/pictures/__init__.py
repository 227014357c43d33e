"""Renderers that read a cloud assembly only (the architecture diagram, the dashboard preview)
and their shared SVG helpers. Standard library only: no CDK, no jsii."""
