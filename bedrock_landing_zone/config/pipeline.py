"""Typed configuration of the CDK pipeline (``config/pipelines/<name>.yaml``).

The pipeline deploys landing-zone environments (``config/<env>.yaml``) into accounts, wave by
wave: the stages of one wave deploy in parallel, waves deploy in order. Validation happens at the
app edge (``load_pipeline``): a mistake raises ``ConfigError`` naming the file, the field path, the
bad value and what is allowed, exactly like the environment files (``config.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from bedrock_landing_zone.config.loading import _describe, load_config
from bedrock_landing_zone.config.model import (
    AccountId,
    Alias,
    ConfigError,
    LandingZoneConfig,
    Region,
    _FieldError,
    _no_duplicates,
    _Strict,
)

__all__ = [
    "PipelineConfig",
    "PipelinePlan",
    "PipelineStageConfig",
    "SmokeTestConfig",
    "WaveConfig",
    "load_pipeline",
    "parse_pipeline_config",
]

_ENV_NAME = re.compile(r"[a-z][a-z0-9-]{1,20}")
_PASCAL = re.compile(r"[A-Z][A-Za-z0-9]{0,39}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_CONNECTION_ARN = re.compile(
    r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f-]{36}"
)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}")
_SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
_SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
_AZ = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]")

VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]


#: Construct ids the CDK reserves for a construct's default child.
_RESERVED_NAMES = frozenset({"Default", "Resource"})


def _match(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"does not match the expected format: {what}")
    return value


def _not_reserved(name: str, hint: str) -> str:
    if name in _RESERVED_NAMES:
        raise ValueError(
            f"{name!r} is reserved by the CDK (the id of a construct's default child): {hint}"
        )
    return name


def pascal_case(name: str) -> str:
    """``prod-eu`` -> ``ProdEu`` (construct ids and CodePipeline stage names)."""
    return "".join(part.capitalize() for part in name.split("-"))


class SmokeTestConfig(_Strict):
    """How the post-deploy smoke test reaches the environment's private inference API.

    The smoke step is a CodeBuild project in the pipeline account that runs *in the landing zone
    VPC* (its subnets shared with the pipeline account through AWS RAM, or the same account): the
    API is private and answers only through the VPC's ``execute-api`` endpoint.
    """

    role_arn: str = Field(
        description=(
            "A team role of the environment (in the stage's account) that the smoke test assumes: "
            "the inference function serves callers by team role. Its trust policy must admit the "
            "pipeline account, and it must be able to read /bedrock-lz/<env>/inference/api-url."
        )
    )
    model: Alias = Field(description="Model alias the smoke test calls (the team's).")
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        default="Reply with the single word: ready.", description="Message sent to the model."
    )
    vpc_id: VpcId = Field(description="The landing zone VPC (as seen from the pipeline account).")
    availability_zones: list[str] = Field(
        min_length=1, description="Availability zones of subnet_ids, in the same order."
    )
    subnet_ids: list[str] = Field(
        min_length=1, description="Private subnets of the VPC the smoke project runs in."
    )
    security_group_ids: list[str] = Field(
        min_length=1,
        description=(
            "Security groups of the smoke project (in the pipeline account); the execute-api "
            "endpoint's security group must admit them on 443."
        ),
    )

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        return _match(_ROLE_ARN, value, "an IAM role ARN such as arn:aws:iam::123456789012:role/x")

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        for zone in value:
            _match(_AZ, zone, f"{zone!r} is not an availability zone such as us-east-1a")
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        for subnet in value:
            _match(_SUBNET_ID, subnet, f"{subnet!r} is not a subnet id such as subnet-0a1b2c3d")
        _no_duplicates(value, "subnet id")
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _security_groups(cls, value: list[str]) -> list[str]:
        for group in value:
            _match(_SECURITY_GROUP_ID, group, f"{group!r} is not a group id such as sg-0a1b2c3d")
        return value

    @model_validator(mode="after")
    def _one_zone_per_subnet(self) -> SmokeTestConfig:
        if len(self.availability_zones) != len(self.subnet_ids):
            raise ValueError(
                f"availability_zones: give one zone per subnet ({len(self.subnet_ids)} "
                f"subnet_ids, {len(self.availability_zones)} zones), in the same order"
            )
        return self

    @property
    def role_account(self) -> str:
        match = _ROLE_ARN.fullmatch(self.role_arn)
        assert match is not None
        return match.group(1)


class PipelineStageConfig(_Strict):
    """One landing-zone environment deployed into one account (a ``LandingZoneStage``)."""

    env: str = Field(description="Environment name: the file config/<env>.yaml.")
    account: AccountId = Field(description="Target account (12 digits, quoted).")
    region: Region = Field(description="Target region; must equal the environment's region.")
    production: bool = Field(
        default=False, description="A manual approval precedes the deployment of this stage."
    )
    name: str | None = Field(
        default=None,
        description="Stage name (PascalCase, unique in the pipeline). Default: from env.",
    )
    smoke: SmokeTestConfig | None = Field(
        default=None,
        description="Post-deploy smoke test; required when the environment's inference is on.",
    )

    @field_validator("env")
    @classmethod
    def _env(cls, value: str) -> str:
        return _match(_ENV_NAME, value, "an environment name: lower-case letters, digits and '-'")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None:
            _match(_PASCAL, value, "PascalCase letters and digits, such as ProdEu")
        return value

    @model_validator(mode="after")
    def _usable_name(self) -> PipelineStageConfig:
        _not_reserved(self.stage_name, "set 'name' on this stage, e.g. Dev")
        return self

    @property
    def stage_name(self) -> str:
        """The stage's construct id and CodePipeline name: ``name``, else ``env`` in PascalCase."""
        return self.name or pascal_case(self.env)


