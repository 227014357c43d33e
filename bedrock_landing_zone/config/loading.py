"""Reading an environment's config: strict YAML (no duplicate keys), validation into
``LandingZoneConfig``, and errors that name the field and the fix (``ConfigError``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bedrock_landing_zone.config.model import (
    _PATTERN_HINTS,
    ConfigError,
    LandingZoneConfig,
    _FieldError,
)


def _path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (
            part.startswith(("function-after", "function-before", "function-wrap"))
            or part == "[key]"
        ):
            continue
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _lookup(data: Any, loc: Iterable[str | int]) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys a mapping at ``loc`` (the parent of an unknown key) accepts."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return sorted(current.model_fields) if hasattr(current, "model_fields") else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe(error: ErrorDetails, data: Any, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _FieldError):
        # a nested model's validator names its field relative to the model (loc is where it is)
        where = _path((*loc, *ctx_error.loc))
        if ctx_error.value is None:
            return f"{where}: {ctx_error.message}"
        return f"{where}: {_shown(ctx_error.value)}: {ctx_error.message}"
    value: Any = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{_path(loc)}: unknown key {loc[-1]!r} (check the spelling){hint}"
    if kind == "missing":
        return f"{_path(loc)}: required but missing"
    message = error["msg"]
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        hint = _PATTERN_HINTS.get(pattern, f"the pattern {pattern}")
        message = f"does not match the expected format: {hint}"
    if kind == "string_type" and isinstance(value, int | float):
        message = "must be text: put it in quotes in YAML (numbers lose leading zeros)"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    shown = _lookup(data, loc) if value is None else value
    if isinstance(shown, dict | list) and len(json.dumps(shown, default=str)) > 120:
        return f"{_path(loc)}: {message}"
    return f"{_path(loc)}: {_shown(shown)}: {message}"


def _shown(value: Any) -> str:
    """The value as the message shows it: long text abbreviated."""
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:60]!r}... ({len(value)} characters)"
    return repr(value)


_MINIMAL_FILE = (
    "a minimal environment needs name (the file name), region, tags (owner, cost_center), "
    "models (the allow-list: alias, model_id) and teams (name, models): copy "
    "config/default.yaml and edit it"
)


def parse_config(data: Any, *, source: str) -> LandingZoneConfig:
    """Validate already-parsed YAML/JSON data. ``source`` names the file in errors."""
    if data is None:
        raise ConfigError(f"{source}: the file is empty; {_MINIMAL_FILE}")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file must hold a mapping of settings, not {type(data).__name__}; "
            f"{_MINIMAL_FILE}"
        )
    try:
        return LandingZoneConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, data, LandingZoneConfig) for e in exc.errors(include_url=False)]
        unique = list(dict.fromkeys(lines))
        plural = "s" if len(unique) > 1 else ""
        body = "\n".join(f"  - {line}" for line in unique)
        raise ConfigError(
            f"Invalid configuration in {source} ({len(unique)} problem{plural}):\n{body}"
        ) from None


def load_config(env: str, config_dir: Path | str) -> LandingZoneConfig:
    """Read and validate ``<config_dir>/<env>.yaml``."""
    config_dir = Path(config_dir)
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,20}", env):
        raise ConfigError(
            f"-c env={env!r}: an environment name is lower-case letters, digits and '-'"
        )
    path = config_dir / f"{env}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in config_dir.glob("*.yaml"))
        raise ConfigError(
            f"-c env={env}: no file {path}. "
            f"Available environments: {', '.join(available) or 'none'}"
        )
    data = load_yaml(path)
    config = parse_config(data, source=str(path))
    if config.name != env:
        raise ConfigError(
            f"Invalid configuration in {path}:\n"
            f"  - name: {config.name!r}: must equal the file name {env!r}"
        )
    return config


class _DuplicateKey(yaml.YAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML keeps the last
    one silently, so a second ``teams:`` would drop the first list). Merge keys (``<<``) keep
    their meaning: a key given explicitly overrides a merged one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise _DuplicateKey(
                    f"line {line}: duplicate key {key!r} (first at line {first}): YAML keeps "
                    "only the last value, so the earlier one would be silently lost; give each "
                    "key once (merge the two entries into one)"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path | str) -> Any:
    """Parse a YAML file strictly (no duplicate keys); errors are ``ConfigError`` naming it."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def availability_zone_context(
    config: LandingZoneConfig, account: str | None = None
) -> dict[str, list[str]]:
    """Context that answers the CDK's availability-zone lookup from the config, so that a synth
    with an explicit account needs no credentials (pass it to ``cdk.App(context=...)`` or set it
    on the app before adding stacks).

    The CDK asks ``availability-zones:account=<account>:region=<region>`` whenever a stack with
    an explicit account and region creates a VPC, even one given its zones (aws/aws-cdk commit
    c2a22fa). ``account`` overrides ``config.account`` (a pipeline stage's target account).
    Empty when there is no account or no new VPC with ``availability_zones``.
    """
    target = account or config.account
    new = config.network.vpc.new
    if target is None or new is None or new.availability_zones is None:
        return {}
    key = f"availability-zones:account={target}:region={config.region}"
    return {key: list(new.availability_zones)}
