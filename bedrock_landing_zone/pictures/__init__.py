"""Renderers that read a cloud assembly only (the architecture diagram, the dashboard preview)
and their shared SVG helpers. Standard library only: no CDK, no jsii.

* ``assembly``: reads ``cdk.out`` (manifest, templates, tree) and resolves references;
* ``intrinsics``: template values as text (intrinsic functions as ``${...}`` placeholders);
* ``svg``: what both pictures share in SVG: text measuring and wrapping, fonts, text CSS,
  escaping, elements and the document;
* ``architecture``: the architecture diagram (model, layout, render; ``python -m``);
* ``dashboard_preview``: the CloudWatch dashboards as SVG (``python -m``).
"""