class WaveConfig(_Strict):
    """Stages that deploy in parallel; the next wave starts when all of them succeeded."""

    name: str = Field(description="Wave name (PascalCase), e.g. Dev, Prod.")
    stages: list[PipelineStageConfig] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        _match(_PASCAL, value, "PascalCase letters and digits, such as Prod")
        return _not_reserved(value, "choose another wave name")


class PipelineConfig(_Strict):
    """The CDK pipeline: source, where it runs, and the waves of stages it deploys."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")] = Field(
        default="bedrock-lz", description="Pipeline name (and pipeline stack name prefix)."
    )
    repository: str = Field(description="Source repository as owner/name.")
    branch: Annotated[str, StringConstraints(min_length=1, max_length=255)] = "main"
    connection_arn: str = Field(
        description="ARN of the CodeStar/CodeConnections connection to the repository host."
    )
    account: AccountId = Field(description="Account the pipeline runs in (tooling account).")
    region: Region = Field(description="Region the pipeline runs in.")
    waves: list[WaveConfig] = Field(min_length=1)

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        return _match(_REPOSITORY, value, "owner/name, such as my-org/bedrock-landing-zone")

    @field_validator("connection_arn")
    @classmethod
    def _connection(cls, value: str) -> str:
        return _match(
            _CONNECTION_ARN,
            value,
            "a connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:"
            "connection/<uuid>",
        )

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        _no_duplicates((w.name for w in self.waves), "wave name")
        seen_names: dict[str, tuple[int, int]] = {}
        seen_targets: set[tuple[str, str]] = set()
        for w, wave in enumerate(self.waves):
            for s, stage in enumerate(wave.stages):
                if stage.stage_name in seen_names:
                    raise _FieldError(
                        ("waves", w, "stages", s, "name"),
                        stage.stage_name,
                        "stage names must be unique in the pipeline: set a distinct 'name' on "
                        "this stage",
                    )
                seen_names[stage.stage_name] = (w, s)
                target = (stage.env, stage.account)
                if target in seen_targets:
                    raise _FieldError(
                        ("waves", w, "stages", s),
                        f"{stage.env} -> {stage.account}",
                        "this environment is already deployed into this account by an earlier "
                        "stage (the same stacks cannot be deployed twice)",
                    )
                seen_targets.add(target)
                smoke = stage.smoke
                if smoke is not None and any(
                    not zone.startswith(self.region) for zone in smoke.availability_zones
                ):
                    raise _FieldError(
                        ("waves", w, "stages", s, "smoke", "availability_zones"),
                        smoke.availability_zones,
                        f"the smoke project is a CodeBuild project of the pipeline, so its VPC "
                        f"must be in the pipeline's region {self.region}; for a stage in another "
                        "region use a VPC there that reaches the environment's execute-api "
                        "endpoint (peering or Transit Gateway, with DNS)",
                    )
        return self

    def stages(self) -> list[tuple[WaveConfig, PipelineStageConfig]]:
        """Every stage with its wave, in deployment order."""
        return [(wave, stage) for wave in self.waves for stage in wave.stages]


@dataclass(frozen=True)
class PipelinePlan:
    """A validated pipeline configuration and the environments its stages deploy."""

    pipeline: PipelineConfig
    environments: Mapping[str, LandingZoneConfig]
    #: The pipeline file as the synth step names it (relative to the repository root).
    source: str


def parse_pipeline_config(data: Any, *, source: str) -> PipelineConfig:
    """Validate already-parsed YAML data. ``source`` names the file in errors."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file must hold a mapping of settings, not {type(data).__name__}"
        )
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, data, PipelineConfig) for e in exc.errors(include_url=False)]
        raise ConfigError(_report(source, lines)) from None


