"""A small, strict evaluator of synthesized IAM policy documents, for tests only.

Why this exists (findings, 2026-11)
===================================
The tests must decide allow/deny for a request matrix against the *synthesized* policies
(identity policies, permissions boundary, SCPs), with real condition semantics. Candidates
tried, each installed into /tmp only (never into the project venv) and read in site-packages:

* ``moto`` 5.2.5 (``moto/iam/access_control.py``, ``moto/iam/policy_conditions.py``) -
  rejected. Its own module docstring says "TODO add support for the Resource and Condition
  parts of IAM policies". ``CONDITION_OPERATIONS`` holds ``StringEquals`` only and
  ``TrustCondition.verify_condition`` returns True for every other operator ("If the
  evaluation operation is not supported, ignore condition evaluation"), so a
  ``StringNotEquals`` Deny is silently ignored. A key missing from the request makes even
  ``StringEquals`` pass, a failing condition on an *Allow* statement returns DENIED (it should
  just not apply), ``*`` becomes ``.*`` without escaping ``.`` and ``?`` is not a wildcard,
  actions match case-sensitively, and there are no permissions boundaries or SCPs.
* ``policyuniverse`` 1.5.1.20231109 - rejected: parses policies and extracts condition values
  (``is_internet_accessible``, ``whos_allowed``); it has no request evaluation at all.
* ``policyglass`` 0.8.0 - rejected: computes symbolic "effective permissions"; conditions
  are carried along as opaque ``EffectiveCondition`` sets and never decided against a request
  context (its ``StringNotEquals`` "reversal" also ignores the missing-key rule).
* ``principalmapper`` 1.1.5 (``querying/local_policy_simulation.py``) - the closest, but
  rejected: last release 2022-01; it matches resources case-*insensitively* (``re.IGNORECASE``
  in ``_compose_pattern``); ``StringNotLike`` on a missing key returns False (AWS: True);
  unknown operators silently pass; it needs its graph ``Node`` model for boundaries/SCPs.
* ``aws-why`` 0.5.0 - rejected: a Rust CLI that calls the AWS IAM policy simulator API
  (needs an account; this machine has none).
* ``iamspy`` 0.0.1 - rejected: the published wheel contains no code (only dist-info).
* ``cfn-policy-validator`` / ``iam-policy-validator`` - validators, not evaluators; the
  former calls IAM Access Analyzer (needs an account).

So this module implements exactly the subset the landing zone needs, following the IAM User
Guide, and raises :class:`UnsupportedPolicyFeature` for anything outside it instead of
guessing. Sources (all in the IAM User Guide unless noted):

* reference_policies_evaluation-logic.html and ..._policy-eval-denyallow.html - implicit deny
  by default, an explicit deny in any policy wins; identity and same-account resource-based
  policies are a union; identity policies and a permissions boundary intersect.
* reference_policies_evaluation-logic_policy-eval-basics.html - the single-account flow for a
  role; access_policies_boundaries.html - a boundary also limits resource-based grants made to
  a role ARN.
* AWS Organizations User Guide, orgs_manage_policies_scps_evaluation.html - an SCP ``Allow``
  is needed at every level from the root to the account.
* reference_policies_elements_action.html (action prefix and name are case-insensitive,
  ``*`` and ``?``), reference_policies_elements_notaction.html,
  reference_policies_elements_resource.html (``*``/``?`` within ARN segments; a ``*`` that is
  the last character of a segment may match across colons; user names are case-sensitive).
* reference_policies_elements_condition.html (condition key names are case-insensitive),
  reference_policies_elements_condition_operators.html (a key missing from the request makes
  a condition false, but true for negated operators such as ``StringNotLike``/``ArnNotLike``;
  except ``...IfExists`` and ``Null``; ARN operators compare the six colon-delimited
  components separately), reference_policies_condition-logic-multiple-context-keys-or-values
  .html (operators AND, keys AND, values OR, values of a negated operator NOR) and
  reference_policies_condition-single-vs-multi-valued-context-keys.html (``ForAllValues`` is
  true when the key is missing or empty, ``ForAnyValue`` is false then).

Supported: ``Version``/``Id``/``Statement``; ``Sid``, ``Effect``, ``Action``/``NotAction``,
``Resource``/``NotResource``, ``Condition``; in a resource policy also ``Principal`` (``*``,
``AWS`` role/account principals, ``Service``). Operators: ``StringEquals``,
``StringNotEquals``, ``StringEqualsIgnoreCase``, ``StringNotEqualsIgnoreCase``,
``StringLike``, ``StringNotLike``, ``ArnEquals``, ``ArnNotEquals``, ``ArnLike``,
``ArnNotLike``, ``Bool``, ``Null``; each (except ``Null``) with ``IfExists``; the string and
ARN ones with ``ForAnyValue:``/``ForAllValues:``.

Policy variables (``${aws:PrincipalTag/Team}``, IAM User Guide "IAM policy elements: Variables and
tags") only as values of a plain ``StringEquals``/``StringLike``.

Not modelled, and raising rather than guessing: policy variables elsewhere, numeric, date,
IP and binary operators, set operators combined with ``IfExists``, ``NotPrincipal``,
federated/canonical principals, non-role principals with a resource policy, multivalued
request keys without a set operator. Not modelled at all (the caller must not rely on them):
session policies, RCPs, cross-account requests, the management account and service-linked
roles (which SCPs do not affect), and service-specific authorization quirks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

PolicyDocument = Mapping[str, Any]
ContextValue = str | Sequence[str]
PolicyType = Literal["identity", "boundary", "scp", "resource"]

__all__ = [
    "FULL_AWS_ACCESS",
    "ContextValue",
    "Decision",
    "MatchedStatement",
    "PolicyDocument",
    "Request",
    "TemplatePolicy",
    "UnresolvedIntrinsic",
    "UnsupportedPolicyFeature",
    "evaluate",
    "resolve_template_policies",
    "resolve_value",
    "role_identity_policies",
    "role_permissions_boundary",
    "service_control_policies",
]

#: The AWS managed SCP ``FullAWSAccess`` that Organizations attaches at every level by default.
FULL_AWS_ACCESS: PolicyDocument = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class UnsupportedPolicyFeature(ValueError):
    """The policy (or request) uses something this evaluator does not model."""


@dataclass(frozen=True)
class Request:
    """One authorization request.

    ``context`` keys are matched case-insensitively. A value is a string, or a list of strings
    for a multivalued key (an empty list is treated as an absent key). ``principal`` is the
    calling role's ARN; it is only needed when a resource policy is evaluated.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    principal: str | None = None


