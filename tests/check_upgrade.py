"""Checks that a stack deployed from one version's template updates to the next without breaking the
stacks that use it (README, "Versions and upgrades").

Breaking (allowed only when the new template's SemanticVersion has a higher major version, whose
CHANGELOG.md entry says what to change):
- a resource's logical id removed or its type changed (CloudFormation would delete or replace it);
- a function's FunctionName changed (a new function, a new ARN: every ServiceToken pointing at the old
  one breaks, and custom resources whose ServiceToken changes are updated, that is re-run);
- an output removed, its export renamed, or a ServiceToken output pointing at another function (an
  `!ImportValue` in a user's stack would break, and CloudFormation refuses to remove an export in use);
- a parameter removed, or a new one without a Default (an update with the old parameters fails).

Usage: python tests/check_upgrade.py OLD_TEMPLATE NEW_TEMPLATE [--self-test]
`--self-test` also proves the check: it renames an export, removes a function and points a ServiceToken
elsewhere in copies of NEW and expects each to be refused.
"""

from __future__ import annotations

import copy
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_package import report  # noqa: E402


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !GetAtt, !Sub ...) as {tag: value}."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {f"!{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: str) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=_CfnLoader)


def problems(old: dict, new: dict) -> list[str]:
    found = []
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    for logical_id, resource in old_resources.items():
        if logical_id not in new_resources:
            found.append(f"resource {logical_id} removed or renamed")
            continue
        if new_resources[logical_id].get("Type") != resource.get("Type"):
            found.append(f"resource {logical_id} changes type {resource.get('Type')} -> {new_resources[logical_id].get('Type')}")
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            before = (resource.get("Properties") or {}).get("FunctionName")
            after = (new_resources[logical_id].get("Properties") or {}).get("FunctionName")
            if before != after:
                found.append(f"function {logical_id}'s FunctionName changes {before!r} -> {after!r}: a new ARN")
    old_parameters, new_parameters = old.get("Parameters", {}), new.get("Parameters", {})
    for name in old_parameters:
        if name not in new_parameters:
            found.append(f"parameter {name} removed or renamed: a stack that sets it fails to update")
    for name, parameter in new_parameters.items():
        if name not in old_parameters and "Default" not in parameter:
            found.append(f"new parameter {name} has no Default: a stack updated with its old parameters fails")
    old_outputs, new_outputs = old.get("Outputs", {}), new.get("Outputs", {})
    for name, output in old_outputs.items():
        if name not in new_outputs:
            found.append(f"output {name} removed or renamed")
            continue
        if output.get("Export") != new_outputs[name].get("Export"):
            found.append(f"output {name}'s export changes {output.get('Export')} -> {new_outputs[name].get('Export')}")
        if name.endswith("ServiceToken") and output.get("Value") != new_outputs[name].get("Value"):
            found.append(f"ServiceToken output {name} points elsewhere: {output.get('Value')} -> {new_outputs[name].get('Value')}")
    return found


def self_test(new: dict) -> list[str]:
    """Each breaking change, made to a copy of NEW, must be refused."""
    failures = []
    token = next(n for n in new["Outputs"] if n.endswith("ServiceToken"))
    function = next(i for i, r in new["Resources"].items() if r.get("Type") == "AWS::Serverless::Function")
    mutations = {
        "an export renamed": lambda t: t["Outputs"][token]["Export"].update({"Name": {"!Sub": "${AWS::StackName}-Renamed"}}),
        "a function removed": lambda t: t["Resources"].pop(function),
        "a ServiceToken pointing elsewhere": lambda t: t["Outputs"][token].update({"Value": {"!GetAtt": "Other.Arn"}}),
        "a FunctionName set": lambda t: t["Resources"][function]["Properties"].update({"FunctionName": "renamed"}),
        "a parameter removed": lambda t: t["Parameters"].pop(next(iter(t["Parameters"]))),
        "a required parameter added": lambda t: t["Parameters"].update({"NewRequired": {"Type": "String"}}),
    }
    for what, mutate in mutations.items():
        changed = copy.deepcopy(new)
        mutate(changed)
        if not problems(new, changed):
            failures.append(f"self-test: {what} was not refused")
    return failures


def major(template: dict) -> int:
    version = template.get("Metadata", {}).get("AWS::ServerlessRepo::Application", {}).get("SemanticVersion", "0")
    return int(str(version).split(".")[0])


def main() -> int:
    old, new = load(sys.argv[1]), load(sys.argv[2])
    found = problems(old, new)
    if found and major(new) > major(old):
        # A new major version may break, saying how in CHANGELOG.md (README, Versions and upgrades).
        for problem in found:
            print(f"breaking, allowed by the new major version {major(new)}: {problem}")
        found = []
    if "--self-test" in sys.argv[3:]:
        found += self_test(new)
    return report(found, f"upgrade OK: {sys.argv[1]} -> {sys.argv[2]} keeps every resource, function name, export and ServiceToken")


if __name__ == "__main__":
    sys.exit(main())
