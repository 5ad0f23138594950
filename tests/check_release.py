"""Checks a release folder (tests/release.py's output) the way a user and AWS will meet it.

- `SHA256SUMS` matches every file (a tampered or missing file fails);
- each `<function>-<version>-<arch>.zip` holds one executable `bootstrap`: an ELF for that architecture
  needing glibc <= provided.al2023's 2.34, within the toolkit's 3,000,000 bytes zipped;
- `template.yaml` points every function at a zip of this release, and nothing is built;
- its Serverless Application Repository metadata passes SAM's own checks (`sam publish`'s: the
  vendored serverlessrepo parser and its required properties) and the limits of SAR's CreateApplication
  API (name, description, author, labels), with README and LICENSE beside it.

Usage: python tests/check_release.py DIR [--tamper-test]
`--tamper-test` also proves the checksum check: it flips one byte of a copy of a zip and expects the
copy to be refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_package import ELF_MACHINE, GOAL_ZIPPED, MAX_GLIBC, elf_machine, glibc_versions, report  # noqa: E402

ZIP_NAME = re.compile(r"^(?P<crate>[a-z0-9-]+)-(?P<version>\d+\.\d+\.\d+)-(?P<arch>x86_64|arm64)\.zip$")

# CreateApplication's limits (AWS Serverless Application Repository API reference, CreateApplication).
SAR_LIMITS = {
    "Name": (r"[a-zA-Z0-9\-]+", 140),
    "Author": (r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", 127),
    "Description": (r"(?s).+", 256),
}
SAR_LABEL = re.compile(r"^[a-zA-Z0-9+\-_:/@]{1,127}$")


def verify_checksums(folder: str) -> list[str]:
    path = os.path.join(folder, "SHA256SUMS")
    if not os.path.isfile(path):
        return ["no SHA256SUMS"]
    problems, listed = [], set()
    with open(path) as f:
        for line in f:
            digest, name = line.rstrip("\n").split("  ", 1)
            listed.add(name)
            file = os.path.join(folder, name)
            if not os.path.isfile(file):
                problems.append(f"{name}: listed in SHA256SUMS but missing")
                continue
            with open(file, "rb") as g:
                if hashlib.sha256(g.read()).hexdigest() != digest:
                    problems.append(f"{name}: SHA-256 does not match SHA256SUMS (altered or damaged)")
    for name in sorted(set(os.listdir(folder)) - listed - {"SHA256SUMS"}):
        problems.append(f"{name}: not listed in SHA256SUMS")
    return problems


def check_zip(folder: str, name: str) -> list[str]:
    arch = ZIP_NAME.match(name).group("arch")
    path = os.path.join(folder, name)
    problems = []
    if os.path.getsize(path) > GOAL_ZIPPED:
        problems.append(f"{name}: {os.path.getsize(path)} bytes, over the toolkit's goal of {GOAL_ZIPPED}")
    with zipfile.ZipFile(path) as zf:
        entries = zf.infolist()
        if [e.filename for e in entries] != ["bootstrap"]:
            return problems + [f"{name}: holds {[e.filename for e in entries]}, not one bootstrap"]
        if not (entries[0].external_attr >> 16) & 0o111:
            problems.append(f"{name}: bootstrap is not executable")
        with tempfile.TemporaryDirectory() as tmp:
            bootstrap = zf.extract(entries[0], tmp)
            if elf_machine(bootstrap) != ELF_MACHINE[arch]:
                problems.append(f"{name}: bootstrap is not an ELF for {arch} (e_machine {elf_machine(bootstrap)})")
            versions = glibc_versions(bootstrap)
            if versions and versions[-1] > MAX_GLIBC:
                problems.append(f"{name}: needs GLIBC_{'.'.join(map(str, versions[-1]))}, newer than 2.34")
    return problems


def check_template(folder: str, zips: list[str]) -> list[str]:
    from samcli.vendor.serverlessrepo.exceptions import ServerlessRepoError
    from samcli.vendor.serverlessrepo.parser import get_app_metadata, parse_template

    with open(os.path.join(folder, "template.yaml")) as f:
        text = f.read()
    problems = []
    template = parse_template(text)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code = (resource.get("Properties") or {}).get("CodeUri")
        if not isinstance(code, str) or code.removeprefix("./") not in zips:
            problems.append(f"template.yaml: {logical_id}'s CodeUri {code!r} is not a zip of this release")
        if "Metadata" in resource:
            problems.append(f"template.yaml: {logical_id} still has a build step (Metadata)")
    try:
        metadata = get_app_metadata(template)
        metadata.validate(["author", "description", "name"])  # sam publish, new application
        metadata.validate(["semantic_version"])  # sam publish, new version
    except ServerlessRepoError as err:
        return problems + [f"template.yaml: Serverless Application Repository metadata: {err}"]
    raw = template["Metadata"]["AWS::ServerlessRepo::Application"]
    for key, (pattern, limit) in SAR_LIMITS.items():
        value = str(raw.get(key, ""))
        if len(value) > limit or not re.fullmatch(pattern, value):
            problems.append(f"SAR metadata {key} {value!r}: over {limit} characters or not of the form {pattern}")
    labels = raw.get("Labels") or []
    if len(labels) > 10 or not all(SAR_LABEL.match(label) for label in labels):
        problems.append(f"SAR metadata Labels {labels}: at most 10, each 1-127 of [a-zA-Z0-9+-_:/@]")
    for key in ("ReadmeUrl", "LicenseUrl"):
        if not os.path.isfile(os.path.join(folder, str(raw.get(key, "")))):
            problems.append(f"SAR metadata {key} {raw.get(key)!r} is not a file of the release")
    for key in ("HomePageUrl", "SourceCodeUrl"):
        if not str(raw.get(key, "")).startswith("https://"):
            problems.append(f"SAR metadata {key} {raw.get(key)!r} is not an https URL")
    versions = {ZIP_NAME.match(z).group("version") for z in zips}
    if versions != {str(raw.get("SemanticVersion"))}:
        problems.append(f"SAR SemanticVersion {raw.get('SemanticVersion')} but zips of {sorted(versions)}")
    return problems


def check_sboms(folder: str, zips: list[str]) -> list[str]:
    """When the release carries SBOMs (`make release` does), one CycloneDX document per function that
    lists its dependencies."""
    sboms = sorted(n for n in os.listdir(folder) if n.endswith(".cdx.json"))
    if not sboms:
        return []
    problems = []
    for name in zips:
        m = ZIP_NAME.match(name)
        sbom = f"{m.group('crate')}-{m.group('version')}.cdx.json"
        if sbom not in sboms:
            problems.append(f"{sbom}: missing beside {name}")
            continue
        with open(os.path.join(folder, sbom)) as f:
            document = json.load(f)
        if document.get("bomFormat") != "CycloneDX" or len(document.get("components") or []) < 10:
            problems.append(f"{sbom}: not a CycloneDX BOM listing the function's dependencies")
    return problems


def check(folder: str) -> list[str]:
    problems = verify_checksums(folder)
    zips = sorted(n for n in os.listdir(folder) if ZIP_NAME.match(n))
    if not zips:
        return problems + ["no <function>-<version>-<arch>.zip"]
    for name in zips:
        problems += check_zip(folder, name)
    return problems + check_sboms(folder, zips) + check_template(folder, zips)


def tamper_test(folder: str) -> list[str]:
    """A copy with one byte of one zip flipped must fail the checksum check, naming that zip."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "release")
        shutil.copytree(folder, copy)
        victim = sorted(n for n in os.listdir(copy) if ZIP_NAME.match(n))[0]
        with open(os.path.join(copy, victim), "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        found = verify_checksums(copy)
        if not any(p.startswith(f"{victim}: SHA-256 does not match") for p in found):
            return [f"a tampered {victim} passed the checksum check: {found}"]
    return []


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else "dist"
    problems = check(folder)
    if "--tamper-test" in sys.argv[2:]:
        problems += tamper_test(folder)
    if not problems:
        for name in sorted(os.listdir(folder)):
            print(f"{os.path.getsize(os.path.join(folder, name)):>12,}  {name}")
    return report(problems, f"release OK: {folder} (checksums, bootstraps, template, SAR metadata)")


if __name__ == "__main__":
    sys.exit(main())
