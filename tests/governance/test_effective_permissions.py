"""Effective permissions: every call a function needs is allowed by its synthesized role.

For each ``AWS::Lambda::Function`` of every example environment the test lists the calls made
with the function's execution role, then evaluates each against the role's policies (and its
permissions boundary) with tests/iam_eval/evaluator.py. A call that IAM would deny fails it.

The calls come from what the function is, never from its policy:

- **the code's calls**: the boto3 client methods the function's runtime code calls, read from
  the code with ``ast`` (``lambda/<asset>/``), or the SDK call a CDK custom resource names
  (``Custom::AWS`` ``Create``/``Update``/``Delete``), or the user handler a CDK provider
  framework function invokes;
- **the calls AWS makes with the role** (Lambda Developer Guide, "Defining Lambda function
  permissions with an execution role"): CloudWatch Logs on its log group; X-Ray with active
  tracing; ``kms:Decrypt`` of an environment encrypted with a customer managed key ("Securing
  Lambda environment variables"); the network-interface calls of a function in a VPC
  ("Giving Lambda functions access to resources in an Amazon VPC").

Request contexts follow the Service Authorization Reference: a condition key is present in the
request only for the resource types that list it. It is read from parliament's machine-readable
copy of that reference (``parliament/iam_definition.json``), so, for example,
``ec2:CreateNetworkInterface`` on the new ``network-interface`` carries no ``ec2:Vpc`` while the
``subnet`` and ``security-group`` it names do; the action is allowed only when all three are.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import parliament
import pytest

from bedrock_landing_zone.base.functions import LAMBDA_ROOT
from tests.conftest import EXAMPLE_ENVS, Synth, Synths
from tests.governance.test_policy_evaluation import _fake, _inline_stack_outputs
from tests.iam_eval.evaluator import (
    Request,
    evaluate,
    resolve_value,
    role_identity_policies,
    role_permissions_boundary,
)

ACCOUNT = "111122223333"

#: AWS managed policies CDK's own functions attach (AWS Managed Policy Reference,
#: "AWSLambdaBasicExecutionRole", policy version v1).
AWS_MANAGED: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    }
}

#: SDK operations authorized by another IAM action (Bedrock User Guide, "Carry out a
#: conversation with the Converse API operations": Converse needs bedrock:InvokeModel,
#: ConverseStream bedrock:InvokeModelWithResponseStream).
OPERATION_ACTIONS = {
    ("bedrock-runtime", "Converse"): "bedrock:InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
}
#: IAM service prefix of an SDK service (the Service Authorization Reference).
IAM_PREFIX = {"bedrock": "bedrock", "bedrock-runtime": "bedrock", "ssm": "ssm"}


@dataclass(frozen=True)
class Call:
    """One authorization the function needs. ``resources``: every one must be allowed."""

    why: str
    action: str
    resources: tuple[tuple[str, Mapping[str, str]], ...]


# --------------------------------------------------------------------------- the reference


@cache
def _service_reference() -> dict[str, Any]:
    path = Path(parliament.__file__).parent / "iam_definition.json"
    return {s["prefix"]: s for s in json.loads(path.read_text(encoding="utf-8"))}


def _keys_for(action: str, resource_type: str) -> set[str]:
    """Condition keys the reference lists for ``action`` on ``resource_type``."""
    prefix, name = action.split(":")
    service = _service_reference()[prefix]
    (privilege,) = [p for p in service["privileges"] if p["privilege"] == name]
    keys: set[str] = set()
    for entry in privilege["resource_types"]:
        if entry["resource_type"].rstrip("*") == resource_type:
            keys.update(entry["condition_keys"])
    for resource in service["resources"]:
        if resource["resource"] == resource_type:
            keys.update(resource["condition_keys"])
    return keys


def _context(action: str, resource_type: str, values: Mapping[str, str]) -> dict[str, str]:
    allowed = _keys_for(action, resource_type)
    return {k: v for k, v in values.items() if k in allowed}


def test_the_reference_says_a_new_network_interface_has_no_vpc_key() -> None:
    """The fact the ENI grant is built on (and that a policy conditioned on ec2:Vpc for the
    new interface would fail): the reference lists ec2:Vpc for the subnet and the security
    group of CreateNetworkInterface, and for existing interfaces, not for the new one."""
    create = "ec2:CreateNetworkInterface"
    privilege = next(
        p
        for p in _service_reference()["ec2"]["privileges"]
        if p["privilege"] == "CreateNetworkInterface"
    )
    required = {e["resource_type"] for e in privilege["resource_types"]}
    assert {"network-interface*", "subnet*", "security-group"} <= required
    new_eni = {
        k
        for e in privilege["resource_types"]
        if e["resource_type"] == "network-interface*"
        for k in e["condition_keys"]
    }
    assert "ec2:Vpc" not in new_eni
    assert "ec2:Vpc" in _keys_for(create, "subnet")
    assert "ec2:Vpc" in _keys_for(create, "security-group")
    assert "ec2:Vpc" in _keys_for("ec2:DeleteNetworkInterface", "network-interface")


# --------------------------------------------------------------------------- the code's calls


@cache
def _sdk_operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name, from botocore's service model."""
    client_meta = botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return dict(client_meta.meta.method_to_api_mapping.items())


