"""CloudFormation template values as readable text: literals as they are, intrinsic functions
as ``${...}`` placeholders (``${AWS::Region}``, ``${MyTopic}``, ``${MyAlarm.Arn}``,
``${split(MyBucket.Arn, '/')[1]}``...).

Shared by the readers of both pictures: the architecture diagram names what templates refer to
with it, the dashboard preview resolves a ``DashboardBody`` with it. Standard library only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["SUB_VAR", "intrinsic", "is_pair", "resolve_text", "sub_parts"]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_pair(arg: Any) -> bool:
    return isinstance(arg, list) and len(arg) == 2


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """(name, argument) when ``value`` is a one-key ``Ref``/``Fn::*``/``Condition`` object."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key in {"Ref", "Condition"} or key.startswith("Fn::"):
            return key, arg
    return None


def _scalar_text(value: Any, *, quote_strings: bool) -> str | None:
    """Text of a JSON scalar; None for lists and objects."""
    if isinstance(value, str):
        return _quote(value) if quote_strings else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null" if quote_strings else ""
    if isinstance(value, int | float):
        return _format_number(value)
    return None


def _getatt_expr(arg: Any) -> str | None:
    if isinstance(arg, str):
        return arg
    if is_pair(arg) and isinstance(arg[0], str):
        attr = arg[1] if isinstance(arg[1], str) else _expr(arg[1])
        return f"{arg[0]}.{attr}"
    return None


def _select_expr(arg: Any) -> str | None:
    if not is_pair(arg):
        return None
    index, items = arg
    if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
        return _expr(items[index])
    return f"{_expr(items)}[{index if isinstance(index, int) else _expr(index)}]"


def _if_expr(arg: Any) -> str | None:
    if not (isinstance(arg, list) and len(arg) == 3):
        return None
    condition = arg[0] if isinstance(arg[0], str) else _expr(arg[0])
    return f"if({condition}, {_expr(arg[1])}, {_expr(arg[2])})"


def _stack_output_expr(arg: Any) -> str | None:
    """A cross-stack reference as ``<stack>.<LogicalId>[.<Attribute>]`` (CDK's output names)."""
    if not isinstance(arg, dict) or not isinstance(arg.get("OutputName"), str):
        return None
    name = re.sub(r"[0-9A-F]{8}$", "", arg["OutputName"].removeprefix("PublishOutput"))
    name = re.sub(r"^(Ref|FnGetAtt)", "", name)
    stack = arg.get("StackName")
    prefix = f"{stack}." if isinstance(stack, str) else ""
    return f"{prefix}{name}"


_EXPRESSIONS: dict[str, Callable[[Any], str | None]] = {
    "Ref": lambda arg: arg if isinstance(arg, str) else None,
    "Condition": lambda arg: f"condition({arg})" if isinstance(arg, str) else None,
    "Fn::GetAtt": _getatt_expr,
    "Fn::Select": _select_expr,
    "Fn::Split": lambda arg: f"split({_expr(arg[1])}, {_expr(arg[0])})" if is_pair(arg) else None,
    "Fn::Join": lambda arg: f"join({_expr(arg[0])}, {_expr(arg[1])})" if is_pair(arg) else None,
    "Fn::ImportValue": lambda arg: f"import({_expr(arg)})",
    "Fn::Sub": lambda arg: f"sub({_expr(arg[0] if isinstance(arg, list) and arg else arg)})",
    "Fn::If": _if_expr,
    "Fn::GetStackOutput": _stack_output_expr,
}


def _expr(value: Any) -> str:
    """Readable expression text (without ``${}``) for an intrinsic or one of its arguments."""
    scalar = _scalar_text(value, quote_strings=True)
    if scalar is not None:
        return scalar
    if isinstance(value, list):
        return "[" + ", ".join(_expr(item) for item in value) + "]"
    found = intrinsic(value)
    if found is None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    name, arg = found
    handler = _EXPRESSIONS.get(name)
    text = handler(arg) if handler is not None else None
    if text is not None:
        return text
    short = name.removeprefix("Fn::")
    args = arg if isinstance(arg, list) else [arg]
    return short[:1].lower() + short[1:] + "(" + ", ".join(_expr(a) for a in args) + ")"


SUB_VAR = re.compile(r"\$\{([^}]*)\}")  # a ``${name}`` of an ``Fn::Sub`` string


def sub_parts(arg: Any) -> Iterable[tuple[bool, Any]]:
    """An ``Fn::Sub`` as (True, literal text) and (False, variable value or placeholder)."""
    if isinstance(arg, list) and arg:
        template = arg[0]
        variables = arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {}
    else:
        template, variables = arg, {}
    if not isinstance(template, str):
        yield False, "${" + _expr({"Fn::Sub": arg}) + "}"
        return
    pos = 0
    for match in SUB_VAR.finditer(template):
        yield True, template[pos : match.start()]
        name = match.group(1)
        if name.startswith("!"):
            yield True, "${" + name[1:] + "}"
        elif name in variables:
            yield False, variables[name]
        else:
            yield False, "${" + name + "}"
        pos = match.end()
    yield True, template[pos:]


def _spliced_text(name: str, arg: Any) -> str | None:
    """Text of the intrinsics that build a string from their parts, else None."""
    if name == "Fn::Join" and is_pair(arg) and isinstance(arg[1], list):
        return resolve_text(arg[0]).join(resolve_text(item) for item in arg[1])
    if name == "Fn::Sub":
        return "".join(part if literal else resolve_text(part) for literal, part in sub_parts(arg))
    if name == "Fn::Select" and is_pair(arg):
        index, items = arg
        if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
            return resolve_text(items[index])
    return None


def resolve_text(value: Any) -> str:
    """A template value as display text: literals as they are, intrinsics as ``${...}``.

    ``Fn::Join`` and ``Fn::Sub`` are spliced into text; ``Fn::Select`` of a literal list picks
    the element; every other intrinsic becomes one placeholder, e.g. ``{"Ref": "AWS::Region"}``
    -> ``${AWS::Region}`` and ``{"Fn::GetAtt": ["Topic", "TopicName"]}`` -> ``${Topic.TopicName}``.
    """
    scalar = _scalar_text(value, quote_strings=False)
    if scalar is not None:
        return scalar
    if isinstance(value, list):
        return ",".join(resolve_text(item) for item in value)
    found = intrinsic(value)
    if found is None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    spliced = _spliced_text(*found)
    return spliced if spliced is not None else "${" + _expr(value) + "}"


def _format_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