@dataclass(frozen=True)
class MatchedStatement:
    """A statement that applied to the request."""

    policy_type: PolicyType
    policy_name: str
    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]

    def __str__(self) -> str:
        sid = f" ({self.sid})" if self.sid else ""
        return f"{self.policy_type}:{self.policy_name}#{self.index}{sid}"


@dataclass(frozen=True)
class Decision:
    """The outcome. ``statements`` are the deciding statements (denies, or the allows)."""

    effect: Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
    reason: str
    statements: tuple[MatchedStatement, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"

    def __str__(self) -> str:
        return f"{self.effect}: {self.reason}"


# --------------------------------------------------------------------------- parsing

_KNOWN_TOP = {"Version", "Id", "Statement"}
_KNOWN_STMT = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
_VERSIONS = {"2012-10-17", "2008-10-17"}

# canonical name -> (family, negated)
_OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("string", False),
    "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string_ic", False),
    "StringNotEqualsIgnoreCase": ("string_ic", True),
    "StringLike": ("string_like", False),
    "StringNotLike": ("string_like", True),
    "ArnEquals": ("arn", False),
    "ArnNotEquals": ("arn", True),
    "ArnLike": ("arn", False),
    "ArnNotLike": ("arn", True),
    "Bool": ("bool", False),
    "Null": ("null", False),
}
_OPERATORS_LOWER = {name.lower(): name for name in _OPERATORS}
_NOT_MODELLED = {
    name.lower()
    for name in (
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "IpAddress",
        "NotIpAddress",
        "BinaryEquals",
    )
}
_ACCOUNT_ID = re.compile(r"\d{12}")
_ROOT_ARN = re.compile(r"arn:[a-z-]+:iam::(\d{12}):root")


@dataclass(frozen=True)
class _Condition:
    operator: str  # as written, for messages
    name: str  # canonical base operator
    set_op: Literal["ForAnyValue", "ForAllValues"] | None
    if_exists: bool
    key: str  # lower-cased
    values: tuple[str, ...]


@dataclass(frozen=True)
class _Principal:
    anyone: bool
    arns: frozenset[str]
    accounts: frozenset[str]
    services: frozenset[str]


@dataclass(frozen=True)
class _Statement:
    policy_type: PolicyType
    policy_name: str
    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[_Condition, ...]
    principal: _Principal | None

    def matched(self) -> MatchedStatement:
        return MatchedStatement(
            self.policy_type, self.policy_name, self.index, self.sid, self.effect
        )


def _where(policy_type: str, name: str, index: int | None = None) -> str:
    return f"{policy_type} policy {name!r}" + (f" statement {index}" if index is not None else "")


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise UnsupportedPolicyFeature(f"{what} must be a non-empty string or list of strings")
    return tuple(items)


def _condition_values(raw: Any, what: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise UnsupportedPolicyFeature(f"{what}: empty value list")
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str):
            out.append(item)
        else:
            raise UnsupportedPolicyFeature(f"{what}: value {item!r} is not a string or boolean")
    return tuple(out)


def _parse_operator(operator: str, where: str) -> tuple[str, Any, bool]:
    rest = operator
    set_op: Literal["ForAnyValue", "ForAllValues"] | None = None
    if ":" in rest:
        prefix, rest = rest.split(":", 1)
        if prefix.lower() == "foranyvalue":
            set_op = "ForAnyValue"
        elif prefix.lower() == "forallvalues":
            set_op = "ForAllValues"
        else:
            raise UnsupportedPolicyFeature(f"{where}: unknown set operator in {operator!r}")
    if_exists = rest.lower().endswith("ifexists")
    base = rest[: -len("IfExists")] if if_exists else rest
    name = _OPERATORS_LOWER.get(base.lower())
    if name is None:
        if base.lower() in _NOT_MODELLED:
            raise UnsupportedPolicyFeature(f"{where}: operator {operator!r} is not modelled")
        raise UnsupportedPolicyFeature(f"{where}: unknown condition operator {operator!r}")
    family = _OPERATORS[name][0]
    if family == "null" and (if_exists or set_op):
        raise UnsupportedPolicyFeature(f"{where}: {operator!r} (Null takes no prefix/suffix)")
    if family == "bool" and set_op:
        raise UnsupportedPolicyFeature(f"{where}: {operator!r} is not modelled")
    if set_op and if_exists:
        # AWS documents neither combination's missing-key result precisely; do not guess.
        raise UnsupportedPolicyFeature(f"{where}: {operator!r} (set operator with IfExists)")
    return name, set_op, if_exists


