"""Makes a release folder that deploys without a compiler: `make release VERSION=x.y.z` runs it.

    python tests/release.py check VERSION            refuses a dirty tree or a version that the crates,
                                                     template.yaml or CHANGELOG.md do not carry
    python tests/release.py build VERSION OUT --bootstraps DIR [--arch x86_64] [--sboms DIR] [--allow-dirty]

`build` writes into OUT:
- `<function>-<version>-<arch>.zip` for each function: its `bootstrap` (mode 755) alone, zipped
  reproducibly (fixed timestamps), from DIR/<function>/bootstrap (`make lambdas` output);
- `template.yaml`: the repository's template with each function's CodeUri pointing at its zip (no
  build step), its `Architecture` parameter limited to the architectures built, and the Serverless
  Application Repository metadata's README and LICENSE beside it;
- `<function>-<version>.cdx.json`, the CycloneDX SBOMs found in --sboms (cargo-cyclonedx's output);
- `SHA256SUMS` over every other file (`sha256sum -c SHA256SUMS` checks them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The crates `make lambdas` builds and the logical ids template.yaml gives them (the Makefile's table).
ARCHITECTURES = ("x86_64", "arm64")
# A zip entry's time when none is meaningful: the earliest a zip can carry, so equal bootstraps give
# byte-equal zips (and checksums) whenever they are made.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class ReleaseError(Exception):
    pass


def functions() -> dict[str, str]:
    """logical id -> crate, from the Makefile (`VpcLinkWaiterFunction := vpc-link-waiter`)."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        found = re.findall(r"^(\w+Function) := ([a-z0-9-]+)$", f.read(), re.MULTILINE)
    if not found:
        raise ReleaseError("the Makefile lists no `<LogicalId>Function := <crate>` lines")
    return dict(found)


def versions() -> dict[str, str]:
    """Where the version is written: the crates (workspace.package), template.yaml's SAR metadata."""
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        crates = tomllib.load(f)["workspace"]["package"]["version"]
    with open(os.path.join(ROOT, "template.yaml")) as f:
        semantic = re.search(r"^\s+SemanticVersion:\s*(\S+)\s*$", f.read(), re.MULTILINE)
    return {"Cargo.toml [workspace.package] version": crates,
            "template.yaml SemanticVersion": semantic.group(1) if semantic else "(none)"}


