"""Enterprise scale: generated landing zones inside every AWS limit (issue: 100 teams, 50 models).

``bench/scale.py`` generates the configurations and measures them with the preflight plugin's
resolver; ``make bench`` prints the whole table. Here: the (50, 100) size synthesizes with the
five packs and the preflight plugin (any open finding or exceeded limit raises), and no
figure is above 80 % of its limit; the SCP either names every model or, past what fits, refuses
with a config error, or names providers.
"""

from __future__ import annotations

import pytest

from bedrock_landing_zone.config import ConfigError, LandingZoneConfig, parse_config
from bedrock_landing_zone.governance.organization_policies import check_scp_sizes, scp_documents
from bench.scale import generated_config_data, measure_size
from tests.iam_eval.evaluator import FULL_AWS_ACCESS, Request, evaluate

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}],
}


@pytest.mark.slow
def test_50_models_and_100_teams_deploy_within_80_percent_of_every_limit() -> None:
    result = measure_size(50, 100)
    assert result.ok, result.error
    assert result.stacks == 6 + 100  # the shared stacks (with the SCPs) and one per team
    over = {rule: figures for rule, figures in result.largest.items() if figures[2] > 80}
    assert not over, over


def _seventy_models_named_one_by_one() -> LandingZoneConfig:
    """Valid as a config: the model-by-model SCP it would deploy is what is too big."""
    data = generated_config_data(70, 3)
    data["organization_policies"].pop("allow_list_granularity", None)
    return parse_config(data, source="big.yaml")


def test_an_allow_list_too_long_for_a_model_by_model_scp_is_refused_with_the_fix() -> None:
    config = _seventy_models_named_one_by_one()
    with pytest.raises(ConfigError) as error:
        check_scp_sizes(config)
    message = str(error.value)
    assert "organization_policies.allow_list_granularity" in message
    assert "5,120" in message and "of the 70 models fit" in message
    assert "allow_list_granularity: provider" in message


def _scp_decision(data: dict[str, object], resource: str) -> str:
    config = parse_config(data, source="scale.yaml")
    scps = [FULL_AWS_ACCESS, *scp_documents(config).values()]
    request = Request("bedrock:InvokeModel", resource, {"aws:RequestedRegion": "us-east-1"})
    return evaluate(request, [ALLOW_ALL], scps=scps).effect


def test_provider_granular_scp_denies_other_providers_and_other_geographies() -> None:
    data = generated_config_data(70, 3)
    fm = "arn:aws:bedrock:us-east-1::foundation-model"
    profile = "arn:aws:bedrock:us-east-1:111122223333:inference-profile"
    assert _scp_decision(data, f"{fm}/anthropic.scale-model-001-v1:0") == "Allow"
    assert _scp_decision(data, f"{fm}/anthropic.any-other-model-v1:0") == "Allow"
    assert _scp_decision(data, f"{fm}/deepseek.r1-v1:0") == "ExplicitDeny"
    assert _scp_decision(data, f"{profile}/us.anthropic.scale-model-001-v1:0") == "Allow"
    assert _scp_decision(data, f"{profile}/global.anthropic.scale-model-001-v1:0") == "ExplicitDeny"


def test_model_granular_scp_is_exact() -> None:
    data = generated_config_data(20, 3)
    fm = "arn:aws:bedrock:us-east-1::foundation-model"
    assert _scp_decision(data, f"{fm}/anthropic.scale-model-001-v1:0") == "Allow"
    assert _scp_decision(data, f"{fm}/anthropic.any-other-model-v1:0") == "ExplicitDeny"


def test_the_organisation_stack_refuses_the_same_config_with_the_same_fix() -> None:
    """What `cdk synth` runs: the construct that would deploy the SCPs checks their size first
    (app.py prints the ConfigError and exits 2, no traceback)."""
    import aws_cdk as cdk

    from bedrock_landing_zone.governance.organization_policies import OrganizationPolicies

    config = _seventy_models_named_one_by_one()
    with pytest.raises(ConfigError, match=r"allow_list_granularity: provider"):
        OrganizationPolicies(cdk.Stack(cdk.App(), "Org"), "Policies", config=config)