def _parse_conditions(raw: Any, where: str) -> tuple[_Condition, ...]:
    if not isinstance(raw, Mapping):
        raise UnsupportedPolicyFeature(f"{where}: Condition must be an object")
    out: list[_Condition] = []
    for operator, block in raw.items():
        name, set_op, if_exists = _parse_operator(str(operator), where)
        if not isinstance(block, Mapping) or not block:
            raise UnsupportedPolicyFeature(f"{where}: {operator} must map keys to values")
        seen: set[str] = set()
        for key, raw_values in block.items():
            lowered = str(key).lower()
            if lowered in seen:
                raise UnsupportedPolicyFeature(f"{where}: key {key!r} repeated in {operator}")
            seen.add(lowered)
            values = _condition_values(raw_values, f"{where} {operator} {key}")
            _check_variables(str(key), values, name, set_op, if_exists, where)
            if _OPERATORS[name][0] in {"bool", "null"} and any(
                v.lower() not in {"true", "false"} for v in values
            ):
                raise UnsupportedPolicyFeature(f"{where}: {operator} needs true/false values")
            if _OPERATORS[name][0] == "arn":
                for value in values:
                    if len(value.split(":", 5)) != 6:
                        raise UnsupportedPolicyFeature(
                            f"{where}: {operator} value {value!r} is not a 6-component ARN"
                        )
            out.append(_Condition(str(operator), name, set_op, if_exists, lowered, values))
    return tuple(out)


def _parse_principal(raw: Any, where: str) -> _Principal:
    if raw == "*":
        return _Principal(True, frozenset(), frozenset(), frozenset())
    if not isinstance(raw, Mapping) or not raw:
        raise UnsupportedPolicyFeature(f"{where}: unsupported Principal {raw!r}")
    anyone = False
    arns: set[str] = set()
    accounts: set[str] = set()
    services: set[str] = set()
    for kind, value in raw.items():
        entries = _str_list(value, f"{where} Principal.{kind}")
        if kind == "AWS":
            for entry in entries:
                root = _ROOT_ARN.fullmatch(entry)
                if entry == "*":
                    anyone = True
                elif _ACCOUNT_ID.fullmatch(entry):
                    accounts.add(entry)
                elif root:
                    accounts.add(root.group(1))
                elif entry.startswith("arn:") and ":role/" in entry:
                    arns.add(entry)
                else:
                    raise UnsupportedPolicyFeature(f"{where}: principal {entry!r} not modelled")
        elif kind == "Service":
            services.update(entries)
        else:
            raise UnsupportedPolicyFeature(f"{where}: Principal type {kind!r} not modelled")
    return _Principal(anyone, frozenset(arns), frozenset(accounts), frozenset(services))


def _check_no_variables(node: Any, where: str) -> None:
    if isinstance(node, str):
        if "${" in node:
            raise UnsupportedPolicyFeature(f"{where}: policy variable in {node!r}")
    elif isinstance(node, Mapping):
        for key, value in node.items():
            _check_no_variables(key, where)
            _check_no_variables(value, where)
    elif isinstance(node, list):
        for value in node:
            _check_no_variables(value, where)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _check_variables(
    key: str, values: Sequence[str], name: str, set_op: str | None, if_exists: bool, where: str
) -> None:
    """Policy variables are modelled in one place only: the values of a plain, positive
    ``StringEquals``/``StringLike`` condition (e.g. ``aws:ResourceTag/Team`` equal to
    ``${aws:PrincipalTag/Team}``, the attribute-based access control pattern)."""
    if not any("${" in v for v in values):
        return
    if name not in ("StringEquals", "StringLike") or set_op is not None or if_exists:
        raise UnsupportedPolicyFeature(
            f"{where}: policy variable in {name} {key}: only plain StringEquals/StringLike "
            "values are modelled"
        )
    for value in values:
        for variable in _VARIABLE.findall(value):
            if "," in variable:
                raise UnsupportedPolicyFeature(f"{where}: policy variable defaults not modelled")


