"""Checks what `sam build` produced, the way Lambda will meet it.

For every AWS::Serverless::Function in the built template: its CodeUri holds an executable `bootstrap`,
an ELF for the template's architecture, needing no glibc symbol newer than provided.al2023's (2.34),
and it fits Lambda's package limits and the toolkit's 3,000,000-byte zipped goal. Prints each function's sizes (the zip as `sam deploy` uploads it).

Usage: python tests/check_package.py [.aws-sam/build]    (exit status 1 on any problem)
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile

import yaml  # PyYAML comes with aws-sam-cli in .venv

# provided.al2023 ships glibc 2.34 (Amazon Linux 2023); a symbol versioned above it fails at load time.
MAX_GLIBC = (2, 34)
# Lambda's deployment package limits: 50 MB zipped for a direct upload, 250 MB unzipped.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
# The toolkit's own goal for each function, zipped as `sam deploy` zips it: small cold starts.
GOAL_ZIPPED = 3_000_000
# e_machine of the ELF header, per Lambda architecture.
ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def deploy_architecture() -> str:
    """The Architecture `sam deploy` passes: PACKAGE_ARCH, else samconfig.toml's global
    parameter_overrides (shared by `sam build` and `sam deploy`), else the template's default."""
    if os.environ.get("PACKAGE_ARCH"):
        return os.environ["PACKAGE_ARCH"]
    import tomllib

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "samconfig.toml"), "rb") as f:
        overrides = tomllib.load(f)["default"]["global"]["parameters"].get("parameter_overrides", "")
    found = re.search(r"(?:^|\s)Architecture=(\S+)", overrides)
    return found.group(1) if found else "x86_64"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !GetAtt, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def glibc_versions(path: str) -> list[tuple[int, ...]]:
    """The GLIBC_x.y versions the binary's dynamic symbols require (objdump -T)."""
    out = subprocess.run(["objdump", "-T", path], check=True, capture_output=True, text=True).stdout
    return sorted({tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", out)})


def elf_machine(path: str) -> int | None:
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF" or len(header) < 20:
        return None
    byteorder = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def zipped_size(path: str) -> int:
    """Zipped as samcli's make_zip does it: zipfile, deflate at zlib's default level."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, "bootstrap")
    return len(buf.getvalue())


def check(build_dir: str) -> list[str]:
    with open(os.path.join(build_dir, "template.yaml")) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    functions = {
        name: {**globals_fn, **(res.get("Properties") or {})}
        for name, res in template["Resources"].items()
        if res.get("Type") == "AWS::Serverless::Function"
    }
    problems = []
    if not functions:
        problems.append("the built template has no AWS::Serverless::Function")
    print(f"{'function':<30} {'arch':<7} {'glibc':<6} {'bootstrap':>12} {'zipped bytes':>13}")
    for name, props in sorted(functions.items()):
        code_uri = props.get("CodeUri")
        bootstrap = os.path.join(build_dir, code_uri or "", "bootstrap")
        if not code_uri or not os.path.isfile(bootstrap):
            problems.append(f"{name}: no bootstrap at {bootstrap}")
            continue
        archs = props.get("Architectures") or ["x86_64"]
        # The built template keeps `!Ref Architecture` unresolved: then the architecture is the one
        # `sam deploy` will pass, samconfig.toml's global Architecture (PACKAGE_ARCH overrides it).
        arch = archs[0] if isinstance(archs[0], str) else deploy_architecture()
        if not os.access(bootstrap, os.X_OK):
            problems.append(f"{name}: bootstrap is not executable")
        machine = elf_machine(bootstrap)
        if machine != ELF_MACHINE.get(arch):
            problems.append(f"{name}: bootstrap is not an ELF for {arch} (e_machine {machine})")
        versions = glibc_versions(bootstrap)
        newest = versions[-1] if versions else None
        if newest and newest > MAX_GLIBC:
            problems.append(
                f"{name}: needs GLIBC_{'.'.join(map(str, newest))}, newer than provided.al2023's "
                f"{'.'.join(map(str, MAX_GLIBC))}"
            )
        size = os.path.getsize(bootstrap)
        zipped = zipped_size(bootstrap)
        if zipped > MAX_ZIPPED or size > MAX_UNZIPPED:
            problems.append(f"{name}: {zipped} bytes zipped / {size} unzipped exceeds Lambda's package limits")
        elif zipped > GOAL_ZIPPED:
            problems.append(f"{name}: {zipped} bytes zipped, over the toolkit's goal of {GOAL_ZIPPED}")
        glibc = ".".join(map(str, newest)) if newest else "-"
        print(f"{name:<30} {arch:<7} {glibc:<6} {size / 2**20:>8.2f} MiB {zipped:>13,}")
    return problems


def report(problems: list[str], ok: str) -> int:
    """Each problem on stderr (exit status 1), or the `ok` line (0): the checks' common ending."""
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        print(ok)
    return 1 if problems else 0


def main() -> int:
    build_dir = sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"
    glibc = ".".join(map(str, MAX_GLIBC))
    return report(check(build_dir), f"package OK: every bootstrap needs glibc <= {glibc} and fits Lambda's limits")


if __name__ == "__main__":
    sys.exit(main())
