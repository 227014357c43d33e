"""Draw the architecture of a synthesized CDK app as one SVG picture.

The picture is generated from the cloud assembly, never drawn by hand, so it cannot drift from
the code::

    python -m bedrock_landing_zone.pictures.architecture cdk.out docs/architecture.svg

What is drawn first is the request path, in the order a request uses it (caller, ``execute-api``
VPC endpoint, private REST API, function, ``bedrock-runtime`` VPC endpoint, Amazon Bedrock,
guardrail, invocation logs), the VPC as a boundary around what is in it. Below it, the stacks
and their supporting resources: one box per stack in columns by dependency level, one box per
top-level construct, one row per main resource (low-level resources counted, not drawn), and
the arrows derived from the templates: cross-stack references and flows between resources.

One module per step, each using only those before it:

* ``pictures.assembly``: reads ``cdk.out`` (manifest, templates, tree) into an ``Assembly`` and
  resolves the references between its resources (shared with the dashboard preview's reading
  of template values, ``pictures.intrinsics``);
* ``model``: what the diagram shows (``Diagram``, ``Row``, ``Flow``, ``RequestPath``...) and the
  classification of resource types; data only;
* ``resources``, ``request_path``, ``diagram``: the model of an assembly: the stacks section's
  rows and flows, the request path, and ``diagram.analyze`` that puts them together;
* ``layout``: where everything goes, in pixels (boxes, arrow routes, lanes); no SVG;
* ``render``: writes the SVG (``render.render_svg``) with the shared helpers of ``pictures.svg``;
* ``cli``: the command line (``__main__`` runs it).

The output is deterministic: the same assembly gives byte-identical SVG (no timestamps, no
paths of the input directory, stable ordering). Standard library only (no CDK import).
"""
