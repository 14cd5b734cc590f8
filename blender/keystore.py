"""Remembered API keys: an opt-in file, readable only by the user, in the extension's user folder.

Keys are never in a .blend or in userpref.blend: the preferences hold them in memory (their
properties have getters and setters). With "Remember Keys on This Computer" on, they are also
written to ``keys.json`` in ``bpy.utils.extension_path_user(<add-on>)`` (Linux:
``~/.config/blender/<version>/extensions/.user/user_default/mapsmith/``), created with mode
0600 (on Windows the user's own profile folder protects it), and read back when the add-on is
enabled. The file existing is the opt-in: turning the option off, or Forget Keys, deletes it.
"""

from __future__ import annotations

import json
import os
import stat

import bpy

ADDON = __package__.rpartition(".")[0]     # the add-on's package ("bl_ext.<repo>.mapsmith")
FILE_NAME = "keys.json"


def folder(create: bool = False) -> str:
    return bpy.utils.extension_path_user(ADDON, create=create)


def path() -> str:
    return os.path.join(folder(), FILE_NAME)


def remembered() -> bool:
    """True when the user opted in (the file exists)."""
    return os.path.isfile(path())


def load() -> dict[str, str]:
    """The remembered keys ({} when none, or when the file is unreadable)."""
    try:
        if os.name == "posix" and os.stat(path()).st_mode & 0o077:
            os.chmod(path(), stat.S_IRUSR | stat.S_IWUSR)   # someone widened it: narrow again
        with open(path(), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and v}


def save(keys: dict[str, str]) -> None:
    """Write the non-empty keys, replacing the file atomically; the new file is 0600 from
    the start (never briefly readable by others)."""
    os.makedirs(folder(create=True), exist_ok=True)
    target = path()
    tmp = target + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    try:
        if os.name == "posix":
            os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)   # whatever the umask or an old file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = None
            json.dump({k: v for k, v in sorted(keys.items()) if v}, fh)
        os.replace(tmp, target)
    finally:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.remove(tmp)


def forget() -> bool:
    """Delete the file; True when there was one."""
    try:
        os.remove(path())
    except FileNotFoundError:
        return False
    return True
