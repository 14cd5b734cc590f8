"""Small stand-in ONNX models with the real models' input and output signatures (tests only).

Built with ``onnx.helper``; each computes a known function, so a test can tell that the
offline provider fed it and read it the way the real model wants:

- depth (Depth Anything V2): ``pixel_values`` (1, 3, h, w) -> ``predicted_depth`` (1, h, w),
  the mean of the three normalised channels: brighter = "nearer".
- matte (MODNet): ``input`` (1, 3, h, w) -> ``output`` (1, 1, h, w), (mean channel + 1) / 2,
  i.e. the pixel's brightness 0..1 (the input is (x - 0.5) / 0.5).
- inpainting (LaMa, Carve export): ``image`` (1, 3, 512, 512) and ``mask`` (1, 1, 512, 512)
  -> ``output`` (1, 3, 512, 512) in 0..255: the image, with mid grey (127.5) in the hole.

``files(infos)`` gives {host path: bytes} for ``tests/servers/model_host.ModelHost``.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

OPSET = 17
IR_VERSION = 8       # what every onnxruntime the product ships can read


def _model(nodes, inputs, outputs, inits=()) -> bytes:
    graph = helper.make_graph(nodes, "stand_in", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="mapsmith-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _const(name: str, value: float):
    return helper.make_tensor(name, TensorProto.FLOAT, [], [value])


def depth_model() -> bytes:
    x = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("predicted_depth", TensorProto.FLOAT, [1, "h", "w"])
    node = helper.make_node("ReduceMean", ["pixel_values"], ["predicted_depth"], axes=[1],
                            keepdims=0)
    return _model([node], [x], [y])


def matte_model() -> bytes:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Add", ["m", "one"], ["m1"]),
             helper.make_node("Mul", ["m1", "half"], ["output"])]
    return _model(nodes, [x], [y], [_const("one", 1.0), _const("half", 0.5)])


def inpaint_model() -> bytes:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 512, 512])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 512, 512])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])
    nodes = [helper.make_node("Sub", ["one", "mask"], ["keep"]),
             helper.make_node("Mul", ["image", "keep"], ["kept"]),
             helper.make_node("Mul", ["mask", "half"], ["grey"]),
             helper.make_node("Add", ["kept", "grey"], ["out01"]),
             helper.make_node("Mul", ["out01", "scale"], ["output"])]
    return _model(nodes, [image, mask], [y],
                  [_const("one", 1.0), _const("half", 0.5), _const("scale", 255.0)])


BUILDERS = {"depth": depth_model, "background": matte_model, "cleanup": inpaint_model}


def files(infos) -> dict:
    """{host path: stand-in bytes} for the ModelInfo records ``infos``."""
    return {info.path: BUILDERS[info.capability]() for info in infos}


def stand_in_infos(infos, data: dict):
    """The records with their size set to the stand-in's and any pinned SHA-256 replaced by
    the stand-in's (tests only: the real pins are for the real files)."""
    import dataclasses
    import hashlib
    return [dataclasses.replace(info, size=len(data[info.path]),
                                sha256=hashlib.sha256(data[info.path]).hexdigest()
                                if info.sha256 else "")
            for info in infos]
