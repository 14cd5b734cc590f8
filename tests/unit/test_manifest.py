"""blender_manifest.toml: what the listing shows (tools/build.py runs Blender's validator,
tags included; these check what the validator cannot know)."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text())


def test_bundled_models_copyright_holder_is_credited():
    notice = (ROOT / "providers/offline/models/NOTICE").read_text()
    assert "Google LLC" in notice
    assert any("Google LLC" in line and "MediaPipe" in line for line in MANIFEST["copyright"])


def test_no_placeholder_website():
    assert ".invalid" not in MANIFEST.get("website", "")
    assert "example" not in MANIFEST.get("website", "")


def test_tags_say_what_it_does():
    assert "Add Mesh" in MANIFEST["tags"]
    assert "Import-Export" not in MANIFEST["tags"]     # nothing is imported from files


def test_tagline_says_portraits():
    assert "portrait" in MANIFEST["tagline"].lower()
    assert "photos" not in MANIFEST["tagline"]
