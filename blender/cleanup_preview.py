"""Texture cleanup: the preview nodes that show the mask in red over the texture.

Three nodes in the material (the mask on the texture's own UVs, x 0.65, a Mix node over the
texture's colour towards red) spliced between the texture node and whatever it fed, so
Material Preview and renders show the marked texels in red. Each node carries ``NODE_TAG``
(the mask's name when made, for people reading the node tree) and ``GROUP`` (which three
belong together); the mask node's image says whose preview it is, so a renamed mask or
texture keeps its preview, and a preview whose mask was deleted is recognised as an orphan.
"""

from __future__ import annotations

import bpy

from .cleanup_target import is_mask

NODE_TAG = "mapsmith_cleanup"        # on the preview nodes: the mask's name when made
GROUP = "mapsmith_cleanup_group"     # on the preview nodes: the three that belong together
ROLE = "mapsmith_role"               # "mask", "strength" or "mix"
PREVIEW_RED = (1.0, 0.0, 0.0, 1.0)
PREVIEW_OPACITY = 0.65


def _socket(sockets, identifier: str, fallback: int):
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    return sockets[fallback]


def _groups(tree) -> list[list]:
    """The preview node groups of a tree (older files: grouped by the tag alone)."""
    groups: dict = {}
    for node in tree.nodes:
        if NODE_TAG in node:
            groups.setdefault(node.get(GROUP, node[NODE_TAG]), []).append(node)
    return list(groups.values())


def _mask_node(group):
    return next((n for n in group if n.type == "TEX_IMAGE"), None)


def _shows(group, mask) -> bool:
    node = _mask_node(group)
    return node is not None and node.image is not None and node.image == mask


def _orphan(group) -> bool:
    node = _mask_node(group)
    return node is None or node.image is None or not is_mask(node.image)


def add_preview(material, tex_node, mask) -> None:
    """Splice mask -> x0.65 -> Mix(texture, red) between the texture node and its users."""
    tree = material.node_tree
    if any(_shows(group, mask) for group in _groups(tree)):
        return
    x, y = tex_node.location
    mask_node = tree.nodes.new("ShaderNodeTexImage")
    mask_node.image = mask
    mask_node.interpolation = tex_node.interpolation
    mask_node.extension = tex_node.extension
    mask_node.label = "Cleanup mask (Mapsmith)"
    mask_node.location = (x, y - 300)
    if tex_node.inputs["Vector"].is_linked:  # the texture's own mapping, whatever it is
        tree.links.new(tex_node.inputs["Vector"].links[0].from_socket, mask_node.inputs["Vector"])
    strength = tree.nodes.new("ShaderNodeMath")
    strength.operation = "MULTIPLY"
    strength.inputs[1].default_value = PREVIEW_OPACITY
    strength.label = "Cleanup preview opacity"
    strength.location = (x + 300, y - 300)
    mix = tree.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.blend_type = "MIX"
    mix.label = "Cleanup preview (Mapsmith)"
    mix.location = (x + 300, y)
    _socket(mix.inputs, "B_Color", 7).default_value = PREVIEW_RED
    out_color = tex_node.outputs["Color"]
    users = [link.to_socket for link in out_color.links]
    tree.links.new(mask_node.outputs["Color"], strength.inputs[0])
    tree.links.new(strength.outputs[0], _socket(mix.inputs, "Factor_Float", 0))
    tree.links.new(out_color, _socket(mix.inputs, "A_Color", 6))
    result = _socket(mix.outputs, "Result_Color", 2)
    for to_socket in users:
        tree.links.new(result, to_socket)
    for node, role in ((mask_node, "mask"), (strength, "strength"), (mix, "mix")):
        node[NODE_TAG] = mask.name
        node[GROUP] = mix.name  # unique in the tree
        node[ROLE] = role
        node.select = False
    tree.nodes.active = tex_node


def _remove_group(tree, group) -> None:
    for mix in [n for n in group if n.type == "MIX"]:
        a = _socket(mix.inputs, "A_Color", 6)
        source = a.links[0].from_socket if a.is_linked else None
        users = [link.to_socket for link in _socket(mix.outputs, "Result_Color", 2).links]
        if source is not None:
            for to_socket in users:
                tree.links.new(source, to_socket)
    for node in group:
        tree.nodes.remove(node)


def remove_preview(mask=None) -> int:
    """Remove, links put back, the preview of ``mask`` and every preview whose mask is gone,
    from every material. Returns how many previews were removed."""
    removed = 0
    for material in bpy.data.materials:
        tree = material.node_tree
        if tree is None or material.library is not None:
            continue
        for group in _groups(tree):
            if (mask is not None and _shows(group, mask)) or _orphan(group):
                _remove_group(tree, group)
                removed += 1
    return removed
