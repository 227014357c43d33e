"""How the app starts the CDK's Node.js process (the jsii kernel) when it runs as a script.

``app.py`` calls ``limit_kernel_threads`` before it imports ``aws_cdk``, whose import starts the
kernel; so does ``bench/synth_breakdown.py``'s child that times app.py step by step. Imported
alone, this module changes nothing and starts no kernel (standard library only).
"""

from __future__ import annotations

import os

__all__ = ["KERNEL_V8_POOL_SIZE", "limit_kernel_threads"]

#: How many threads V8 may use for its background jobs in the jsii kernel (Node.js CLI docs,
#: `--v8-pool-size=num`: "Set V8's thread pool size which will be used to allocate background
#: jobs"; one of the options NODE_OPTIONS accepts). Node.js starts four. In a synth they do
#: concurrent garbage-collector marking and optimizing compiles of the CloudFormation validation
#: engine's WebAssembly, most of which the short-lived kernel never gets to use. With one thread,
#: in interleaved runs on two cores, a synth of the default environment took 0.5-0.9 s less wall
#: time and 0.9-1.9 s less CPU time (`cdk synth` and `python app.py`, 6-7 rounds each); the
#: kernel's main thread does the same work, the templates are the same.
KERNEL_V8_POOL_SIZE = 1


def limit_kernel_threads(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Start the jsii kernel with ``KERNEL_V8_POOL_SIZE`` V8 background threads: adds
    ``--v8-pool-size`` to ``NODE_OPTIONS``, which jsii's kernel (Node.js) reads from the
    environment it inherits. Leaves a pool size set there already alone (returns False)."""
    options = environ.get("NODE_OPTIONS", "")
    if "--v8-pool-size" in options:
        return False
    environ["NODE_OPTIONS"] = f"{options} --v8-pool-size={KERNEL_V8_POOL_SIZE}".strip()
    return True