def load_pipeline(path: Path | str, config_dir: Path | str) -> PipelinePlan:
    """Read ``path``, validate it and every environment it deploys (``config_dir/<env>.yaml``).

    Beyond the file's own rules, each stage must match its environment: the same region, the
    same account when the environment names one, a smoke test exactly when the environment has
    the inference API, a smoke model from its allow-list and a smoke role in the stage's account.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such pipeline configuration file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    pipeline = parse_pipeline_config(data, source=str(path))
    environments: dict[str, LandingZoneConfig] = {}
    problems: list[str] = []
    for w, wave in enumerate(pipeline.waves):
        for s, stage in enumerate(wave.stages):
            at = f"waves[{w}].stages[{s}]"
            if stage.env not in environments:
                file = Path(config_dir) / f"{stage.env}.yaml"
                if not file.is_file():
                    available = ", ".join(sorted(p.stem for p in Path(config_dir).glob("*.yaml")))
                    problems.append(
                        f"{at}.env: {stage.env!r}: no environment file {file}; "
                        f"available environments: {available or 'none'}"
                    )
                    continue
                try:
                    environments[stage.env] = load_config(stage.env, config_dir)
                except ConfigError as exc:
                    problems.append(f"{at}.env: {stage.env!r}: the environment is invalid: {exc}")
                    continue
            problems.extend(_check_stage(at, stage, environments[stage.env], Path(config_dir)))
    if problems:
        raise ConfigError(_report(str(path), problems))
    return PipelinePlan(pipeline=pipeline, environments=environments, source=str(path))


def _check_stage(
    at: str, stage: PipelineStageConfig, config: LandingZoneConfig, config_dir: Path
) -> list[str]:
    file = config_dir / f"{stage.env}.yaml"
    problems = []
    if stage.region != config.region:
        problems.append(
            f"{at}.region: {stage.region!r}: environment {stage.env!r} is configured for "
            f"{config.region} in {file}; a stage deploys the environment as configured"
        )
    if config.account is not None and stage.account != config.account:
        problems.append(
            f"{at}.account: {stage.account!r}: environment {stage.env!r} names account "
            f"{config.account} in {file}; use that account, or remove it from the environment"
        )
    if config.inference.enabled and stage.smoke is None:
        problems.append(
            f"{at}.smoke: required because {file} enables the inference API: the pipeline "
            "calls it after every deployment"
        )
    if not config.inference.enabled and stage.smoke is not None:
        problems.append(
            f"{at}.smoke: {file} disables the inference API, so there is nothing to smoke-test: "
            "remove 'smoke'"
        )
    if stage.smoke is not None:
        if stage.smoke.model not in config.model_by_alias:
            allowed = ", ".join(sorted(config.model_by_alias))
            problems.append(
                f"{at}.smoke.model: {stage.smoke.model!r}: not in the allow-list of "
                f"{stage.env!r}; allowed aliases: {allowed}"
            )
        if stage.smoke.role_account != stage.account:
            problems.append(
                f"{at}.smoke.role_arn: {stage.smoke.role_arn!r}: the role must be in the "
                f"stage's account {stage.account}"
            )
    return problems


def _report(source: str, lines: list[str]) -> str:
    unique = list(dict.fromkeys(lines))
    plural = "s" if len(unique) > 1 else ""
    body = "\n".join(f"  - {line}" for line in unique)
    return f"Invalid pipeline configuration in {source} ({len(unique)} problem{plural}):\n{body}"
