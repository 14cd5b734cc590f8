"""Shared bits of the result tests (relief, normals, background, material)."""

import importlib
import socket

import numpy as np
import pytest
from blhelpers import PKG, load_astronaut, prefs

import bpy

SIZE = 256          # the astronaut at 256 px: a real portrait, fast enough for every test
ID_COLLECTIONS = ("objects", "meshes", "materials", "images", "textures", "node_groups",
                  "collections", "curves", "worlds", "lights", "cameras")


def mod(name):
    return importlib.import_module(f"{PKG}.{name}")


@pytest.fixture
def portrait(blank):
    return load_astronaut(size=SIZE)


def offline():
    return mod("providers").create("OFFLINE")


def snapshot():
    """Names and pointers of every data-block, to compare before and after."""
    return {name: sorted((idb.name, idb.as_pointer()) for idb in getattr(bpy.data, name))
            for name in ID_COLLECTIONS}


def image_bytes(image):
    return mod("blender.pixels").read(image).copy()


def closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def point_clipdrop_at_closed_port():
    bpy.context.preferences.system.use_online_access = True
    p = prefs()
    p.clipdrop_api_key = "test-key"
    p.clipdrop_url = closed_port_url()
    p.max_retries = 0
    p.timeout_s = 2.0


def linked(socket_):
    """The node and socket feeding an input (asserting there is one)."""
    assert socket_.is_linked, f"{socket_.node.name}.{socket_.name} is not linked"
    link = socket_.links[0]
    return link.from_node, link.from_socket


def rgb_of(image):
    return (image_bytes(image)[..., :3] * 255).round().astype(np.int16)
