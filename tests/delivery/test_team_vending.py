"""Team vending: a team lives in its own stack, and adding or removing one changes only it.

The shared stacks (governance, network, audit, inference, observability) must not grow with
the number of teams: the boundary and the inference role admit team profiles by tag, the
inference function finds teams through the SSM team directory, and each team's dashboard,
alarm, budget and API access sit in its stack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_landing_zone.compliance import add_compliance_packs
from bedrock_landing_zone.config import LandingZoneConfig, TeamConfig
from bedrock_landing_zone.delivery.landing_zone import add_landing_zone
from tests.conftest import Synth, cdk_app


def _synth(config: LandingZoneConfig, outdir: Path) -> dict[str, str]:
    app = cdk_app(config.name, outdir)
    add_compliance_packs(app)  # as the session's synth of the example: same templates
    add_landing_zone(app, config)
    app.synth()  # raises on any open finding: the new team stack passes the packs too
    return {p.name: p.read_text(encoding="utf-8") for p in outdir.glob("*.template.json")}


@pytest.fixture(scope="module")
def variants(default: Synth, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    base = default.config
    billing = TeamConfig(name="billing", models=["nova-lite"], monthly_budget_usd=100)
    added = base.model_copy(update={"teams": [*base.teams, billing]})
    removed = base.model_copy(update={"teams": base.teams[:1]})
    return {
        "base": {
            p.name: p.read_text(encoding="utf-8") for p in default.outdir.glob("*.template.json")
        },
        "added": _synth(added, tmp_path_factory.mktemp("team-added")),
        "removed": _synth(removed, tmp_path_factory.mktemp("team-removed")),
    }


def test_adding_a_team_changes_no_other_stack(variants: dict[str, dict[str, str]]) -> None:
    base, added = variants["base"], variants["added"]
    assert set(added) - set(base) == {"TeamBilling.template.json"}
    changed = sorted(name for name in base if added[name] != base[name])
    assert changed == [], f"adding a team changed {changed}"


def test_removing_a_team_changes_no_other_stack(variants: dict[str, dict[str, str]]) -> None:
    base, removed = variants["base"], variants["removed"]
    assert set(base) - set(removed) == {"TeamAssistant.template.json"}
    changed = sorted(name for name in removed if removed[name] != base[name])
    assert changed == [], f"removing a team changed {changed}"


def test_each_team_stack_holds_its_own_resources(default: Synth) -> None:
    for team, stack in default.stacks.teams.items():
        template = default.template_json(stack)
        kinds = [r["Type"] for r in template["Resources"].values()]
        assert kinds.count("AWS::IAM::Role") == 1
        assert kinds.count("AWS::CloudWatch::Dashboard") == 1
        assert kinds.count("AWS::CloudWatch::Alarm") == 1
        assert kinds.count("AWS::Bedrock::ApplicationInferenceProfile") == len(
            next(t for t in default.config.teams if t.name == team).models
        )
        others = [t.name for t in default.config.teams if t.name != team]
        text = json.dumps(template)
        assert not [o for o in others if f"team-{o}" in text or f"teams/{o}" in text]
        assert stack.stack_name == f"bedrock-lz-default-team-{team}"
        # deployed after the stacks whose SSM parameters it reads
        assert {d.node.id for d in stack.dependencies} >= {"Governance", "Audit", "Inference"}


def test_the_team_directory_entry_names_the_role_and_its_profiles(default: Synth) -> None:
    for team, stack in default.stacks.teams.items():
        template = default.template_json(stack)
        (entry,) = [
            r["Properties"]["Value"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SSM::Parameter"
            and r["Properties"]["Name"] == f"/bedrock-lz/default/teams/{team}/inference-access"
        ]
        text = json.dumps(entry)
        assert f'\\"team\\":\\"{team}\\"' in text
        assert "AccessRole" in text and "InferenceProfileArn" in text
