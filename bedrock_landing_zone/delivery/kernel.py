"""How the app starts the CDK's Node.js process (the jsii kernel) when it runs as a script.

``app.py`` calls ``limit_kernel_threads`` before it imports ``aws_cdk``, whose import starts the
kernel (so does ``bench/synth_breakdown.py``'s child that times app.py step by step), then
``import_in_background`` so that the kernel's start overlaps the app's pure-Python imports.
Imported alone, this module changes nothing and starts no kernel (standard library only).
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

__all__ = ["KERNEL_V8_POOL_SIZE", "import_in_background", "limit_kernel_threads"]

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


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except BaseException:  # the caller's own import of it raises the error again
            return


def import_in_background(*modules: str) -> threading.Thread | None:
    """Import ``modules`` in a thread while the caller imports others: ``aws_cdk`` starts the jsii
    kernel and loads the CDK's assemblies, ``cdk_nag`` its own, both work Node.js does while this
    thread waits, so the caller's pure-Python imports (pydantic, the config models, the CDK's
    Python bindings) run meanwhile. An import of one of ``modules`` in the caller waits for the
    thread's (Python's per-module import lock); requests to the kernel from both threads go one
    at a time (a lock around jsii's ``_NodeProcess.send``). None, importing nothing, when the
    installed jsii lacks that method."""
    try:
        from jsii._kernel.providers import process as kernel_process  # noqa: PLC0415
    except ImportError:
        return None
    node_process = getattr(kernel_process, "_NodeProcess", None)
    send = getattr(node_process, "send", None)
    if node_process is None or send is None:
        return None
    lock = threading.RLock()

    def one_at_a_time(self: Any, request: Any, response_type: Any) -> Any:
        with lock:
            return send(self, request, response_type)

    node_process.send = one_at_a_time
    thread = threading.Thread(target=_import_all, args=(modules,), name="cdk-imports", daemon=True)
    thread.start()
    return thread