def _substitute(value: str, context: Mapping[str, list[str]]) -> str | None:
    """``value`` with its policy variables replaced from the request (IAM User Guide, "IAM
    policy elements: Variables and tags"): ``${*}``, ``${?}``, ``${$}`` are the literal
    characters; a variable whose key is absent from the request makes the value match nothing
    (None); a multivalued key cannot be a variable."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _ESCAPES:
            return _ESCAPES[name]
        found = context.get(name.lower())
        if not found:
            missing = True
            return ""
        if len(found) != 1:
            raise UnsupportedPolicyFeature(f"policy variable ${{{name}}} is multivalued")
        return found[0]

    out = _VARIABLE.sub(replace, value)
    return None if missing else out


def _parse_policy(document: PolicyDocument, policy_type: PolicyType, name: str) -> list[_Statement]:
    where = _where(policy_type, name)
    if not isinstance(document, Mapping):
        raise UnsupportedPolicyFeature(f"{where}: a policy document must be an object")
    unknown = set(document) - _KNOWN_TOP
    if unknown:
        raise UnsupportedPolicyFeature(f"{where}: unknown top-level element(s) {sorted(unknown)}")
    if "Version" in document and document["Version"] not in _VERSIONS:
        raise UnsupportedPolicyFeature(f"{where}: unknown Version {document['Version']!r}")
    _check_no_variables({k: v for k, v in document.items() if k != "Statement"}, where)
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise UnsupportedPolicyFeature(f"{where}: Statement must be an object or a list")
    statements: list[_Statement] = []
    for index, raw in enumerate(raw_statements):
        at = _where(policy_type, name, index)
        if not isinstance(raw, Mapping):
            raise UnsupportedPolicyFeature(f"{at}: a statement must be an object")
        allowed_keys = _KNOWN_STMT | ({"Principal"} if policy_type == "resource" else set())
        unknown = set(raw) - allowed_keys
        if unknown:
            raise UnsupportedPolicyFeature(f"{at}: element(s) {sorted(unknown)} not modelled")
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicyFeature(f"{at}: Effect must be 'Allow' or 'Deny'")
        _check_no_variables({k: v for k, v in raw.items() if k != "Condition"}, at)
        if ("Action" in raw) == ("NotAction" in raw):
            raise UnsupportedPolicyFeature(f"{at}: exactly one of Action/NotAction is required")
        if ("Resource" in raw) == ("NotResource" in raw):
            raise UnsupportedPolicyFeature(f"{at}: exactly one of Resource/NotResource is required")
        action_key = "Action" if "Action" in raw else "NotAction"
        resource_key = "Resource" if "Resource" in raw else "NotResource"
        actions = _str_list(raw[action_key], f"{at} {action_key}")
        for action in actions:
            if action != "*" and len(action.split(":")) != 2:
                raise UnsupportedPolicyFeature(f"{at}: action {action!r} is not service:name")
        principal = None
        if policy_type == "resource":
            if "Principal" not in raw:
                raise UnsupportedPolicyFeature(f"{at}: a resource policy statement needs Principal")
            principal = _parse_principal(raw["Principal"], at)
        sid = raw.get("Sid")
        statements.append(
            _Statement(
                policy_type=policy_type,
                policy_name=name,
                index=index,
                sid=str(sid) if sid is not None else None,
                effect=effect,
                actions=actions,
                not_action=action_key == "NotAction",
                resources=_str_list(raw[resource_key], f"{at} {resource_key}"),
                not_resource=resource_key == "NotResource",
                conditions=_parse_conditions(raw.get("Condition", {}), at),
                principal=principal,
            )
        )
    return statements


def _named(
    policies: Sequence[PolicyDocument] | Mapping[str, PolicyDocument], policy_type: str
) -> list[tuple[str, PolicyDocument]]:
    if isinstance(policies, Mapping):
        if "Statement" in policies:
            raise TypeError(f"{policy_type} policies: pass a list of documents, not one document")
        return [(str(name), doc) for name, doc in policies.items()]
    return [(f"#{i}", doc) for i, doc in enumerate(policies)]


# --------------------------------------------------------------------------- matching


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool, arn_segments: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character; everything else literal.

    With ``arn_segments`` (the Resource element) a ``*`` matches across ``:`` only when it is
    the last character of its segment, and ``?`` never matches ``:``.
    """
    parts: list[str] = []
    for i, char in enumerate(pattern):
        if char == "*":
            last_in_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            parts.append(".*" if not arn_segments or last_in_segment else "[^:]*")
        elif char == "?":
            parts.append("[^:]" if arn_segments else ".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def _action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, ignore_case=True, arn_segments=False).fullmatch(action) is not None


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    return _glob(pattern, ignore_case=False, arn_segments=True).fullmatch(resource) is not None


def _arn_matches(pattern: str, value: str, where: str) -> bool:
    value_parts = value.split(":", 5)
    if len(value_parts) != 6:
        raise UnsupportedPolicyFeature(f"{where}: request value {value!r} is not an ARN")
    return all(
        _glob(p, ignore_case=False, arn_segments=False).fullmatch(v) is not None
        for p, v in zip(pattern.split(":", 5), value_parts, strict=True)
    )


def _value_matches(
    cond: _Condition, value: str, where: str, context: Mapping[str, list[str]] | None = None
) -> bool:
    """The positive (non-negated) match of one request value against the policy values (OR)."""
    family = _OPERATORS[cond.name][0]
    candidates = [
        p
        for p in (_substitute(v, context or {}) if "${" in v else v for v in cond.values)
        if p is not None
    ]
    if family == "string":
        return value in candidates
    if family == "string_ic":
        return value.lower() in {v.lower() for v in cond.values}
    if family == "string_like":
        return any(
            _glob(p, ignore_case=False, arn_segments=False).fullmatch(value) for p in candidates
        )
    if family == "arn":
        return any(_arn_matches(p, value, where) for p in cond.values)
    if family == "bool":
        return value.lower() in {v.lower() for v in cond.values}
    raise AssertionError(family)  # pragma: no cover - Null is handled by the caller


def _condition_holds(cond: _Condition, context: Mapping[str, list[str]], where: str) -> bool:
    values = context.get(cond.key)
    present = bool(values)
    negated = _OPERATORS[cond.name][1]
    if cond.name == "Null":
        return any((v.lower() == "true") != present for v in cond.values)
    if cond.set_op is not None:
        if not present:
            return cond.set_op == "ForAllValues"
        assert values is not None
        results = [_value_matches(cond, v, where) != negated for v in values]
        return all(results) if cond.set_op == "ForAllValues" else any(results)
    if not present:
        return cond.if_exists or negated
    assert values is not None
    if len(values) != 1:
        raise UnsupportedPolicyFeature(
            f"{where}: {cond.operator} on multivalued key {cond.key!r}"
            " needs ForAnyValue/ForAllValues"
        )
    return _value_matches(cond, values[0], where, context) != negated


def _principal_account(principal: str) -> str:
    parts = principal.split(":")
    return parts[4] if len(parts) >= 6 else ""


def _applies(stmt: _Statement, request: Request, context: Mapping[str, list[str]]) -> bool:
    action_hit = any(_action_matches(p, request.action) for p in stmt.actions)
    if action_hit == stmt.not_action:
        return False
    resource_hit = any(_resource_matches(p, request.resource) for p in stmt.resources)
    if resource_hit == stmt.not_resource:
        return False
    if stmt.principal is not None and not _principal_hit(stmt, request, direct_only=False):
        return False
    where = _where(stmt.policy_type, stmt.policy_name, stmt.index)
    return all(_condition_holds(c, context, where) for c in stmt.conditions)


def _principal_hit(stmt: _Statement, request: Request, *, direct_only: bool) -> bool:
    """Whether the statement's Principal names the caller.

    An account principal (``123456789012`` or ``arn:aws:iam::123456789012:root``) names every
    principal of that account for a Deny, but in an Allow it only delegates to the account's
    identity policies (it grants nothing by itself), so ``direct_only`` excludes it.
    """
    principal = stmt.principal
    assert principal is not None and request.principal is not None
    if principal.anyone or request.principal in principal.arns:
        return True
    if request.principal in principal.services:
        return True
    return not direct_only and _principal_account(request.principal) in principal.accounts


# --------------------------------------------------------------------------- evaluation


def _normalize_context(context: Mapping[str, ContextValue]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in context.items():
        lowered = key.lower()
        if lowered in out:
            raise ValueError(f"request context key {key!r} given twice (keys are case-insensitive)")
        if isinstance(value, str):
            out[lowered] = [value]
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            out[lowered] = list(value)
        else:
            raise TypeError(f"request context {key!r}: value must be str or list[str]")
    return out


def _scp_levels(
    scps: Sequence[PolicyDocument] | Sequence[Sequence[PolicyDocument]],
) -> list[list[tuple[str, PolicyDocument]]]:
    if isinstance(scps, Mapping):
        raise TypeError("scps: pass a list of SCP documents (or a list of levels), not one")
    if not scps or any(not isinstance(item, Mapping) and not item for item in scps):
        raise ValueError("scps: an empty list or level would deny everything; pass None instead")
    if all(isinstance(item, Mapping) for item in scps):
        return [[(f"#{i}", doc) for i, doc in enumerate(scps)]]  # type: ignore[misc]
    levels: list[list[tuple[str, PolicyDocument]]] = []
    for level_index, level in enumerate(scps):
        if isinstance(level, Mapping) or not isinstance(level, Sequence):
            raise TypeError("scps: mix of documents and levels; pass one form only")
        levels.append([(f"L{level_index}#{i}", doc) for i, doc in enumerate(level)])
    return levels


def _parse_all(
    named: Iterable[tuple[str, PolicyDocument]], policy_type: PolicyType
) -> list[_Statement]:
    out: list[_Statement] = []
    for name, document in named:
        out.extend(_parse_policy(document, policy_type, name))
    return out


def evaluate(
    request: Request,
    identity_policies: Sequence[PolicyDocument] | Mapping[str, PolicyDocument],
    *,
    boundary: PolicyDocument | None = None,
    scps: Sequence[PolicyDocument] | Sequence[Sequence[PolicyDocument]] | None = None,
    resource_policy: PolicyDocument | None = None,
) -> Decision:
    """Decide ``request`` for an IAM role in a single account.

    ``identity_policies``: the role's policies (a list, or a mapping name -> document for
    nicer messages). ``boundary``: its permissions boundary, if any. ``scps``: either a flat
    list of SCPs that all apply at one level, or a list of levels (root, OUs..., account),
    each a list of SCPs; every level needs an Allow. ``resource_policy``: the target
    resource's policy in the same account (needs ``request.principal``).

    Every policy given is parsed in full first, so an unsupported construct anywhere raises
    :class:`UnsupportedPolicyFeature` even if it would not have mattered for this request.
    """
    if ":" not in request.action or any(c in request.action for c in "*?"):
        raise ValueError(f"request action {request.action!r} must be service:Name, no wildcards")
    context = _normalize_context(request.context)

    identity = _parse_all(_named(identity_policies, "identity"), "identity")
    boundary_stmts = (
        _parse_all([("boundary", boundary)], "boundary") if boundary is not None else []
    )
    scp_levels = (
        [_parse_all(level, "scp") for level in _scp_levels(scps)] if scps is not None else []
    )
    resource_stmts: list[_Statement] = []
    if resource_policy is not None:
        if request.principal is None:
            raise ValueError("a resource policy needs request.principal (the role ARN)")
        if ":role/" not in request.principal:
            raise UnsupportedPolicyFeature("only IAM role principals are modelled")
        resource_stmts = _parse_all([("resource", resource_policy)], "resource")

    everything = [*identity, *boundary_stmts, *(s for lvl in scp_levels for s in lvl)]
    everything.extend(resource_stmts)
    applying = [s for s in everything if _applies(s, request, context)]

    denies = tuple(s.matched() for s in applying if s.effect == "Deny")
    if denies:
        return Decision("ExplicitDeny", "denied by " + ", ".join(map(str, denies)), denies)

    applying_ids = {id(s) for s in applying}  # all Allow statements now
    for level_index, level in enumerate(scp_levels):
        if not any(id(s) in applying_ids for s in level):
            return Decision("ImplicitDeny", f"no SCP at level {level_index} allows the request")

    identity_allows = [s.matched() for s in identity if id(s) in applying_ids]
    resource_allows = [
        s.matched()
        for s in resource_stmts
        if id(s) in applying_ids and _principal_hit(s, request, direct_only=True)
    ]
    if not identity_allows and not resource_allows:
        return Decision("ImplicitDeny", "no identity-based or resource-based policy allows it")
    if boundary is not None and not any(id(s) in applying_ids for s in boundary_stmts):
        return Decision("ImplicitDeny", "the permissions boundary does not allow it")
    granted = tuple(identity_allows + resource_allows)
    return Decision("Allow", "allowed by " + ", ".join(map(str, granted)), granted)


# --------------------------------------------------------------------------- templates


class UnresolvedIntrinsic(ValueError):
    """A CloudFormation intrinsic could not be resolved to a plain value."""


TemplatePolicyKind = Literal["identity", "trust", "scp", "resource"]

_PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix")
_RESOURCE_POLICY_PROPS = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
}
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class TemplatePolicy:
    """One policy document found in a template, with its intrinsics resolved.

    ``name`` is the resource's logical id, or ``<RoleLogicalId>/<PolicyName>`` for a role's
    inline policy, or ``<RoleLogicalId>/AssumeRolePolicyDocument``. ``roles`` lists the role
    logical ids an identity policy is attached to (``Roles``/``Policies``/``ManagedPolicyArns``).
    """

    name: str
    logical_id: str
    resource_type: str
    kind: TemplatePolicyKind
    document: dict[str, Any]
    roles: tuple[str, ...] = ()


class _Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        account: str,
        region: str,
        partition: str,
        refs: Mapping[str, str] | None,
    ) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.partition = partition
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        self.pseudo = dict(zip(_PSEUDO, (account, region, partition, suffix), strict=True))
        self.refs = dict(refs or {})

    def props(self, logical_id: str) -> Mapping[str, Any]:
        props: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        return props

    def of_type(self, resource_type: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r.get("Type") == resource_type]

    def ref(self, name: str, where: str) -> str:
        if name in self.refs:
            return self.refs[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if self.resources.get(name, {}).get("Type") == "AWS::IAM::ManagedPolicy":
            arn = self.managed_policy_arn(name)
            if arn is not None:
                return arn
        raise UnresolvedIntrinsic(f"{where}: Ref {name!r} (pass it in refs)")

    def get_att(self, logical_id: str, attribute: str, where: str) -> str:
        key = f"{logical_id}.{attribute}"
        if key in self.refs:
            return self.refs[key]
        raise UnresolvedIntrinsic(f"{where}: Fn::GetAtt {key!r} (pass it in refs)")

    def managed_policy_arn(self, logical_id: str) -> str | None:
        if logical_id in self.refs:
            return self.refs[logical_id]
        props = self.props(logical_id)
        if "ManagedPolicyName" not in props:
            return None
        name = self.string(props["ManagedPolicyName"], logical_id)
        path = self.string(props.get("Path", "/"), logical_id)
        return f"arn:{self.partition}:iam::{self.pseudo['AWS::AccountId']}:policy{path}{name}"

    def string(self, node: Any, where: str) -> str:
        value = self.resolve(node, where)
        if not isinstance(value, str):
            raise UnresolvedIntrinsic(f"{where}: expected a string, got {value!r}")
        return value

    def sub(self, raw: Any, where: str) -> str:
        if isinstance(raw, list) and len(raw) == 2 and isinstance(raw[1], Mapping):
            text, variables = raw[0], {k: self.string(v, where) for k, v in raw[1].items()}
        elif isinstance(raw, str):
            text, variables = raw, {}
        else:
            raise UnresolvedIntrinsic(f"{where}: unsupported Fn::Sub form {raw!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if "." in name and name not in self.pseudo:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute, where)
            return self.ref(name, where)

        return _SUB_VAR.sub(replace, text)

    def resolve(self, node: Any, where: str) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, where) for item in node]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(str(arg), where)
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if not isinstance(parts, list) or len(parts) != 2:
                    raise UnresolvedIntrinsic(f"{where}: unsupported Fn::GetAtt {arg!r}")
                return self.get_att(str(parts[0]), self.string(parts[1], where), where)
            if key == "Fn::Join":
                delimiter, items = arg
                return self.string(delimiter, where).join(
                    self.string(item, where) for item in self.resolve(items, where)
                )
            if key == "Fn::Sub":
                return self.sub(arg, where)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items, where)[int(self.resolve(index, where))]
            if key == "Fn::Split":
                delimiter, text = arg
                return self.string(text, where).split(self.string(delimiter, where))
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvedIntrinsic(f"{where}: intrinsic {key} is not supported")
        return {key: self.resolve(value, where) for key, value in node.items()}

    def document(self, node: Any, where: str) -> dict[str, Any]:
        value = self.resolve(node, where)
        if isinstance(value, str):  # e.g. Organizations policy Content given as a JSON string
            value = json.loads(value)
        if not isinstance(value, dict):
            raise UnresolvedIntrinsic(f"{where}: not a policy document: {value!r}")
        return value


