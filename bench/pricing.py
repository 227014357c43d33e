"""List prices for the fixed monthly cost of a landing zone (``bench/cost.py`` applies them).

Region: **us-east-1** (US East, N. Virginia), USD list prices, read on **2026-11-28**. Other
regions differ (most are dearer per endpoint-hour and per NAT-gateway-hour): an environment in
another region is still priced here at us-east-1 rates, and the report says so.

No free tier is applied. CloudWatch's free tier (10 standard alarm metrics and 3 dashboards of up
to 50 metrics, per account and month) and KMS's 20,000 free requests are shared by everything in
the account, so a per-environment figure that subtracted them would be wrong as soon as two
environments, or anything else, share an account.

A month is 730 hours, as on the AWS pricing pages and in the AWS Pricing Calculator.

``checked`` records how each figure was confirmed from stored copies of public pages (the machine
that wrote this table had no live web access):

- ``official``: the figure is in the text of the AWS pricing page named in ``source``.
- ``secondary``: the AWS page's price table is rendered by script and was not in the stored copy;
  the figure is confirmed by the independent pages listed in ``corroboration``.
- ``unconfirmed``: the figure was not found in any stored copy; verify before relying on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PRICES_AS_OF = "2026-11-28"
PRICE_REGION = "us-east-1"
HOURS_PER_MONTH = 730

Checked = Literal["official", "secondary", "unconfirmed"]


@dataclass(frozen=True)
class Price:
    """One list price. ``monthly_usd`` is what one ``unit`` costs for a whole month."""

    key: str
    description: str
    usd: float
    per: str  # "hour" or "month": the billing period of ``usd``
    unit: str  # what one quantity is, e.g. "endpoint-AZ", "key", "alarm metric"
    source: str
    checked: Checked
    corroboration: tuple[str, ...] = ()
    note: str = ""

    @property
    def monthly_usd(self) -> float:
        return self.usd * HOURS_PER_MONTH if self.per == "hour" else self.usd


_PRIVATELINK = "https://aws.amazon.com/privatelink/pricing/"
_KMS = "https://aws.amazon.com/kms/pricing/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
_VPC = "https://aws.amazon.com/vpc/pricing/"

PRICES: dict[str, Price] = {
    price.key: price
    for price in (
        Price(
            key="interface_endpoint",
            description="Interface VPC endpoint (PrivateLink), per endpoint per AZ",
            usd=0.01,
            per="hour",
            unit="endpoint-AZ",
            source=_PRIVATELINK,
            checked="secondary",
            corroboration=(
                "https://awsnegotiations.com/privatelink-cost-analysis.html",
                "https://www.factualminds.com/blog/amazon-vpc-pricing-endpoints-peering-transit-gateway/",
                "https://cloudcostkit.com/guides/aws-privatelink-pricing",
            ),
            note=(
                "Billed for each hour the endpoint is provisioned in each AZ (official page text); "
                "data processed ($0.01/GB for the first PB, official) is usage-based."
            ),
        ),
        Price(
            key="kms_key",
            description="KMS key (customer managed), per key",
            usd=1.00,
            per="month",
            unit="key",
            source=_KMS,
            checked="official",
            note=(
                "With automatic rotation each new backing key adds $1/month (official); since the "
                "April 2024 change only the first two rotations are billed, so a rotated key costs "
                "$1 in year 1, $2 in year 2 and $3 from then on. The total uses the year-1 price."
            ),
        ),
        Price(
            key="alarm_standard",
            description="CloudWatch metric alarm, standard resolution (60 s), per alarm metric",
            usd=0.10,
            per="month",
            unit="alarm metric",
            source=_CLOUDWATCH,
            checked="secondary",
            corroboration=(
                "https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm",
                "https://cloudcostkit.com/guides/aws-cloudwatch-alarms-pricing",
            ),
            note="A metric-math alarm is billed for each metric it reads.",
        ),
        Price(
            key="alarm_high_resolution",
            description="CloudWatch metric alarm, high resolution (10 s), per alarm metric",
            usd=0.30,
            per="month",
            unit="alarm metric",
            source=_CLOUDWATCH,
            checked="secondary",
            corroboration=("https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm",),
        ),
        Price(
            key="alarm_anomaly_standard",
            description="CloudWatch anomaly-detection alarm, standard resolution, per alarm",
            usd=0.30,
            per="month",
            unit="alarm",
            source=_CLOUDWATCH,
            checked="unconfirmed",
            note=(
                "AWS bills it as three standard alarm metrics (the metric and the band's upper "
                "and lower bounds). A third-party page states $0.10 + $0.30; not used."
            ),
        ),
        Price(
            key="alarm_anomaly_high_resolution",
            description="CloudWatch anomaly-detection alarm, high resolution, per alarm",
            usd=0.90,
            per="month",
            unit="alarm",
            source=_CLOUDWATCH,
            checked="unconfirmed",
            note="Three high-resolution alarm metrics.",
        ),
        Price(
            key="alarm_composite",
            description="CloudWatch composite alarm, per alarm",
            usd=0.50,
            per="month",
            unit="alarm",
            source=_CLOUDWATCH,
            checked="secondary",
            corroboration=("https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm",),
            note="Its child alarms are billed separately.",
        ),
        Price(
            key="dashboard",
            description="CloudWatch dashboard, per dashboard",
            usd=3.00,
            per="month",
            unit="dashboard",
            source=_CLOUDWATCH,
            checked="secondary",
            corroboration=(
                "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/",
                "https://github.com/nishinoshake/aws-rough/issues/37",
            ),
        ),
        Price(
            key="secret",
            description="Secrets Manager secret, per secret",
            usd=0.40,
            per="month",
            unit="secret",
            source="https://aws.amazon.com/secrets-manager/pricing/",
            checked="secondary",
            corroboration=(
                "https://learn.atifalam.com/library/aws/secrets",
                "https://awsready.net/learn/aws-secrets-manager-parameter-store/",
            ),
        ),
        Price(
            key="ssm_advanced_parameter",
            description="SSM Parameter Store advanced parameter, per parameter",
            usd=0.05,
            per="month",
            unit="parameter",
            source="https://aws.amazon.com/systems-manager/pricing/",
            checked="secondary",
            corroboration=(
                "https://learn.atifalam.com/library/aws/secrets",
                "https://awsready.net/learn/aws-secrets-manager-parameter-store/",
            ),
            note="Standard parameters have no storage charge.",
        ),
        Price(
            key="waf_web_acl",
            description="AWS WAF web ACL, per web ACL",
            usd=5.00,
            per="month",
            unit="web ACL",
            source="https://aws.amazon.com/waf/pricing/",
            checked="secondary",
            corroboration=(
                "https://c3x.dev/blog/aws-waf-cost-explained/",
                "https://awsnegotiations.com/waf-pricing-strategy.html",
            ),
            note="Requests ($0.60 per million) are usage-based.",
        ),
        Price(
            key="waf_rule",
            description="AWS WAF rule or rule-group reference in a web ACL, per rule",
            usd=1.00,
            per="month",
            unit="rule",
            source="https://aws.amazon.com/waf/pricing/",
            checked="secondary",
            corroboration=("https://c3x.dev/blog/aws-waf-cost-explained/",),
        ),
        Price(
            key="nat_gateway",
            description="NAT gateway, per gateway",
            usd=0.045,
            per="hour",
            unit="gateway",
            source=_VPC,
            checked="secondary",
            corroboration=(
                "https://basavytix.com/blog/aws-nat-gateway-pricing",
                "https://cloudburn.io/blog/aws-nat-gateway-pricing",
            ),
            note="Data processed ($0.045/GB) is usage-based.",
        ),
        Price(
            key="public_ipv4",
            description="Public IPv4 address (Elastic IP), per address",
            usd=0.005,
            per="hour",
            unit="address",
            source=_VPC,
            checked="secondary",
            corroboration=(
                "https://cloudburn.io/blog/aws-nat-gateway-pricing",
                "https://www.factualminds.com/blog/amazon-vpc-pricing-endpoints-peering-transit-gateway/",
            ),
        ),
        Price(
            key="transit_gateway_attachment",
            description="Transit gateway attachment, per attachment",
            usd=0.05,
            per="hour",
            unit="attachment",
            source="https://aws.amazon.com/transit-gateway/pricing/",
            checked="secondary",
            corroboration=(
                "https://www.factualminds.com/blog/amazon-vpc-pricing-endpoints-peering-transit-gateway/",
            ),
        ),
        Price(
            key="hosted_zone",
            description="Route 53 hosted zone, per zone (first 25)",
            usd=0.50,
            per="month",
            unit="zone",
            source="https://aws.amazon.com/route53/pricing/",
            checked="unconfirmed",
        ),
    )
}


def price(key: str) -> Price:
    """The price named ``key``; a ``KeyError`` names the known keys."""
    try:
        return PRICES[key]
    except KeyError:
        raise KeyError(f"no price {key!r}; known: {', '.join(sorted(PRICES))}") from None
