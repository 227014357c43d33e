"""Generated landing zones at enterprise scale, measured against AWS's deploy-time limits.

    .venv/bin/python bench/scale.py [--sizes 3x3,10x10,25x50,50x100,80x200] [--json FILE]

For each (models, teams) a configuration is generated from ``config/default.yaml``: models
spread over providers, a third of them cross-region profiles, every team allowed a rotating
window of up to 5 models. Each is synthesized with the five cdk-nag packs and the preflight
plugin (an open finding or a limit exceeded makes synth fail), and measured with the preflight
plugin's own resolver (intrinsics at their longest real value). Used by ``bench/run.py`` and by
the scale tests; asserts nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

#: (models, teams) the issue asks for.
SIZES: tuple[tuple[int, int], ...] = ((3, 3), (10, 10), (25, 50), (50, 100), (80, 200))
PROVIDERS = ("amazon", "anthropic", "meta", "mistral", "cohere")

#: Limit rules reported in the scale table, largest measurement of each.
REPORTED = {
    "IAMManagedPolicySize": "largest IAM managed policy",
    "IAMRoleTrustPolicySize": "largest role trust policy",
    "VpcEndpointPolicySize": "largest VPC endpoint policy",
    "OrganizationsPolicySize": "largest SCP",
    "LambdaEnvironmentSize": "Lambda environment",
    "DashboardWidgets": "largest dashboard",
    "CompositeAlarmRuleSize": "largest composite alarm rule",
    "CompositeAlarmRuleAlarms": "alarms in one composite",
    "StackResources": "resources in the largest stack",
    "StackOutputs": "outputs in the largest stack",
}


def generated_config_data(models: int, teams: int) -> dict[str, Any]:
    """A valid environment with ``models`` allow-listed models and ``teams`` teams."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    data["name"] = "scale"
    entries = []
    for i in range(models):
        provider = PROVIDERS[i % len(PROVIDERS)]
        model_id = f"{provider}.scale-model-{i:03d}-v1:0"
        if i % 3 == 1:
            model_id = f"us.{model_id}"
        entries.append({"alias": f"m{i:03d}", "model_id": model_id, "streaming": i % 2 == 0})
    data["models"] = entries
    # the SCPs too (placeholder management account and OU, as in the examples)
    data["organization_policies"] = {
        "management_account": "222222222222",
        "target_ids": ["ou-abcd-11111111"],
        # an SCP names about 55 models one by one (96 % of its limit at 50): from 41 models
        # the generated configs name providers, as an operator would for headroom
        **({"allow_list_granularity": "provider"} if models > 40 else {}),
    }
    data["teams"] = [
        {
            "name": f"team{t:03d}",
            "models": sorted({f"m{(t + k) % models:03d}" for k in range(min(5, models))}),
            **({"monthly_budget_usd": 100 + t} if t % 2 == 0 else {}),
        }
        for t in range(teams)
    ]
    return data


@dataclass
class ScaleResult:
    models: int
    teams: int
    ok: bool
    seconds: float
    stacks: int = 0
    error: str = ""
    #: rule -> (value, maximum, percent, where)
    largest: dict[str, tuple[int, int, float, str]] = field(default_factory=dict)


def measure_size(models: int, teams: int, outdir: Path | None = None) -> ScaleResult:
    """Synthesize one generated environment (packs + preflight) into ``outdir`` and measure it;
    without ``outdir``, into a temporary directory removed afterwards (~13 MB at 50 x 100)."""
    if outdir is None:
        with tempfile.TemporaryDirectory(prefix=f"scale-{models}x{teams}-") as tmp:
            return measure_size(models, teams, Path(tmp))
    import aws_cdk as cdk  # noqa: F401  (jsii start-up is part of the measured time)

    from app import jsii_argument_checks_skipped
    from bedrock_landing_zone.compliance import add_compliance_packs
    from bedrock_landing_zone.compliance.preflight import load_assembly, measure
    from bedrock_landing_zone.config import parse_config
    from bedrock_landing_zone.delivery.landing_zone import add_landing_zone
    from tests.conftest import cdk_app

    config = parse_config(
        generated_config_data(models, teams), source=f"generated {models}x{teams}"
    )
    out = outdir
    started = time.perf_counter()
    try:  # as `cdk synth` runs app.py: without jsii's Python-side argument checks
        with jsii_argument_checks_skipped():
            app = cdk_app(config.name, out)
            add_compliance_packs(app)
            stacks = add_landing_zone(app, config)
            app.synth()
    except Exception as exc:  # a finding or a limit: report it, as a platform team would see it
        return ScaleResult(
            models, teams, False, time.perf_counter() - started, error=str(exc).splitlines()[0]
        )
    seconds = time.perf_counter() - started
    result = ScaleResult(models, teams, True, seconds, stacks=len(stacks.all()))
    for m in measure(load_assembly(sorted(out.glob("*.template.json")))):
        rule = m.limit.rule
        if rule not in REPORTED:
            continue
        where = f"{m.stack.display_name}/{m.logical_id or ''}"
        if rule not in result.largest or m.percent > result.largest[rule][2]:
            result.largest[rule] = (m.value, m.maximum, round(m.percent, 1), where)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{m}x{t}" for m, t in SIZES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes.split(","):
        models, teams = (int(x) for x in size.split("x"))
        result = measure_size(models, teams)
        results.append(asdict(result))
        status = "ok" if result.ok else f"FAILED: {result.error}"
        print(f"{models}x{teams}: {result.seconds:.1f} s, {status}", flush=True)
        for rule, (value, maximum, percent, where) in sorted(result.largest.items()):
            print(f"  {REPORTED[rule]:<34} {value:>7} / {maximum:<7} {percent:5.1f} %  {where}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
