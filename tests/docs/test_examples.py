"""Documentation that is executed: every Python block of README.md and docs/*.md runs here.

A complete program runs in this process (one ``cdk.App`` per example, the jsii runtime shared),
from a folder of its own that holds its files (``<!-- docs-test: file ... -->`` blocks), so a
``LandingZoneFunction`` asset resolves the way it does in a team's project. An app must
register the compliance packs and synthesize with 0 open findings. The blocks of a session
(``docs/constructs.md``) run in order in one namespace, then its apps are checked the same way.
How blocks are marked: ``tests/docs/markdown.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import runpy
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
import yaml
from botocore.stub import Stubber

from bedrock_landing_zone.compliance import has_compliance_packs
from bedrock_landing_zone.compliance.summary import summarize
from bedrock_landing_zone.governance.guardrail import guardrail_parameter_names
from bedrock_landing_zone.governance.teams import shared_parameter_names, team_parameter_names
from bedrock_landing_zone.network.private_network import network_parameter_names
from tests.conftest import CONFIG_DIR, ROOT, template_warnings
from tests.docs.markdown import (
    CLIENT_BASE_URL,
    Block,
    Program,
    all_blocks,
    blocks,
    clients,
    program,
    programs,
    python_blocks,
    sessions,
)

README = ROOT / "README.md"


# ---- running examples ------------------------------------------------------------------------


def apps_in(namespace: Mapping[str, Any]) -> list[cdk.App]:
    return [value for value in namespace.values() if isinstance(value, cdk.App)]


def check_apps(where: str, namespace: Mapping[str, Any]) -> list[Path]:
    """Every App the example left at module level: packs on, 0 open findings. Returns the
    cloud assembly directories."""
    apps = apps_in(namespace)
    assert apps, f"{where}: the example creates no cdk.App at module level"
    directories = []
    for app in apps:
        assert has_compliance_packs(app), f"{where}: call add_compliance_packs(app)"
        directory = Path(app.synth().directory)  # the same assembly when the example synthesized
        report = json.loads((directory / "validation-report.json").read_text(encoding="utf-8"))
        summary = summarize(report)
        assert {k: v["open"] for k, v in summary.items() if v["open"]} == {}, where
        # an example's App has no cdk.json, so CDK reports its CloudFormation validation's
        # findings as warnings ("@aws-cdk/core:validateAgainstDefaultRules" unset): none either
        assert template_warnings(report) == [], where
        directories.append(directory)
    return directories


def run_program(example: Program, folder: Path) -> dict[str, Any]:
    """Write the program and its files to ``folder``, run it as ``__main__``, check its apps."""
    app_file = example.write(folder)
    try:
        namespace = runpy.run_path(str(app_file), run_name="__main__")
    except Exception as exc:
        raise AssertionError(f"{example.where}: the example fails: {exc!r}") from exc
    for directory in check_apps(example.where, namespace):
        for relative, block in example.files.items():
            name = Path(relative).name
            shipped = [
                asset
                for asset in directory.glob("asset.*")
                if (asset / name).is_file() and (asset / name).read_text("utf-8") == block.code
            ]
            assert shipped, f"{block.where}: {relative} is in no asset of {example.where}"
    return namespace


def run_session(name: str, session: list[Block]) -> dict[str, Any]:
    """The blocks of a session, in order, in one namespace (tracebacks name the document)."""
    namespace: dict[str, Any] = {"__name__": f"docs_session_{name}"}
    for block in session:
        try:
            exec(block.compiled(block.document), namespace)
        except Exception as exc:
            raise AssertionError(f"{block.where}: the example fails: {exc!r}") from exc
    check_apps(session[0].where, namespace)
    return namespace


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Examples run where a reader runs them: the repository root (`load_config` of "config")."""
    monkeypatch.chdir(ROOT)
    yield


# ---- every block is claimed ------------------------------------------------------------------


def test_every_python_block_is_run() -> None:
    claimed: set[str] = set()
    for example in programs():
        claimed.add(example.main.where)
        claimed |= {block.where for block in example.files.values()}
    for session in sessions().values():
        claimed |= {block.where for block in session}
    claimed |= {block.where for block in clients()}
    every = {block.where for block in python_blocks()}
    assert every, "no Python examples found"
    assert every - claimed == set(), "a file block names no program (file NAME PATH)"
    for example in programs():
        compile(example.main.code, example.where, "exec")