def _roles_of(resolver: _Resolver, logical_id: str) -> tuple[str, ...]:
    """The ``Roles`` of a policy resource: logical ids for ``{"Ref": id}`` entries, and
    ``name:<RoleName>`` for entries that resolve to a literal role name."""
    out: list[str] = []
    for entry in resolver.props(logical_id).get("Roles", []):
        if (
            isinstance(entry, Mapping)
            and set(entry) == {"Ref"}
            and entry["Ref"] in resolver.resources
        ):
            out.append(str(entry["Ref"]))
        else:
            out.append("name:" + resolver.string(entry, f"{logical_id} Roles"))
    return tuple(out)


def _role_keys(resolver: _Resolver, role_id: str) -> set[str]:
    """How a policy's ``Roles``/``RoleName`` can name this role (see :func:`_roles_of`)."""
    keys = {role_id}
    if "RoleName" in resolver.props(role_id):
        keys.add("name:" + resolver.string(resolver.props(role_id)["RoleName"], role_id))
    return keys


def _role_managed_policy_refs(resolver: _Resolver, role_id: str) -> list[Any]:
    return list(resolver.props(role_id).get("ManagedPolicyArns", []))


def _identity_policies(resolver: _Resolver) -> list[TemplatePolicy]:
    out: list[TemplatePolicy] = []
    managed = resolver.of_type("AWS::IAM::ManagedPolicy")
    attached_by_role: dict[str, list[str]] = {lid: [] for lid in managed}
    for role_id in resolver.of_type("AWS::IAM::Role"):
        for entry in _role_managed_policy_refs(resolver, role_id):
            if isinstance(entry, Mapping) and entry.get("Ref") in attached_by_role:
                attached_by_role[entry["Ref"]].append(role_id)
        for inline in resolver.props(role_id).get("Policies", []):
            name = f"{role_id}/{resolver.string(inline['PolicyName'], role_id)}"
            doc = resolver.document(inline["PolicyDocument"], name)
            out.append(TemplatePolicy(name, role_id, "AWS::IAM::Role", "identity", doc, (role_id,)))
    for lid in managed:
        roles = tuple(dict.fromkeys((*_roles_of(resolver, lid), *attached_by_role[lid])))
        doc = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
        out.append(TemplatePolicy(lid, lid, "AWS::IAM::ManagedPolicy", "identity", doc, roles))
    for lid in resolver.of_type("AWS::IAM::Policy"):
        doc = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
        roles = _roles_of(resolver, lid)
        out.append(TemplatePolicy(lid, lid, "AWS::IAM::Policy", "identity", doc, roles))
    for lid in resolver.of_type("AWS::IAM::RolePolicy"):
        role = resolver.props(lid).get("RoleName")
        if not (isinstance(role, Mapping) and set(role) == {"Ref"}):
            raise UnresolvedIntrinsic(f"{lid}: RoleName {role!r} is not a Ref")
        doc = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
        out.append(
            TemplatePolicy(lid, lid, "AWS::IAM::RolePolicy", "identity", doc, (str(role["Ref"]),))
        )
    return out


