"""Wheels of the Python packages the GPU machine lacks, small enough to travel with the repository.

The GPU machine's image (the device tool's KINDS.md) holds torch, triton, accelerate, safetensors,
sentencepiece, numpy and pillow, but not diffusers, gradio or bitsandbytes, and it reaches no
package registry. A run carries at most 64 MiB in all, and the repository alone is about 30 MiB
(the built-in model's weights). This downloads here, with pip, the wheels of what the image lacks,
built for its Python (3.12, x86-64), at the versions this environment runs (so the GPU runs what
the tests ran), and trims the two large ones to what the GPU check loads: bitsandbytes keeps its
CPU and CUDA 13.0 libraries (the image's torch is a CUDA 13.0 build), gradio leaves out its
browser side and demo media, which a server needs and the check's handlers do not (so these
wheels run `benchmarks.gpu_check`, not `app.py`).

    echo /.whl/ >> .git/info/exclude      # once: the wheels travel as a carried path, not as repository files
    python -m benchmarks.gpu_wheels       # writes .whl/ and prints what a run will carry

On the GPU machine, with carry [".whl"]:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \\
        && export PYTHONPATH=/tmp/site:.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# what the image lacks of the project's packages and of theirs (read off KINDS.md's package list)
MISSING = ("diffusers", "bitsandbytes", "gradio", "gradio-client", "hf-gradio", "fastapi", "starlette", "uvicorn",
           "pydantic", "pydantic-core", "annotated-types", "typing-inspection", "orjson", "brotli", "groovy", "pydub",
           "python-multipart", "pytz", "safehttpx", "semantic-version", "tomlkit", "opentelemetry-api")
KEPT_LIBRARIES = ("cpu", "cuda130")  # of bitsandbytes' prebuilt libraries: the image's torch is 2.11+cu130


def unused(package: str, path: str) -> bool:
    """Whether a file of a package's wheel is one the project never loads."""
    if package == "bitsandbytes":
        return path.startswith("bitsandbytes/libbitsandbytes_") and not path.endswith(
            tuple(f"_{k}.so" for k in KEPT_LIBRARIES))
    if package == "gradio":
        # the browser's side (the frontend, its server-side renderer) and the demo media: the check calls
        # the app's handlers in process and serves no page
        return path.startswith(("gradio/templates/", "gradio/media_assets/", "gradio/test_data/"))
    return False


PYTHON = "3.12"  # the image's python3
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
CARRY_LIMIT_MIB = 64
MiB = 2**20


def trim(wheel: Path, package: str) -> int:
    """Rewrite `wheel` without its unused files (and their lines of RECORD); returns how many went."""
    staging = wheel.with_name(wheel.name + ".part")
    with zipfile.ZipFile(wheel) as src:
        gone = {i.filename for i in src.infolist() if unused(package, i.filename)}
        if not gone:
            return 0
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename in gone:
                    continue
                data = src.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    lines = data.decode().splitlines(keepends=True)
                    data = "".join(line for line in lines if line.split(",", 1)[0] not in gone).encode()
                dst.writestr(info, data)
    os.replace(staging, wheel)
    return len(gone)


def repository_mib() -> float:
    """MiB of what a run sends besides carried paths: tracked files and untracked ones git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    return sum((REPO / n).stat().st_size for n in names if n and (REPO / n).is_file()) / MiB


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / ".whl", help="folder for the wheels (default: .whl in the repository)")
    args = p.parse_args(argv)
    out = args.out.resolve()
    if out.is_relative_to(REPO):
        ignored = subprocess.run(["git", "check-ignore", "-q", str(out / "x.whl")], cwd=REPO).returncode == 0
        if not ignored:
            sys.exit(f"{out} is not ignored by git, so it would travel twice: first run\n"
                     f"    echo /{out.relative_to(REPO)}/ >> .git/info/exclude")
    out.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in MISSING]
    platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", PYTHON, "--implementation", "cp", *platforms, "-d", str(out), *pins], check=True)
    for wheel in sorted(out.glob("*.whl")):
        gone = trim(wheel, wheel.name.split("-")[0].replace("_", "-").lower())
        if gone:
            print(f"{wheel.name}: {gone} unused files left out")
    wheels = sum(w.stat().st_size for w in out.glob("*.whl")) / MiB
    tree = repository_mib()
    print(f"{len(pins)} wheels, {wheels:.1f} MiB, in {out}; with the repository's {tree:.1f} MiB a run carries "
          f"{tree + wheels:.1f} of its {CARRY_LIMIT_MIB} MiB")
    if tree + wheels > CARRY_LIMIT_MIB:
        sys.exit("over the limit: the run would be refused")


if __name__ == "__main__":
    main()
