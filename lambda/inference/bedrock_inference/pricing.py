"""Estimated cost of one Converse call, from a static price table.

Source and date: Amazon Bedrock on-demand list prices for text models, in USD per million
tokens, for requests made from us-east-1 (https://aws.amazon.com/bedrock/pricing/), compiled on
2026-11-28 from public copies of that page and of the Bedrock user guide ("Global cross-Region
inference": the global profile of the Claude 4.5 generation costs about 10% less than the
geographic profile or the in-Region model). The AWS pricing page itself could not be fetched from
the build machine: check the table before using the metric for chargeback. Prompt caching,
batch and provisioned throughput are not modelled.

A model absent from the table (for example an application inference profile ARN) has no
estimate unless its ``models.<alias>`` entry sets ``input_usd_per_mtok``/``output_usd_per_mtok``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Cross-Region inference profile ids are "<geo>.<model id>"; the price follows the model id.
_GEO_PREFIXES = ("global.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.")
_REGIONAL_PREMIUM = 1.10


@dataclass(frozen=True, slots=True)
class Price:
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    regional_premium: bool = False
    """Listed price is the global profile's; geographic profiles and in-Region ids cost 10% more."""


PRICES: dict[str, Price] = {
    # Anthropic (Claude 4.5 generation: global price listed, +10% elsewhere)
    "anthropic.claude-opus-4-5-20251101-v1:0": Price(5.00, 25.00, regional_premium=True),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": Price(3.00, 15.00, regional_premium=True),
    "anthropic.claude-haiku-4-5-20251001-v1:0": Price(1.00, 5.00, regional_premium=True),
    "anthropic.claude-sonnet-4-20250514-v1:0": Price(3.00, 15.00),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": Price(3.00, 15.00),
    "anthropic.claude-3-5-haiku-20241022-v1:0": Price(0.80, 4.00),
    "anthropic.claude-3-haiku-20240307-v1:0": Price(0.25, 1.25),
    # Amazon Nova
    "amazon.nova-pro-v1:0": Price(0.80, 3.20),
    "amazon.nova-lite-v1:0": Price(0.06, 0.24),
    "amazon.nova-micro-v1:0": Price(0.035, 0.14),
    # Meta
    "meta.llama3-3-70b-instruct-v1:0": Price(0.72, 0.72),
}


def price_for(model_id: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for a model or inference-profile id, if known."""
    base, is_global = model_id, False
    for prefix in _GEO_PREFIXES:
        if model_id.startswith(prefix):
            base, is_global = model_id[len(prefix) :], prefix == "global."
            break
    price = PRICES.get(base)
    if price is None:
        return None
    factor = _REGIONAL_PREMIUM if price.regional_premium and not is_global else 1.0
    return price.input_usd_per_mtok * factor, price.output_usd_per_mtok * factor


def estimate_cost_usd(
    model_id: str,
    input_tokens: int,
    output_tokens: int,
    *,
    override: tuple[float | None, float | None] = (None, None),
) -> float | None:
    """Estimated USD cost of one call; ``None`` when the model has no known price."""
    table = price_for(model_id)
    input_price = override[0] if override[0] is not None else (table[0] if table else None)
    output_price = override[1] if override[1] is not None else (table[1] if table else None)
    if input_price is None or output_price is None:
        return None
    return round((input_tokens * input_price + output_tokens * output_price) / 1_000_000, 10)