def resolve_template_policies(
    template: Mapping[str, Any],
    *,
    account: str,
    region: str,
    partition: str = "aws",
    refs: Mapping[str, str] | None = None,
) -> list[TemplatePolicy]:
    """Every policy document in ``template`` with intrinsics resolved.

    Resolved: ``Ref`` of ``AWS::AccountId``/``AWS::Region``/``AWS::Partition``/
    ``AWS::URLSuffix``, ``Fn::Join``, ``Fn::Sub`` (string or ``[string, vars]``; ``${!x}``
    stays literal), ``Fn::Select``, ``Fn::Split``, and ``Ref``/``Fn::GetAtt`` through ``refs``
    (``"LogicalId"`` for a Ref, ``"LogicalId.Attribute"`` for a GetAtt, e.g.
    ``{"GuardrailXYZ.GuardrailArn": "arn:aws:bedrock:us-east-1:111122223333:guardrail/abc"}``).
    A ``Ref`` to an ``AWS::IAM::ManagedPolicy`` with a literal ``ManagedPolicyName`` resolves
    to its ARN. Anything else raises :class:`UnresolvedIntrinsic`.

    Covers role inline policies, ``AWS::IAM::ManagedPolicy``/``Policy``/``RolePolicy``
    (kind ``identity``), role trust policies (``trust``), ``AWS::Organizations::Policy`` of
    type ``SERVICE_CONTROL_POLICY`` (``scp``) and KMS key, S3 bucket, SQS queue and SNS topic
    policies (``resource``).
    """
    resolver = _Resolver(template, account=account, region=region, partition=partition, refs=refs)
    out = _identity_policies(resolver)
    for role_id in resolver.of_type("AWS::IAM::Role"):
        trust = resolver.props(role_id).get("AssumeRolePolicyDocument")
        if trust is not None:
            name = f"{role_id}/AssumeRolePolicyDocument"
            doc = resolver.document(trust, name)
            out.append(TemplatePolicy(name, role_id, "AWS::IAM::Role", "trust", doc, (role_id,)))
    out.extend(
        TemplatePolicy(lid, lid, "AWS::Organizations::Policy", "scp", doc)
        for lid, doc in _scps(resolver).items()
    )
    for resource_type, prop in _RESOURCE_POLICY_PROPS.items():
        for lid in resolver.of_type(resource_type):
            if prop in resolver.props(lid):
                doc = resolver.document(resolver.props(lid)[prop], lid)
                out.append(TemplatePolicy(lid, lid, resource_type, "resource", doc))
    return out


