"""What an init pays for: only what every request path needs (issue 17, item 4).

An on-demand init imports neither the OpenAI translation, nor the attachment checks, nor the SSM
team directory of a function with a fixed team map (nor pydantic, ever); the first request that
needs one of them pays for it. An init that no request waits for (SnapStart, provisioned
concurrency) prepares all of them, so the snapshot holds them. Init runs with the collector
paused and freezes what it made. Each case runs in a fresh interpreter, as a Lambda init does.
Timings are the benchmark's business (``bench/inference_bench.py``), not these tests'.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from bedrock_inference import handler, openai_compat

from . import TEST_CONFIG, body, env_for, make_event
from .media_samples import image_block, png

LAMBDA_ROOT = Path(__file__).resolve().parents[3] / "lambda" / "inference"

_REPORT = """
import gc, json, sys
import bedrock_inference.handler as handler
loaded = sorted(m for m in sys.modules if m.startswith("bedrock_inference."))
print(json.dumps({{"modules": loaded, "pydantic": "pydantic" in sys.modules,
                  "init_type": handler.INITIALIZATION_TYPE, "collector_on": gc.isenabled(),
                  "frozen": gc.get_freeze_count()}}))
{after}
"""


def _init(
    extra_env: dict[str, str] | None = None,
    *,
    config: dict[str, Any] | None = None,
    after: str = "",
) -> dict[str, Any]:
    """Import the handler in a fresh interpreter; what it loaded and built."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "INFERENCE_"))
    }
    env.update(env_for(config or TEST_CONFIG))
    env.update({"PYTHONPATH": str(LAMBDA_ROOT), **(extra_env or {})})
    result = subprocess.run(
        [sys.executable, "-c", _REPORT.format(after=after)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[0])
    report["rest"] = result.stdout.strip().splitlines()[1:]  # the requests' lines, and logs
    return report


def test_an_on_demand_init_loads_only_what_every_request_needs() -> None:
    report = _init()
    assert report["init_type"] == "on-demand"
    modules = set(report["modules"])
    assert modules >= {
        "bedrock_inference.handler",
        "bedrock_inference.logic",
        "bedrock_inference.models",
        "bedrock_inference.bedrock_client",
        "bedrock_inference.telemetry",
        "bedrock_inference.teams",
    }
    for lazy in (
        "bedrock_inference.openai_compat",
        "bedrock_inference.media",
        "bedrock_inference.team_directory",
    ):
        assert lazy not in modules
    assert report["pydantic"] is False  # a quarter of boto3's own cold start: not used


def test_init_runs_without_the_collector_and_freezes_what_it_made() -> None:
    """The collector is back on after init, and init's objects (modules, the client, the
    settings) sit in the permanent generation, which no later collection traverses."""
    report = _init()
    assert report["collector_on"] is True
    assert report["frozen"] > 10_000  # boto3 and botocore alone make tens of thousands


def test_a_failed_init_still_turns_the_collector_back_on() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INFERENCE_"))}
    env.update(env_for(TEST_CONFIG))
    env.update({"PYTHONPATH": str(LAMBDA_ROOT), "GUARDRAIL_VERSION": "v1"})  # not a version
    script = (
        "import gc\n"
        "try:\n    import bedrock_inference.handler\n"
        "except Exception as exc:\n    print(type(exc).__name__, gc.isenabled())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.split() == ["ConfigurationError", "True"], result.stderr


_REQUESTS = """
import boto3
from botocore.stub import Stubber
from bedrock_inference.local import LocalContext, converse_answer
client = boto3.client("bedrock-runtime", region_name="us-east-1")
stubber = Stubber(client)
stubber.activate()
service = handler.build_service(handler.SETTINGS, client_factory=lambda _config: client)
for name, event in json.load(open({path!r}, encoding="utf-8")):
    if name != "models":
        stubber.add_response("converse", converse_answer())
    reply = handler.handle(event, LocalContext(30_000), service)
    now = sorted(m for m in sys.modules if m.startswith("bedrock_inference."))
    print(json.dumps([name, reply["statusCode"], now, "pydantic" in sys.modules]))
"""


def test_each_route_loads_what_it_needs_on_its_first_request(tmp_path: Path) -> None:
    events = [
        ("models", make_event(method="GET", path="/v1/models", raw_body="")),
        ("converse", make_event(body())),
        ("image", make_event(body() | {"messages": [_image_message()]})),
        ("chat", make_event(_chat_body(), path="/v1/chat/completions")),
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    report = _init(after=_REQUESTS.format(path=str(path)))
    steps = {
        name: (status, set(modules), pydantic)
        for name, status, modules, pydantic in (
            json.loads(line) for line in report["rest"] if line.startswith("[")
        )
    }
    lazy = {"bedrock_inference.openai_compat", "bedrock_inference.media"}
    status, modules, _ = steps["models"]  # GET /v1/models: the translation
    assert status == 200
    assert "bedrock_inference.openai_compat" in modules
    assert "bedrock_inference.media" not in modules
    status, modules, _ = steps["converse"]  # a text request: no media
    assert status == 200
    assert "bedrock_inference.media" not in modules
    status, modules, _ = steps["image"]  # an attachment: the media checks
    assert status == 200
    assert lazy <= modules
    assert steps["chat"][0] == 200
    assert list(steps) == ["models", "converse", "image", "chat"]
    assert not any(pydantic for _, _, pydantic in steps.values())  # no route loads pydantic


def _image_message() -> dict[str, Any]:
    return {"role": "user", "content": [{"text": "describe"}, image_block("png", png(2, 2))]}


def _chat_body() -> dict[str, Any]:
    return {"model": "claude-haiku", "messages": [{"role": "user", "content": "hi"}]}


def test_a_team_directory_config_loads_the_ssm_reader_at_init() -> None:
    config = copy.deepcopy(TEST_CONFIG)
    config["teams"] = {}
    config["team_directory"] = "/bedrock-lz/test/teams/"
    report = _init(config=config)
    assert "bedrock_inference.team_directory" in report["modules"]


@pytest.mark.parametrize("init_type", ["snap-start", "provisioned-concurrency"])
def test_an_init_no_request_waits_for_prepares_everything(init_type: str) -> None:
    report = _init({"AWS_LAMBDA_INITIALIZATION_TYPE": init_type})
    assert report["init_type"] == init_type
    assert {"bedrock_inference.openai_compat", "bedrock_inference.media"} <= set(report["modules"])
    assert report["pydantic"] is False


def test_the_routes_are_openai_compats_routes() -> None:
    assert handler.CHAT_COMPLETIONS_ROUTE == openai_compat.CHAT_COMPLETIONS_ROUTE
    assert handler.MODELS_ROUTE == openai_compat.MODELS_ROUTE


def test_after_restore_reseeds_random() -> None:
    random.seed(17)
    restored_twin = random.getstate()
    handler.after_restore()
    assert random.getstate() != restored_twin


def test_a_snapstart_init_registers_the_restore_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Any] = []
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    handler._register_after_restore()
    assert registered == [handler.after_restore]


def test_without_the_runtime_library_no_hook_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    handler._register_after_restore()  # no error: not on a Lambda managed runtime
