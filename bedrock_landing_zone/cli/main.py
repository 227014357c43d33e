"""``bedrock-lz``: the landing zone's command line (also ``python -m bedrock_landing_zone``).

Commands:

- ``bedrock-lz doctor -c env=NAME [--config-dir DIR] [--profile P] [--region R]``: read-only
  readiness check of the AWS account for one environment (see ``bedrock_landing_zone.cli.doctor``).
  Exit status 0 when nothing would stop a deployment, 1 when a check failed, 2 for a usage,
  configuration or credentials problem.
- ``bedrock-lz invoke ...``: run the inference handler locally against a stubbed Bedrock; every
  argument is passed to ``bedrock_inference.local.main`` (the inference runtime package shipped
  beside this one). It needs the runtime extra, ``pip install 'bedrock-landing-zone[runtime]'``.
- ``bedrock-lz serve --caller-arn ARN ...``: the inference API on 127.0.0.1 (the OpenAI-compatible
  routes included), each HTTP request turned into the API Gateway event the function receives and
  answered by the real handler against a stubbed Bedrock; every argument is passed to
  ``bedrock_inference.serve.main``. Same runtime extra as ``invoke``.

- ``bedrock-lz report CDK_OUT OUTPUT.md``, ``bedrock-lz diagram CDK_OUT OUTPUT.svg``,
  ``bedrock-lz preview CDK_OUT DIR``: the compliance evidence, the architecture diagram and the
  dashboard preview of any cloud assembly (``make report``, ``make diagram`` and
  ``make dashboard-preview`` run the same modules); they read JSON only.

A command that takes its own arguments (``invoke``, ``serve``, ``report``, ``diagram``,
``preview``) is listed in ``PASS_THROUGH``: everything after its name goes to it unparsed.

Nothing here imports the CDK (the package ``__init__`` is lazy), and boto3 and the configuration's
models are imported by ``doctor`` only, so the commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bedrock_landing_zone.base.assets import LAMBDA_ROOT

#: The program name in every usage and help text (the console script of the wheel).
PROG = "bedrock-lz"
#: The extra that installs what the inference runtime imports besides the core dependencies.
RUNTIME_EXTRA = "bedrock-landing-zone[runtime]"
#: Top-level modules of the runtime extra (``pyproject.toml``, ``[project.optional-dependencies]``).
RUNTIME_MODULES = frozenset({"aws_lambda_powertools"})
#: Where the inference runtime package (``bedrock_inference``) lives, installed or in the repo.
INFERENCE_PACKAGE_DIR = LAMBDA_ROOT / "inference"
DEFAULT_ENV = "default"  # as app.py: `cdk synth` without `-c env=` uses config/default.yaml
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def credential_errors() -> tuple[type[Exception], ...]:
    """Errors meaning "no usable credentials": a clear message and exit status 2, not a
    traceback (botocore is imported by the commands that call AWS only)."""
    from botocore import exceptions  # noqa: PLC0415

    return (
        exceptions.NoCredentialsError,
        exceptions.PartialCredentialsError,
        exceptions.ProfileNotFound,
        exceptions.SSOTokenLoadError,
        exceptions.TokenRetrievalError,
        exceptions.UnauthorizedSSOTokenError,
        exceptions.CredentialRetrievalError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in PASS_THROUGH:  # everything after the name belongs to that command
        return PASS_THROUGH[args[0]](args[1:])
    parser = _parser()
    options = parser.parse_args(args)
    if options.command == "doctor":
        return _doctor(parser, options)
    parser.print_help(sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Bedrock landing zone tools. `bedrock-lz COMMAND --help` describes one.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="read-only readiness check of an AWS account for one environment",
        description="Check, read-only, whether an AWS account is ready for a landing zone "
        "deployment. Exit status: 0 ready, 1 a check failed, 2 usage/config/credentials error.",
    )
    doctor.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="CDK-style context; only env=NAME is used (as in `cdk synth -c env=NAME`)",
    )
    doctor.add_argument("--env", help=f"environment name (default: {DEFAULT_ENV})")
    doctor.add_argument(
        "--config-dir",
        type=Path,
        default=Path("config"),
        help="folder of the environment files, one NAME.yaml per environment (default: "
        "./config, relative to the current directory: the landing zone repository's)",
    )
    doctor.add_argument("--profile", help="AWS named profile (default: the standard chain)")
    doctor.add_argument("--region", help="check this region instead of the configured one")
    commands.add_parser(
        "invoke",
        help="run the inference handler locally against a stubbed Bedrock "
        f"(`{PROG} invoke --help`; needs {RUNTIME_EXTRA})",
        add_help=False,
    )
    commands.add_parser(
        "serve",
        help="serve the inference API (OpenAI-compatible routes included) on 127.0.0.1 in front "
        f"of the real handler and a stubbed Bedrock (`{PROG} serve --help`; needs "
        f"{RUNTIME_EXTRA})",
        add_help=False,
    )
    for name, (_, text) in PACKAGE_COMMANDS.items():
        commands.add_parser(name, help=f"{text} (`{PROG} {name} --help`)", add_help=False)
    return parser


def _environment(parser: argparse.ArgumentParser, options: argparse.Namespace) -> str:
    from_context: str | None = None
    for item in options.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-c {item!r}: write context as KEY=VALUE, e.g. -c env=default")
        if key == "env":
            from_context = value
    if options.env and from_context and options.env != from_context:
        parser.error(f"--env {options.env} and -c env={from_context} disagree: give one")
    return str(options.env or from_context or DEFAULT_ENV)


def _doctor(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    # imported here, not at the top: `bedrock-lz --help` and the other commands need neither
    # boto3 nor the configuration's models (~0.4 s of each start)
    import boto3  # noqa: PLC0415
    from botocore.exceptions import NoCredentialsError  # noqa: PLC0415

    from bedrock_landing_zone.cli import doctor  # noqa: PLC0415
    from bedrock_landing_zone.config import ConfigError, load_config  # noqa: PLC0415

    env = _environment(parser, options)
    if options.region is not None and not _REGION.fullmatch(options.region):
        parser.error(f"--region {options.region!r} is not a region name like us-east-1")
    try:
        config = load_config(env, options.config_dir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        config_dir: Path = options.config_dir
        if not any(config_dir.glob("*.yaml")):
            print(
                f"hint: {config_dir.resolve()} holds no environment files (NAME.yaml). Run "
                f"`{PROG} doctor` from the landing zone repository, or point it at its config "
                f"folder: `{PROG} doctor --config-dir PATH/TO/config -c env=NAME`.",
                file=sys.stderr,
            )
        return 2

    notes: list[doctor.CheckResult] = []
    if options.region and options.region != config.region:
        notes.append(
            doctor.CheckResult(
                "Region override",
                doctor.Status.WARN,
                f"checking {options.region} (--region), but {env!r} deploys to {config.region}",
            )
        )
        config = config.model_copy(update={"region": options.region})

    print(
        f"doctor: environment {config.name}, region {config.region}, "
        f"profile {options.profile or '(default credential chain)'}"
    )
    try:
        session = boto3.session.Session(profile_name=options.profile, region_name=config.region)
        if session.get_credentials() is None:
            raise NoCredentialsError()
        results = notes + doctor.run_checks(config, session)
    except credential_errors() as exc:
        print(
            f"error: no usable AWS credentials ({exc}). Sign in (`aws sso login`, "
            "`aws configure`) or pass --profile NAME.",
            file=sys.stderr,
        )
        return 2
    print()
    print(doctor.format_table(results))
    return doctor.exit_code(results)


def _invoke(argv: list[str]) -> int:
    return _runtime_command("invoke", "bedrock_inference.local", argv)


def _serve(argv: list[str]) -> int:
    return _runtime_command("serve", "bedrock_inference.serve", argv)


def _runtime_command(name: str, module: str, argv: list[str]) -> int:
    """Run ``main(argv)`` of a module of the inference runtime package (shipped beside this one),
    with ``bedrock-lz NAME`` in its usage line."""
    package_dir = str(INFERENCE_PACKAGE_DIR)
    if package_dir not in sys.path:
        sys.path.insert(0, package_dir)
    try:
        return _run_main(name, module, argv)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in RUNTIME_MODULES:
            print(
                f"error: `{PROG} {name}` needs the runtime extra ({missing} is not installed): "
                f"pip install '{RUNTIME_EXTRA}'",
                file=sys.stderr,
            )
            return 2
        if missing != "bedrock_inference":
            raise
        print(
            f"error: the inference runtime is missing ({exc.name} not found under "
            f"{package_dir}); reinstall bedrock-landing-zone",
            file=sys.stderr,
        )
        return 2


def _run_main(name: str, module: str, argv: list[str]) -> int:
    """``main(argv)`` of ``module``, with ``bedrock-lz NAME`` in its usage lines."""
    command: Any = importlib.import_module(module)
    if "prog" in inspect.signature(command.main).parameters:
        result = command.main(argv, prog=f"{PROG} {name}")
    else:
        result = _named_help(command.main, argv, f"{PROG} {name}")
    return result if isinstance(result, int) else 0


def _named_help(main: Callable[[list[str]], Any], argv: list[str], prog: str) -> Any:
    """``main(argv)``, with ``prog`` in the usage line of the help it prints, for a command
    whose ``main`` does not take ``prog`` yet (argparse prints help to stdout, then exits)."""
    if not {"-h", "--help"} & set(argv):
        return main(argv)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            result = main(argv)
    except SystemExit as done:
        result = done.code
    text = printed.getvalue()
    sys.stdout.write(re.sub(r"^usage: \S+", f"usage: {prog}", text, count=1))
    return result


#: Commands that run a module of this package on a cloud assembly: name -> (module, help).
#: Each reads JSON only (no CDK, no credentials), so it also serves apps other teams synthesize.
PACKAGE_COMMANDS: dict[str, tuple[str, str]] = {
    "report": (
        "bedrock_landing_zone.compliance.report",
        "write the compliance evidence of a cloud assembly (cdk-nag, checkov, cfn-lint) as "
        "Markdown",
    ),
    "diagram": (
        "bedrock_landing_zone.pictures.architecture.cli",
        "draw the architecture of a cloud assembly as one SVG file",
    ),
    "preview": (
        "bedrock_landing_zone.pictures.dashboard_preview",
        "render the CloudWatch dashboards of a cloud assembly as SVG files",
    ),
}


def _package_command(name: str) -> Callable[[list[str]], int]:
    return lambda argv: _run_main(name, PACKAGE_COMMANDS[name][0], argv)


#: Commands that parse their own arguments: name -> handler of the arguments after the name.
PASS_THROUGH: dict[str, Callable[[list[str]], int]] = {
    "invoke": _invoke,
    "serve": _serve,
    **{name: _package_command(name) for name in PACKAGE_COMMANDS},
}


if __name__ == "__main__":
    raise SystemExit(main())
