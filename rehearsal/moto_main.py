"""``python -P rehearsal/moto_main.py MODELS_FILE [moto_server options]``: moto's server, for the
rehearsal (``rehearsal/server.py`` starts it in place of the ``moto_server`` script).

Three differences from ``moto_server``, none changing what moto answers:

1. Before it serves, it imports moto's CloudFormation model map (every resource type moto can
   deploy) and writes it to ``MODELS_FILE`` as JSON (``model_map``: type -> whether moto
   applies an update to it). moto imports that map
   anyway, on the first CloudFormation request; the rehearsal's coverage check and its update
   report read the file instead of importing the same map in their own process (about 2 s of
   CPU).
2. moto 5.2.5 parses every template it receives with PyYAML's pure-Python loader, JSON
   included (``yaml.load(..., Loader=yaml.Loader)``, falling back to ``json.loads`` only on a
   YAML error): about 0.05 s of CPU per 30 kB of template, several times per stack. Here a
   template that is valid JSON (every template the CDK writes) is read by ``json.loads``, which
   gives the same dictionary (JSON is YAML's subset as PyYAML reads it: the same strings, numbers,
   booleans and nulls); anything else still goes to PyYAML with moto's loader.

3. moto 5.2.5 lists its own package's folders (``os.listdir`` and an ``isdir`` per entry, some
   170 system calls) twice per request, to ask whether the Host header names a service
   (``backends.list_of_moto_modules`` in ``DomainDispatcherApplication.get_backend_for_host``):
   about 1 ms of CPU each time, over 1 s per rehearsal. Here the list is made once
   (``cache_module_list``); the installed package does not change while the server runs.

Standard library and moto only, and run with ``-P`` (the script's folder is not put on
``sys.path``), so that none of the rehearsal's own modules shadows a top-level one.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any


class _JsonFirstYaml:
    """The ``yaml`` module as moto's CloudFormation modules see it, with a JSON-first ``load``."""

    def __init__(self, yaml_module: Any) -> None:
        self._yaml = yaml_module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._yaml, name)

    def load(self, stream: Any, Loader: Any) -> Any:  # PyYAML's own keyword
        if isinstance(stream, str | bytes):
            try:
                return json.loads(stream)
            except ValueError:
                pass
        return self._yaml.load(stream, Loader=Loader)


def model_map() -> dict[str, bool]:
    """Each resource type moto's CloudFormation models, and whether moto applies an update to it
    (its model implements ``update_from_cloudformation_json``). Imports every moto service
    that has a model: seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from moto.cloudformation.parsing import get_model_map  # noqa: PLC0415

    applies = {}
    for resource_type, model in sorted(get_model_map().items()):
        method = getattr(model, "update_from_cloudformation_json", None)
        applies[resource_type] = method is not None and not getattr(
            method, "__isabstractmethod__", False
        )
    return applies


def cache_module_list() -> tuple[str, ...]:
    """Make ``moto.backends.list_of_moto_modules`` answer from a list made once."""
    from moto import backends  # noqa: PLC0415

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    return modules


def prepare(models_file: Path) -> dict[str, bool]:
    """Import moto's CloudFormation modules, read templates JSON-first, list moto's service
    folders once, write the model map."""
    cache_module_list()
    models = model_map()
    from moto.cloudformation import models as cloudformation_models  # noqa: PLC0415
    from moto.cloudformation import responses  # noqa: PLC0415

    for module in (cloudformation_models, responses):
        module.yaml = _JsonFirstYaml(module.yaml)  # type: ignore[attr-defined]
    models_file.write_text(json.dumps(models), encoding="utf-8")
    return models


def main(argv: list[str]) -> None:
    models_file, *server_args = argv
    prepare(Path(models_file))
    from moto.server import main as moto_server  # noqa: PLC0415

    moto_server(server_args)


if __name__ == "__main__":
    main(sys.argv[1:])