def _scps(resolver: _Resolver) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for lid in resolver.of_type("AWS::Organizations::Policy"):
        props = resolver.props(lid)
        if props.get("Type") == "SERVICE_CONTROL_POLICY":
            out[lid] = resolver.document(props["Content"], lid)
    return out


def _role(resolver: _Resolver, role_id: str) -> Mapping[str, Any]:
    if resolver.resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
        raise KeyError(f"{role_id!r} is not an AWS::IAM::Role in the template")
    return resolver.props(role_id)


def _policy_by_arn(
    resolver: _Resolver,
    arn: str,
    external_policies: Mapping[str, PolicyDocument] | None,
    where: str,
) -> tuple[str, PolicyDocument]:
    for lid in resolver.of_type("AWS::IAM::ManagedPolicy"):
        if resolver.managed_policy_arn(lid) == arn:
            return lid, resolver.document(resolver.props(lid)["PolicyDocument"], lid)
    if external_policies and arn in external_policies:
        return arn, external_policies[arn]
    raise UnresolvedIntrinsic(f"{where}: policy {arn} is not in the template (external_policies)")


def resolve_value(
    template: Mapping[str, Any],
    node: Any,
    *,
    account: str,
    region: str,
    partition: str = "aws",
    refs: Mapping[str, str] | None = None,
) -> Any:
    """``node`` (any part of ``template``) with its intrinsics resolved, as the policies are."""
    resolver = _Resolver(template, account=account, region=region, partition=partition, refs=refs)
    return resolver.resolve(node, "value")