def test_directives_apply_to_their_kind_of_block() -> None:
    for block in all_blocks():
        if block.kind in ("program", "file", "session", "client"):
            assert block.lang in ("python", "py"), f"{block.where}: {block.kind} is for Python"
        if block.kind == "file":
            assert len(block.words) == 2, f"{block.where}: write file PROGRAM PATH"
            assert block.words[0] in {p.name for p in programs()}, block.where
        if block.kind == "config-error":
            assert isinstance(block.json_args(), dict), block.where


def test_the_extractor_reads_directives_and_refuses_unknown_ones(tmp_path: Path) -> None:
    document = tmp_path / "doc.md"
    document.write_text(
        "Text\n\n<!-- docs-test: program demo -->\n\n```python\nprint(1)\n```\n\n"
        "```bash\necho\n```\n",
        encoding="utf-8",
    )
    first, second = blocks(document)
    assert (first.kind, first.words, first.line) == ("program", ["demo"], 6)
    assert first.code == "print(1)\n"
    assert (second.kind, second.lang) == (None, "bash")
    document.write_text("<!-- docs-test: prgram -->\n```python\npass\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unreadable directive"):
        blocks(document)


# ---- the examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("example", programs(), ids=lambda p: p.where)
def test_program_runs_and_passes_the_packs(example: Program, tmp_path: Path, at_root: None) -> None:
    run_program(example, tmp_path)


@pytest.mark.parametrize("name", sorted(sessions()))
def test_session_runs_and_passes_the_packs(name: str, at_root: None) -> None:
    run_session(name, sessions()[name])


def test_a_drifted_example_fails(tmp_path: Path, at_root: None) -> None:
    """The runner can fail: a name the package does not export, no packs, an open finding, a
    template CloudFormation would reject."""
    fake = tmp_path / "fake.md"
    fake.write_text(
        "```python\nfrom bedrock_landing_zone import NoSuchThing\n```\n\n"
        "```python\nimport aws_cdk as cdk\napp = cdk.App()\ncdk.Stack(app, 'Empty')\n```\n\n"
        "```python\nimport aws_cdk as cdk\nfrom aws_cdk import aws_sqs as sqs\n"
        "from bedrock_landing_zone import add_compliance_packs\n"
        "app = cdk.App()\nadd_compliance_packs(app)\n"
        "sqs.Queue(cdk.Stack(app, 'Open'), 'Plain')\napp.synth()\n```\n\n"
        "```python\nimport aws_cdk as cdk\n"
        "from bedrock_landing_zone import add_compliance_packs\n"
        "app = cdk.App()\nadd_compliance_packs(app)\n"
        "cdk.CfnResource(cdk.Stack(app, 'Schema'), 'Queue', type='AWS::SQS::Queue',\n"
        "                properties={'VisibilityTimeout': 43201})\n```\n",
        encoding="utf-8",
    )
    missing_name, no_packs, open_finding, schema_error = (
        Program(main=block, name=None, files={}) for block in blocks(fake)
    )
    with pytest.raises(AssertionError, match="NoSuchThing"):
        run_program(missing_name, tmp_path / "a")
    with pytest.raises(AssertionError, match="add_compliance_packs"):
        run_program(no_packs, tmp_path / "b")
    with pytest.raises(AssertionError, match="the example fails"):
        run_program(open_finding, tmp_path / "c")
    with pytest.raises(AssertionError, match="43201 is greater than the maximum of 43200"):
        run_program(schema_error, tmp_path / "d")  # a warning only, without cdk.json