def code_operations(asset: str) -> set[tuple[str, str]]:
    """(service, Operation) pairs the runtime code in ``lambda/<asset>`` calls.

    Reads every module: the services it creates clients for (``boto3.client("<service>")``, or
    a module-level ``SERVICE = "<service>"`` passed to it) and every attribute call whose name
    is an operation of those services (``client.converse(...)``)."""
    services: set[str] = set()
    called: set[str] = set()
    for path in sorted((LAMBDA_ROOT / asset).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
            for t in n.targets
            if isinstance(t, ast.Name) and isinstance(n.value.value, str)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            called.add(node.func.attr)
            if node.func.attr == "client" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    services.add(arg.value)
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    services.add(constants[arg.id])
    return {
        (service, operation)
        for service in services
        for method, operation in _sdk_operations(service).items()
        if method in called
    }


def test_code_reading_finds_the_calls_the_handlers_make() -> None:
    assert {("bedrock-runtime", "Converse"), ("ssm", "GetParametersByPath")} <= code_operations(
        "inference"
    )
    assert {
        ("bedrock", "PutUseCaseForModelAccess"),
        ("bedrock", "CreateFoundationModelAgreement"),
        ("bedrock", "ListFoundationModelAgreementOffers"),
    } <= code_operations("model_access")


# --------------------------------------------------------------------------- the functions


@dataclass
class Function:
    synth: Synth
    stack: str
    logical_id: str
    template: dict[str, Any]  # cross-stack references inlined
    refs: dict[str, str]
    account: str
    region: str
    vpc_id: str | None = None

    @property
    def props(self) -> dict[str, Any]:
        return self.template["Resources"][self.logical_id]["Properties"]  # type: ignore[no-any-return]

    def value(self, node: Any) -> str:
        """A scalar of this template with its intrinsics resolved."""
        value = resolve_value(
            self.template, node, account=self.account, region=self.region, refs=self.refs
        )
        assert isinstance(value, str), value
        return value


def _functions(synth: Synth) -> Iterator[Function]:
    account = synth.config.account or ACCOUNT
    region = synth.config.region
    refs: dict[str, str] = {}
    templates = {}
    for path in sorted(Path(synth.outdir).glob("*.template.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        templates[path.name.removesuffix(".template.json")] = template
        refs.update(_fake(template, account=account, region=region))
    existing = synth.config.network.vpc.existing
    vpcs = [
        refs[lid]
        for template in templates.values()
        for lid, resource in template["Resources"].items()
        if resource["Type"] == "AWS::EC2::VPC"
    ]
    vpc_id = existing.vpc_id if existing is not None else next(iter(vpcs), None)
    for stack, raw in templates.items():
        template = _inline_stack_outputs(raw, refs)
        for lid, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function":
                yield Function(synth, stack, lid, template, refs, account, region, vpc_id)


def aws_calls(fn: Function) -> list[Call]:
    """What Lambda itself does with the execution role."""
    props, calls = fn.props, []
    arn = f"arn:aws:logs:{fn.region}:{fn.account}:log-group:"
    group = props.get("LoggingConfig", {}).get("LogGroup")
    if group is not None:
        name = fn.value(group)
    else:
        name = f"/aws/lambda/{fn.logical_id.lower()}"
        calls.append(Call("logs", "logs:CreateLogGroup", ((f"{arn}{name}", {}),)))
    stream = f"{arn}{name}:log-stream:2026/12/02/[$LATEST]0123456789abcdef"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        calls.append(Call("function logs", action, ((stream, {}),)))
    if props.get("TracingConfig", {}).get("Mode") == "Active":
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            calls.append(Call("active tracing", action, (("*", {}),)))
    if "KmsKeyArn" in props:
        calls.append(
            Call("encrypted environment", "kms:Decrypt", ((fn.value(props["KmsKeyArn"]), {}),))
        )
    if "VpcConfig" in props:
        calls.extend(_vpc_calls(fn))
    return calls


def _vpc_calls(fn: Function) -> list[Call]:
    vpc = fn.props["VpcConfig"]
    base = f"arn:aws:ec2:{fn.region}:{fn.account}"
    assert fn.vpc_id is not None, "a function in a VPC, but no VPC in the environment"
    vpc_arn = f"{base}:vpc/{fn.vpc_id}"
    subnet = f"{base}:subnet/{fn.value(vpc['SubnetIds'][0])}"
    group = f"{base}:security-group/{fn.value(vpc['SecurityGroupIds'][0])}"
    eni = f"{base}:network-interface/eni-0123456789abcdef0"
    values = {"ec2:Vpc": vpc_arn, "ec2:Subnet": subnet, "ec2:Region": fn.region}
    create = "ec2:CreateNetworkInterface"
    calls = [
        Call(
            "VPC networking",
            create,
            (
                (eni, _context(create, "network-interface", values)),
                (subnet, _context(create, "subnet", values)),
                (group, _context(create, "security-group", values)),
            ),
        ),
        Call("VPC networking", "ec2:DescribeNetworkInterfaces", (("*", {}),)),
        Call("VPC networking", "ec2:DescribeSubnets", (("*", {}),)),
    ]
    for action in (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        calls.append(
            Call("VPC networking", action, ((eni, _context(action, "network-interface", values)),))
        )
    return calls


#: The runtime code this test reads, by the handler's package (``lambda/<asset>``).
ASSETS = {"bedrock_inference": "inference", "model_access_handler": "model_access"}


def code_source(fn: Function) -> str | None:
    """Where this test reads the function's calls from, or None when it cannot tell."""
    package = fn.props.get("Handler", "").split(".", 1)[0]
    if package in ASSETS:
        return f"lambda/{ASSETS[package]}"
    variables = fn.props.get("Environment", {}).get("Variables", {})
    if "USER_ON_EVENT_FUNCTION_ARN" in variables:
        return "CDK provider framework (invokes the user handler)"
    token = {"Fn::GetAtt": [fn.logical_id, "Arn"]}
    served = sorted(
        {
            str(r["Type"])
            for r in fn.template["Resources"].values()
            if r.get("Properties", {}).get("ServiceToken") == token
        }
    )
    readable = [t for t in served if t == "Custom::VpcRestrictDefaultSG" or _is_aws_sdk_call(fn, t)]
    if served and readable == served:
        return f"CDK handler of {', '.join(served)}"
    return None


def _is_aws_sdk_call(fn: Function, resource_type: str) -> bool:
    """A custom resource of ``resource_type`` here is an AwsCustomResource SDK call."""
    return any(
        r["Type"] == resource_type
        and any(phase in r.get("Properties", {}) for phase in ("Create", "Update", "Delete"))
        for r in fn.template["Resources"].values()
    )


def code_calls(fn: Function) -> list[Call]:
    """What the function's code does with the role."""
    props = fn.props
    handler = props.get("Handler", "")
    environment = {
        k: fn.value(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()
    }
    package = handler.split(".", 1)[0]
    if package in ASSETS:
        return [
            call
            for service, operation in sorted(code_operations(ASSETS[package]))
            for call in _sdk_calls(fn, service, operation, environment)
        ]
    if "USER_ON_EVENT_FUNCTION_ARN" in environment:  # CDK's provider framework
        target = environment["USER_ON_EVENT_FUNCTION_ARN"]
        return [Call("provider framework", "lambda:InvokeFunction", ((target, {}),))]
    calls = []
    for lid, resource in fn.template["Resources"].items():
        token = resource.get("Properties", {}).get("ServiceToken")
        if token != {"Fn::GetAtt": [fn.logical_id, "Arn"]}:
            continue
        if resource["Type"] == "Custom::VpcRestrictDefaultSG":
            continue
        for phase in ("Create", "Update", "Delete"):
            raw = resource["Properties"].get(phase)
            if raw is not None:
                calls.extend(_aws_sdk_call(fn, lid, raw))
    for lid, resource in fn.template["Resources"].items():
        if resource["Type"] == "Custom::VpcRestrictDefaultSG":
            group = fn.value(resource["Properties"]["DefaultSecurityGroupId"])
            arn = f"arn:aws:ec2:{fn.region}:{fn.account}:security-group/{group}"
            for action in (
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
            ):
                calls.append(Call(f"{lid} (CDK handler)", action, ((arn, {}),)))
    return calls


def _aws_sdk_call(fn: Function, lid: str, raw: Any) -> list[Call]:
    """The SDK call of a ``Custom::AWS`` (AwsCustomResource) phase, and the roles it passes."""
    spec = json.loads(fn.value(raw))
    service = spec["service"].lower()
    operation = spec["action"][0].upper() + spec["action"][1:]
    calls = [Call(f"{lid} {operation}", f"{service}:{operation}", (("*", {}),))]
    for role in sorted({v for v in _strings(spec.get("parameters", {})) if ":role/" in v}):
        context = {"iam:PassedToService": f"{service}.amazonaws.com"}
        calls.append(Call(f"{lid} passes a role", "iam:PassRole", ((role, context),)))
    return calls


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _sdk_calls(
    fn: Function, service: str, operation: str, environment: Mapping[str, str]
) -> list[Call]:
    action = OPERATION_ACTIONS.get((service, operation), f"{IAM_PREFIX[service]}:{operation}")
    if service == "ssm":
        # GetParametersByPath "authorizes against the path in the request rather than against
        # the parameters it returns" (Systems Manager User Guide, "How Parameter Store
        # authorizes parameter retrieval"): the team directory's path.
        assert operation == "GetParametersByPath", operation
        path = fn.synth.inference_config(fn.props)["team_directory"]
        arn = f"arn:aws:ssm:{fn.region}:{fn.account}:parameter{path}"
        return [Call(f"code: {operation} (team directory)", action, ((arn, {}),))]
    if service != "bedrock-runtime":
        # the model-access APIs have no resource types (Service Authorization Reference)
        return [Call(f"code: {operation}", action, (("*", {}),))]
    guardrail = f"{environment['GUARDRAIL_ID']}:{environment['GUARDRAIL_VERSION']}"
    config = fn.synth.inference_config(fn.props)
    calls = []
    for alias, model in sorted(config["models"].items()):
        model_id = model["model_id"]
        context = {"bedrock:GuardrailIdentifier": guardrail}
        if model_id.split(".", 1)[0] in ("us", "eu", "apac", "global", "jp", "au", "ca"):
            profile = f"arn:aws:bedrock:{fn.region}:{fn.account}:inference-profile/{model_id}"
            destination = (
                f"arn:aws:bedrock:{fn.region}::foundation-model/{model_id.split('.', 1)[1]}"
            )
            resources: tuple[tuple[str, Mapping[str, str]], ...] = (
                (profile, context),
                (destination, {**context, "bedrock:InferenceProfileArn": profile}),
            )
        else:
            resources = ((f"arn:aws:bedrock:{fn.region}::foundation-model/{model_id}", context),)
        calls.append(Call(f"code: {operation} {alias}", action, resources))
        # A team's call goes through the team's application inference profile (tagged with the
        # environment and the team, cost allocation): authorized on the profile and on the
        # model it wraps, with bedrock:InferenceProfileArn naming the profile (Bedrock User
        # Guide, "Prerequisites for application inference profiles").
        if config.get("team_directory"):
            app_profile = (
                f"arn:aws:bedrock:{fn.region}:{fn.account}:application-inference-profile/"
                "a1b2c3d4e5f6"
            )
            tags = {
                "aws:ResourceTag/Environment": fn.synth.config.name,
                "aws:ResourceTag/Team": "any-team",
            }
            wrapped = model_id.split(".", 1)[1] if "." in model_id else model_id
            if model_id.split(".", 1)[0] not in ("us", "eu", "apac", "global", "jp", "au", "ca"):
                wrapped = model_id
            calls.append(
                Call(
                    f"code: {operation} {alias} through a team's profile",
                    action,
                    (
                        (app_profile, {**context, **tags}),
                        (
                            f"arn:aws:bedrock:{fn.region}::foundation-model/{wrapped}",
                            {**context, "bedrock:InferenceProfileArn": app_profile},
                        ),
                    ),
                )
            )
    return calls


def _denied(fn: Function) -> list[str]:
    role_ref = fn.props["Role"]
    assert "Fn::GetAtt" in role_ref, f"{fn.logical_id}: role not in this template"
    role_id = role_ref["Fn::GetAtt"][0]
    kwargs: dict[str, Any] = {
        "account": fn.account,
        "region": fn.region,
        "refs": fn.refs,
        "external_policies": AWS_MANAGED,
    }
    identity = role_identity_policies(fn.template, role_id, **kwargs)
    boundary = role_permissions_boundary(fn.template, role_id, **kwargs)
    role_arn = fn.refs[f"{role_id}.Arn"]
    denied = []
    for call in [*aws_calls(fn), *code_calls(fn)]:
        for resource, context in call.resources:
            request = Request(call.action, resource, context, principal=role_arn)
            decision = evaluate(request, identity, boundary=boundary)
            if not decision.allowed:
                denied.append(f"{call.why}: {call.action} on {resource}: {decision}")
    return denied


@pytest.mark.parametrize("env_name", EXAMPLE_ENVS)
def test_every_function_can_make_every_call_it_needs(synths: Synths, env_name: str) -> None:
    functions = list(_functions(synths[env_name]))
    assert functions, "no function found"
    problems = {f"{fn.stack}/{fn.logical_id}": _denied(fn) for fn in functions}
    assert not {k: v for k, v in problems.items() if v}, json.dumps(problems, indent=1)


@pytest.mark.parametrize("env_name", EXAMPLE_ENVS)
def test_no_function_s_code_goes_unread(synths: Synths, env_name: str) -> None:
    """A function whose code this test does not know would pass with its AWS calls alone:
    every function must be one of ours (``ASSETS``), a provider framework, or the handler of
    custom resources whose calls the template spells out."""
    sources = {
        f"{fn.stack}/{fn.logical_id}": code_source(fn) for fn in _functions(synths[env_name])
    }
    assert None not in sources.values(), json.dumps(sources, indent=1)
    assert any(str(s).startswith("lambda/inference") for s in sources.values()), sources


def test_code_source_refuses_a_function_it_cannot_read() -> None:
    def function(handler: str, served: dict[str, Any] | None = None) -> Function:
        resources: dict[str, Any] = {"Fn": {"Type": "AWS::Lambda::Function"}}
        resources["Fn"]["Properties"] = {"Handler": handler}
        if served is not None:
            token = {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}}
            resources["Cr"] = {"Type": served["Type"], "Properties": {**token, **served["Props"]}}
        template = {"Resources": resources}
        return Function(None, "s", "Fn", template, {}, ACCOUNT, "us-east-1")  # type: ignore[arg-type]

    assert code_source(function("bedrock_inference.handler.lambda_handler")) == "lambda/inference"
    assert code_source(function("someone_else.handler")) is None
    sdk_call = {"Type": "Custom::Thing", "Props": {"Create": "{}"}}
    assert code_source(function("index.handler", sdk_call)) == "CDK handler of Custom::Thing"
    opaque = {"Type": "Custom::Opaque", "Props": {"Size": "1"}}
    assert code_source(function("index.handler", opaque)) is None


@pytest.mark.parametrize("env_name", EXAMPLE_ENVS)
def test_the_needed_calls_cover_what_each_function_is(synths: Synths, env_name: str) -> None:
    """Guard against a test that passes by listing nothing: VPC, KMS, tracing and code calls
    are found wherever the template says the function has them."""
    for fn in _functions(synths[env_name]):
        actions = {c.action for c in [*aws_calls(fn), *code_calls(fn)]}
        assert "logs:PutLogEvents" in actions
        if "VpcConfig" in fn.props:
            assert "ec2:CreateNetworkInterface" in actions
        if "KmsKeyArn" in fn.props:
            assert "kms:Decrypt" in actions
        if fn.props.get("Handler", "").startswith("bedrock_inference."):
            assert "bedrock:InvokeModel" in actions


def test_a_role_without_network_permissions_is_caught(default: Synth) -> None:
    """The check fails when the ENI grant is missing (as it was before this test existed)."""
    (fn,) = [f for f in _functions(default) if "VpcConfig" in f.props]
    role_id = fn.props["Role"]["Fn::GetAtt"][0]
    for resource in fn.template["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role_id} in resource[
            "Properties"
        ].get("Roles", []):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [
                s for s in statements if not str(s.get("Action")).count("NetworkInterface")
            ]
    denied = _denied(fn)
    assert any("ec2:CreateNetworkInterface" in d for d in denied)
    assert any("ec2:DeleteNetworkInterface" in d for d in denied)


@pytest.mark.parametrize("env_name", EXAMPLE_ENVS)
def test_network_interfaces_only_in_the_functions_own_vpc(synths: Synths, env_name: str) -> None:
    """Least privilege: the same calls in another VPC of the account are denied."""
    for fn in _functions(synths[env_name]):
        if "VpcConfig" not in fn.props:
            continue
        fn.vpc_id = "vpc-0ffffffffffffffff"
        denied = _denied(fn)
        for action in (
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
        ):
            assert any(f"{action} on" in d for d in denied), (action, denied)
        assert not any("DescribeNetworkInterfaces" in d for d in denied)