def role_identity_policies(
    template: Mapping[str, Any],
    role_logical_id: str,
    *,
    account: str,
    region: str,
    partition: str = "aws",
    refs: Mapping[str, str] | None = None,
    external_policies: Mapping[str, PolicyDocument] | None = None,
) -> dict[str, PolicyDocument]:
    """All identity policies of a role, by name: inline ``Policies``, ``AWS::IAM::Policy``/
    ``ManagedPolicy``/``RolePolicy`` naming it, and ``ManagedPolicyArns``. A managed policy
    ARN that is not defined in the template (e.g. an AWS managed policy) must be supplied in
    ``external_policies`` (ARN -> document), or this raises :class:`UnresolvedIntrinsic`.
    Only these documents are resolved, so unrelated resources need no ``refs``.
    """
    resolver = _Resolver(template, account=account, region=region, partition=partition, refs=refs)
    props = _role(resolver, role_logical_id)
    out: dict[str, PolicyDocument] = {}
    for inline in props.get("Policies", []):
        name = f"{role_logical_id}/{resolver.string(inline['PolicyName'], role_logical_id)}"
        out[name] = resolver.document(inline["PolicyDocument"], name)
    keys = _role_keys(resolver, role_logical_id)
    for resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for lid in resolver.of_type(resource_type):
            if keys & set(_roles_of(resolver, lid)):
                out[lid] = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
    for lid in resolver.of_type("AWS::IAM::RolePolicy"):
        if resolver.props(lid).get("RoleName") == {"Ref": role_logical_id}:
            out[lid] = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
    for entry in _role_managed_policy_refs(resolver, role_logical_id):
        where = f"{role_logical_id} ManagedPolicyArns"
        if isinstance(entry, Mapping) and set(entry) == {"Ref"}:
            target = resolver.resources.get(str(entry["Ref"]), {})
            if target.get("Type") == "AWS::IAM::ManagedPolicy":
                lid = str(entry["Ref"])
                out[lid] = resolver.document(resolver.props(lid)["PolicyDocument"], lid)
                continue
        name, doc = _policy_by_arn(
            resolver, resolver.string(entry, where), external_policies, where
        )
        out[name] = doc
    return out


def role_permissions_boundary(
    template: Mapping[str, Any],
    role_logical_id: str,
    *,
    account: str,
    region: str,
    partition: str = "aws",
    refs: Mapping[str, str] | None = None,
    external_policies: Mapping[str, PolicyDocument] | None = None,
) -> PolicyDocument | None:
    """The role's ``PermissionsBoundary`` document, or None when it has none."""
    resolver = _Resolver(template, account=account, region=region, partition=partition, refs=refs)
    boundary = _role(resolver, role_logical_id).get("PermissionsBoundary")
    if boundary is None:
        return None
    where = f"{role_logical_id} PermissionsBoundary"
    if isinstance(boundary, Mapping) and set(boundary) == {"Ref"}:
        lid = str(boundary["Ref"])
        if resolver.resources.get(lid, {}).get("Type") == "AWS::IAM::ManagedPolicy":
            return resolver.document(resolver.props(lid)["PolicyDocument"], lid)
    return _policy_by_arn(resolver, resolver.string(boundary, where), external_policies, where)[1]


def service_control_policies(
    template: Mapping[str, Any],
    *,
    account: str,
    region: str,
    partition: str = "aws",
    refs: Mapping[str, str] | None = None,
) -> dict[str, PolicyDocument]:
    """``AWS::Organizations::Policy`` of type ``SERVICE_CONTROL_POLICY``, by logical id."""
    resolver = _Resolver(template, account=account, region=region, partition=partition, refs=refs)
    return dict(_scps(resolver))