def check(version: str, allow_dirty: bool = False) -> None:
    """Refuses what must not be released, with the reason."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ReleaseError(f"VERSION={version!r} is not MAJOR.MINOR.PATCH")
    if not allow_dirty:
        status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout
        if status.strip():
            raise ReleaseError("the working tree has uncommitted changes; a release is made from a commit:\n" + status)
    wrong = [f"{where} is {found}" for where, found in versions().items() if found != version]
    if wrong:
        raise ReleaseError(f"VERSION={version}, but " + "; ".join(wrong))
    with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
        if not re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", f.read(), re.MULTILINE):
            raise ReleaseError(f"CHANGELOG.md has no `## [{version}] - YYYY-MM-DD` entry")


def zip_bootstrap(bootstrap: str, out: str) -> None:
    info = zipfile.ZipInfo("bootstrap", date_time=ZIP_EPOCH)
    info.external_attr = (0o100755 & 0xFFFF) << 16  # a regular file, executable: Lambda runs it as is
    info.create_system = 3  # Unix, so the mode is read
    with open(bootstrap, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def zip_name(crate: str, version: str, arch: str) -> str:
    return f"{crate}-{version}-{arch}.zip"


def dist_template(source: str, version: str, built: list[str], functions: dict[str, str]) -> str:
    """template.yaml with prebuilt code: each function's Metadata (its build step) replaced by a
    CodeUri to its zip, and the Architecture parameter limited to what was built."""
    if len(built) != 1:
        # One CodeUri per function: a template can only point at one architecture's zips (sam package
        # uploads literal paths). Releases with both ship one template per architecture.
        raise ReleaseError("one architecture per dist template")
    arch = built[0]
    text = source
    text = re.sub(r"^    CodeUri: \./\n", "", text, count=1, flags=re.MULTILINE)
    for logical_id, crate in functions.items():
        pattern = re.compile(
            rf"^  {logical_id}:\n    Type: AWS::Serverless::Function\n    Metadata:\n(?:      .*\n)+?    Properties:\n",
            re.MULTILINE,
        )
        replacement = (f"  {logical_id}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                       f"      CodeUri: ./{zip_name(crate, version, arch)}\n")
        text, n = pattern.subn(replacement, text)
        if n != 1:
            raise ReleaseError(f"template.yaml: {logical_id} is not an AWS::Serverless::Function with a Metadata block")
    missing = sorted(set(ARCHITECTURES) - set(built))
    parameter = re.compile(r"^(  Architecture:\n(?:    .*\n)*?)    AllowedValues: \[arm64, x86_64\]\n", re.MULTILINE)
    note = (f"    AllowedValues: [{', '.join(built)}]\n"
            f"    ConstraintDescription: >-\n"
            f"      This release ships {', '.join(built)} bootstraps only; {', '.join(missing)} needs a build from\n"
            f"      source (README, Build from source).\n") if missing else f"    AllowedValues: [{', '.join(built)}]\n"
    text, n = parameter.subn(lambda m: m.group(1) + note, text)
    if n != 1:
        raise ReleaseError("template.yaml: no Architecture parameter with AllowedValues [arm64, x86_64]")
    return text


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(out: str) -> None:
    names = sorted(n for n in os.listdir(out) if n != "SHA256SUMS")
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        for name in names:
            f.write(f"{sha256(os.path.join(out, name))}  {name}\n")


def build(version: str, out: str, bootstraps: str, arch: str, sboms: str | None, allow_dirty: bool) -> None:
    check(version, allow_dirty)
    if arch not in ARCHITECTURES:
        raise ReleaseError(f"--arch {arch}: expected one of {', '.join(ARCHITECTURES)}")
    fns = functions()
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    for crate in fns.values():
        bootstrap = os.path.join(bootstraps, crate, "bootstrap")
        if not os.path.isfile(bootstrap):
            raise ReleaseError(f"no {bootstrap}: run `make lambdas ARCH={arch}` first")
        zip_bootstrap(bootstrap, os.path.join(out, zip_name(crate, version, arch)))
        if sboms is not None:
            found = [os.path.join(sboms, crate, n) for n in sorted(os.listdir(os.path.join(sboms, crate)))
                     if n.endswith(".cdx.json")] if os.path.isdir(os.path.join(sboms, crate)) else []
            if len(found) != 1:
                raise ReleaseError(f"expected one CycloneDX SBOM (*.cdx.json) in {os.path.join(sboms, crate)}, found {found}")
            shutil.copyfile(found[0], os.path.join(out, f"{crate}-{version}.cdx.json"))
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = dist_template(f.read(), version, [arch], fns)
    with open(os.path.join(out, "template.yaml"), "w") as f:
        f.write(template)
    for doc in ("README.md", "LICENSE"):
        shutil.copyfile(os.path.join(ROOT, doc), os.path.join(out, doc))
    write_checksums(out)


def self_test() -> list[str]:
    """Each refusal `check` promises, made to happen in a throwaway copy of the files it reads."""
    global ROOT
    failures, real_root = [], ROOT
    version = versions()["Cargo.toml [workspace.package] version"]
    cases = {
        # what, (spoil the copy (before its commit), spoil it after, the version asked, the reason expected)
        "a version that is not MAJOR.MINOR.PATCH": (None, None, "1.0", "not MAJOR.MINOR.PATCH"),
        "a version the crates do not carry": (None, None, "99.0.0", "Cargo.toml [workspace.package] version is"),
        "no changelog entry": ("CHANGELOG.md", None, version, "CHANGELOG.md has no"),
        "a dirty tree": (None, "stray.txt", version, "uncommitted changes"),
    }
    import tempfile
    for what, (before, after, asked, expected) in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("Cargo.toml", "template.yaml", "CHANGELOG.md"):
                shutil.copyfile(os.path.join(real_root, name), os.path.join(tmp, name))
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
            if before:
                with open(os.path.join(tmp, before), "w") as f:
                    f.write("# Changelog\n")
            subprocess.run(["git", "init", "-q", tmp], check=True)
            subprocess.run(git + ["-C", tmp, "add", "-A"], check=True)
            subprocess.run(git + ["-C", tmp, "commit", "-qm", "copy"], check=True)
            if after:
                with open(os.path.join(tmp, after), "w") as f:
                    f.write("x")
            ROOT = tmp
            try:
                check(asked)
                failures.append(f"self-test: {what} was not refused")
            except ReleaseError as err:
                if expected not in str(err):
                    failures.append(f"self-test: {what} was refused for another reason: {err}")
            finally:
                ROOT = real_root
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("version")
    sub.add_parser("self-test", help="proves each refusal of `check` (make test runs it)")
    b = sub.add_parser("build")
    b.add_argument("version")
    b.add_argument("out")
    b.add_argument("--bootstraps", required=True)
    b.add_argument("--arch", default="x86_64")
    b.add_argument("--sboms")
    b.add_argument("--allow-dirty", action="store_true", help="for `make test`'s check of the release shape")
    args = parser.parse_args()
    try:
        if args.command == "self-test":
            failures = self_test()
            for failure in failures:
                print(f"FAIL {failure}", file=sys.stderr)
            if not failures:
                print("release refusals OK: a malformed or foreign version, no changelog entry, a dirty tree")
            return 1 if failures else 0
        if args.command == "check":
            check(args.version)
        else:
            build(args.version, args.out, args.bootstraps, args.arch, args.sboms, args.allow_dirty)
    except ReleaseError as err:
        print(f"release refused: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
