#!/usr/bin/env bash
# Set up a fresh machine for Mapsmith development: system libraries bpy needs, and one venv
# per supported Blender (the bpy wheel + test tools). Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
BLENDERS=${BLENDERS:-"4.2.23 5.0.1"}

need_libs=()
for lib in libX11.so.6 libXrender.so.1 libXfixes.so.3 libXi.so.6 libxkbcommon.so.0 libSM.so.6 \
           libICE.so.6 libGL.so.1 libEGL.so.1 libXxf86vm.so.1 libXext.so.6; do
  ldconfig -p | grep -q "$lib" || need_libs+=("$lib")
done
if [ ${#need_libs[@]} -gt 0 ]; then
  echo "setup: installing system libraries for bpy (missing: ${need_libs[*]})"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libx11-6 libxrender1 libxfixes3 libxi6 libxkbcommon0 libsm6 libice6 libgl1 libegl1 \
    libgl1-mesa-dri libxxf86vm1 libxext6 >/dev/null
fi

for ver in $BLENDERS; do
  venv=".venv-${ver%.*}"          # .venv-4.2, .venv-5.0
  stamp="$venv/.mapsmith-setup"
  want="bpy==$ver $(sha1sum tools/requirements-test.txt | cut -c1-12)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then continue; fi
  echo "setup: $venv (bpy $ver)"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "bpy==$ver" \
    -r tools/requirements-test.txt
  echo "$want" > "$stamp"
done
