"""Build the extension zips users install: wheels from PyPI, Blender's own validator and builder.

    python tools/build.py [--blender-ext PATH ...]

1. Every wheel named in blender_manifest.toml's ``wheels`` list is downloaded into
   ``wheels/`` with ``pip download`` for its exact platform and Python tags (never
   committed; already-present files are reused) and its name is checked.
2. ``blender_ext.py validate`` (shipped inside the bpy wheel) checks the repository with
   every Blender found in the dev venvs.
3. ``blender_ext.py build --split-platforms`` writes one zip per platform into ``dist/``.
"""

from __future__ import annotations

import argparse
import glob
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def manifest() -> dict:
    with open(ROOT / "blender_manifest.toml", "rb") as fh:
        return tomllib.load(fh)


def wheel_tags(filename: str) -> tuple[str, str, str, list[str]]:
    """name, version, python version ("3.11"), platform tags of a wheel file name."""
    name, version, py_tag, _abi, plat = filename[:-len(".whl")].split("-")
    py = py_tag[2] + "." + py_tag[3:] if py_tag.startswith("cp") else ""
    return name, version, py, plat.split(".")


def fetch_wheels() -> None:
    target = ROOT / "wheels"
    target.mkdir(exist_ok=True)
    for entry in manifest().get("wheels", []):
        filename = pathlib.PurePosixPath(entry).name
        if (target / filename).exists():
            continue
        name, version, py, plats = wheel_tags(filename)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                   "--no-deps", "--only-binary=:all:", "--implementation", "cp",
                   "-d", tmp, f"{name}=={version}"]
            if py:
                cmd += ["--python-version", py]
            for plat in plats:
                cmd += ["--platform", plat]
            print(f"build: fetching {filename}", flush=True)
            subprocess.run(cmd, check=True)
            got = [p.name for p in pathlib.Path(tmp).iterdir()]
            if got != [filename]:
                sys.exit(f"build: asked for {filename}, PyPI gave {got}: update the manifest")
            shutil.move(pathlib.Path(tmp) / filename, target / filename)


def find_blender_ext() -> list[str]:
    pattern = str(ROOT / ".venv-*/lib/python3*/site-packages/bpy/*/scripts/addons_core"
                  / "bl_pkg/cli/blender_ext.py")
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit("build: blender_ext.py not found; run tools/setup.sh first")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blender-ext", action="append", help="blender_ext.py to use")
    parser.add_argument("--output-dir", default=os.environ.get("MAPSMITH_DIST", str(ROOT / "dist")))
    args = parser.parse_args()

    fetch_wheels()
    tools = args.blender_ext or find_blender_ext()
    for tool in tools:
        version = pathlib.Path(tool).parents[4].name
        print(f"build: validating with {version} blender_ext.py", flush=True)
        # The tags Blender's own extension list accepts (shipped beside the tool).
        tags = pathlib.Path(tool).parents[3] / "modules/_bpy_internal/extensions/tags.py"
        subprocess.run([sys.executable, tool, "validate", "--valid-tags", str(tags), str(ROOT)],
                       check=True)
    out = pathlib.Path(args.output_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run([sys.executable, tools[-1], "build", "--source-dir", str(ROOT),
                    "--output-dir", str(out), "--split-platforms"], check=True)
    for zip_path in sorted(out.glob("*.zip")):
        print(f"build: {zip_path} ({zip_path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