@pytest.mark.parametrize("example", clients(), ids=lambda b: b.where)
def test_client_example_runs_against_bedrock_lz_serve(
    example: Block, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example as written, with the private API's URL replaced by `bedrock-lz serve`'s
    (the real handler, a stubbed Bedrock, a team role of the sample config as the caller) and
    fake credentials for its SigV4 signing."""
    from bedrock_inference import serve
    from bedrock_inference.local import SAMPLE_CONFIG

    assert CLIENT_BASE_URL in example.code, f"{example.where}: the example names no API URL"
    role = SAMPLE_CONFIG["teams"]["search"]["role_names"][0]
    options = serve.ServeOptions(
        caller_arn=f"arn:aws:sts::111122223333:assumed-role/{role}/docs", port=0, quiet=True
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    with serve.create_server(options).running() as server:
        code = example.code.replace(CLIENT_BASE_URL, server.url)
        exec(compile("\n" * (example.line - 1) + code, str(example.document), "exec"), {})
    printed = capsys.readouterr().out
    assert "Hello from the stubbed model." in printed, printed


def _load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_summarizer_handler_calls_converse_with_the_guardrail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's handler, run against a stubbed Bedrock with the environment its app sets."""
    example = program("summarizer")
    (handler_block,) = example.files.values()
    path = tmp_path / "summarizer.py"
    path.write_text(handler_block.code, encoding="utf-8")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    guardrail = "arn:aws:bedrock:us-east-1:111122223333:guardrail/abc123"
    for name, value in {
        "MODEL_ID": "amazon.nova-lite-v1:0",
        "GUARDRAIL_ID": guardrail,
        "GUARDRAIL_VERSION": "3",
    }.items():
        assert f'"{name}"' in example.main.code, f"the app does not set {name}"
        monkeypatch.setenv(name, value)
    module = _load_module(path, "docs_summarizer")
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    module.bedrock = client
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Short."}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 2, "totalTokens": 12},
                "metrics": {"latencyMs": 100},
            },
            {
                "modelId": "amazon.nova-lite-v1:0",
                "system": [{"text": "Summarize the claim in three sentences."}],
                "messages": [{"role": "user", "content": [{"text": "A long claim."}]}],
                "inferenceConfig": {"maxTokens": 512},
                "guardrailConfig": {
                    "guardrailIdentifier": guardrail,
                    "guardrailVersion": "3",
                },
            },
        )
        assert module.handler({"claim": "A long claim."}, None) == {
            "summary": "Short.",
            "stopReason": "end_turn",
        }
        stub.assert_no_pending_responses()


# ---- configuration errors --------------------------------------------------------------------


def _set(data: Any, path: str, value: Any) -> None:
    """``teams[0].monthly_budget_usd`` -> data["teams"][0]["monthly_budget_usd"] = value."""
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        keys.append(name)
        keys += [int(index) for index in rest.rstrip("]").split("][") if index]
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value


def _config_error_blocks() -> list[Block]:
    return [block for block in blocks(README) if block.kind == "config-error"]


def test_readme_shows_config_errors() -> None:
    shown = _config_error_blocks()
    assert len(shown) >= 2, "README shows a multi-problem error and a cross-field one"
    assert any("(2 problems)" in block.code for block in shown)


@pytest.mark.parametrize("block", _config_error_blocks(), ids=lambda b: b.where)
def test_config_error_example_is_what_app_py_prints(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config/default.yaml`` with the directive's changes, through app.py's own entry point,
    run from a folder that holds it as config/ (as from the repository root)."""
    import app

    data = copy.deepcopy(yaml.safe_load((CONFIG_DIR / "default.yaml").read_text("utf-8")))
    for path, value in block.json_args().items():
        _set(data, path, value)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "default.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app, "CONFIG_DIR", tmp_path / "config")
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with pytest.raises(SystemExit) as exit_info:
        app.main(["-c", "env=default", "-o", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert stderr.getvalue() == block.code, f"{block.where} differs from what app.py prints"


# ---- the SSM contract ------------------------------------------------------------------------


def _documented_parameters() -> set[str]:
    """The parameter names of README's contract table, ``{a,b}`` expanded."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("SSM parameters other teams consume") :]
    names: set[str] = set()
    for line in section.splitlines()[4:]:
        if not line.startswith("| `"):
            break
        pattern = line.split("`")[1]
        head, brace, tail = pattern.partition("{")
        if brace:
            options, _, rest = tail.partition("}")
            names |= {f"{head}{option}{rest}" for option in options.split(",")}
        else:
            names.add(pattern)
    return names


def test_readme_lists_every_ssm_parameter_of_the_contract() -> None:
    """Parameter names come from the functions the stacks publish them with."""
    published = {
        *network_parameter_names("<env>").values(),
        *guardrail_parameter_names("<env>").values(),
        *shared_parameter_names("<env>").values(),
        *team_parameter_names("<env>", "<team>").values(),
        "/bedrock-lz/<env>/inference/api-url",
    }
    assert published - _documented_parameters() == set()
