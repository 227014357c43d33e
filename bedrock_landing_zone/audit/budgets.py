"""Per-team monthly Bedrock budgets, notifying the alert topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

from bedrock_landing_zone.config import BudgetsConfig, TeamConfig

__all__ = ["COST_TAG_KEYS", "TeamBudgets"]

#: Cost allocation tag keys (activate them in the Billing console to filter costs by them).
COST_TAG_KEYS = ("Team", "CostCenter", "Environment", "Owner")


class TeamBudgets(Construct):
    """An ``AWS::Budgets::Budget`` for each of ``teams`` with ``monthly_budget_usd`` (a team
    stack passes its own team only).

    Each budget counts Amazon Bedrock cost tagged ``Team=<team>`` (the team's application
    inference profiles carry that tag) and notifies ``topic`` at each configured share of the
    limit (actual spend) and when the month's forecast exceeds the configured share.

    Attributes:
        budgets: team name -> ``CfnBudget``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        teams: Sequence[TeamConfig],
        config: BudgetsConfig,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        subscriber = budgets.CfnBudget.SubscriberProperty(
            subscription_type="SNS", address=topic.topic_arn
        )
        notifications = [
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type="ACTUAL",
                    comparison_operator="GREATER_THAN",
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[subscriber],
            )
            for threshold in config.actual_thresholds_percent
        ]
        if config.forecast_threshold_percent is not None:
            notifications.append(
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type="FORECASTED",
                        comparison_operator="GREATER_THAN",
                        threshold=config.forecast_threshold_percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[subscriber],
                )
            )
        self.budgets: dict[str, budgets.CfnBudget] = {}
        for team in teams:
            if team.monthly_budget_usd is None:
                continue
            label = "".join(part.capitalize() for part in team.name.split("-"))
            self.budgets[team.name] = budgets.CfnBudget(
                self,
                f"{label}Budget",
                budget=budgets.CfnBudget.BudgetDataProperty(
                    budget_name=f"bedrock-lz-{env_name}-{team.name}",
                    budget_type="COST",
                    time_unit="MONTHLY",
                    budget_limit=budgets.CfnBudget.SpendProperty(
                        amount=team.monthly_budget_usd, unit="USD"
                    ),
                    cost_filters={
                        "Service": ["Amazon Bedrock"],
                        "TagKeyValue": [f"user:Team${team.name}"],
                    },
                ),
                notifications_with_subscribers=notifications,
            )
