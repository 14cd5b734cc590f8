#!/usr/bin/env bash
# Set up a fresh machine for Mapsmith development: system libraries bpy needs, and one venv
# per supported Blender (the bpy wheel + test tools). Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

# bpy wheels: 4.2 LTS (oldest supported) and 5.0.1 (newest for Python 3.11) always; 5.2.3
# (Python 3.13, so the zip's cp313 wheels are exercised too) where a Python 3.13 exists.
BLENDERS=${BLENDERS:-"4.2.23 5.0.1 5.2.3"}

find_python() {  # find_python 3.11 -> a python3.11 command, or nothing
  if command -v "python$1" >/dev/null 2>&1 && "python$1" -c "" 2>/dev/null; then
    command -v "python$1"; return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local v
    v=$(pyenv versions --bare 2>/dev/null | grep -E "^$1(\.|$)" | tail -n 1)
    if [ -n "$v" ] && [ -x "$(pyenv root)/versions/$v/bin/python$1" ]; then
      echo "$(pyenv root)/versions/$v/bin/python$1"; return
    fi
  fi
}

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
  venv=".venv-${ver%.*}"          # .venv-4.2, .venv-5.0, .venv-5.2
  case "$ver" in 4.*|5.0.*) py=3.11 ;; *) py=3.13 ;; esac
  stamp="$venv/.mapsmith-setup"
  want="bpy==$ver $(sha1sum tools/requirements-test.txt | cut -c1-12)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then continue; fi
  python=$(find_python "$py")
  if [ -z "$python" ]; then
    [ "$py" = 3.11 ] && { echo "setup: Python 3.11 is required" >&2; exit 1; }
    echo "setup: no Python $py here: Blender $ver will not be tested"; continue
  fi
  echo "setup: $venv (bpy $ver, Python $py)"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "bpy==$ver" \
    -r tools/requirements-test.txt
  echo "$want" > "$stamp"
done
