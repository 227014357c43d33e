"""Application inference profiles per team and model, tagged for cost allocation."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from bedrock_landing_zone.config import LandingZoneConfig
from bedrock_landing_zone.model_access import ModelAccess

__all__ = ["CostAllocation"]


class CostAllocation(Construct):
    """For each team and each model it may use: an application inference profile.

    The profile copies the allow-listed model (or cross-region profile) and carries the tags
    ``Team`` and ``CostCenter`` (the team's, else the environment's), so Bedrock usage through it
    shows up per team in Cost Explorer and in the team budgets. The profile ARNs are added to the
    team's grants only (``ModelAccess.add_application_inference_profile``).

    Attributes:
        profiles: (team, alias) -> ``CfnApplicationInferenceProfile``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        model_access: ModelAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self.profiles: dict[tuple[str, str], bedrock.CfnApplicationInferenceProfile] = {}
        for team in config.teams:
            cost_center = team.cost_center or config.tags.cost_center
            for model in config.team_models(team):
                label = "".join(p.capitalize() for p in f"{team.name}-{model.alias}".split("-"))
                source = model_access.model_arns(model.alias)[0]
                profile = bedrock.CfnApplicationInferenceProfile(
                    self,
                    label,
                    inference_profile_name=f"bedrock-lz-{config.name}-{team.name}-{model.alias}",
                    description=f"{model.alias} for team {team.name} cost allocation",
                    model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                        copy_from=source
                    ),
                )
                # above the environment-wide tags (priority 100), so the team's cost centre wins
                cdk.Tags.of(profile).add("Team", team.name, priority=200)
                cdk.Tags.of(profile).add("CostCenter", cost_center, priority=200)
                self.profiles[(team.name, model.alias)] = profile
                model_access.add_application_inference_profile(
                    model.alias, profile.attr_inference_profile_arn, team=team.name
                )
