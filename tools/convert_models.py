#!/usr/bin/env python3
"""Derive Mapsmith's offline ONNX models from the mediapipe 0.10.21 wheel, reproducibly.

    python tools/convert_models.py [--out providers/offline/models] [--wheel path.whl]
                                   [--check-litert]

Steps:
1. ``pip download mediapipe==0.10.21 --no-deps`` (one platform wheel; the .tflite files inside
   are the same on every platform) and check the wheel's SHA-256 against the pin below.
2. Extract the three TFLite models (Apache-2.0, Google LLC) and check their SHA-256.
3. Convert each with the small converter below (PyPI ``tflite`` reads the flatbuffer,
   ``onnx.helper`` writes opset 17): the fp16 weights behind DEQUANTIZE are folded into fp16
   initializers followed by one Cast each, so the files stay half size.
4. Check each ONNX model against reference numbers: always onnx.checker plus an
   onnxruntime run; with ``--check-litert`` (needs ``ai-edge-litert``, Linux/macOS only) also
   against the original TFLite model on random and real inputs.
5. Write the .onnx files and ``SHA256SUMS`` (read by the add-on to verify each file on load).

The ONNX graphs keep the TFLite interface: NHWC float32 input, outputs in the TFLite shapes.
Internally they run NCHW. Tool-only dependencies: tools/requirements-models.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

MEDIAPIPE_VERSION = "0.10.21"
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON = "3.11"
WHEEL_NAME = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-{WHEEL_PLATFORM}.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"

# output name -> (path inside the wheel, SHA-256 of that .tflite)
MODELS = {
    "selfie_segmentation": (
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
    "face_detection_short_range": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
    "face_landmark": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
}

OPSET = 17
ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "providers" / "offline" / "models"


def sha256(path_or_bytes) -> str:
    h = hashlib.sha256()
    if isinstance(path_or_bytes, (bytes, bytearray)):
        h.update(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# The converter
# --------------------------------------------------------------------------------------------

class Converter:
    """TFLite flatbuffer -> ONNX graph for the op set the three MediaPipe models use."""

    NHWC_TO_NCHW = [0, 3, 1, 2]
    NCHW_TO_NHWC = [0, 2, 3, 1]

    def __init__(self, data: bytes, name: str):
        import tflite
        from onnx import helper
        self.tfl = tflite
        self.helper = helper
        self.name = name
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("only single-subgraph models are supported")
        self.g = self.model.Subgraphs(0)
        self.opnames = {v: k for k, v in tflite.BuiltinOperator.__dict__.items()
                        if not k.startswith("_")}
        self.nodes = []
        self.inits = {}        # onnx name -> numpy array (float32/fp16/int64)
        self.consts = {}       # tflite tensor index -> numpy array (folded constants)
        self.names = {}        # tflite tensor index -> onnx value name (NCHW for rank-4)
        self.counter = 0

    # ---- helpers -------------------------------------------------------------------------
    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        return [int(s) for s in self.tensor(i).ShapeAsNumpy()]

    def raw_name(self, i):
        return self.tensor(i).Name().decode()

    def tname(self, i):
        """Internal ONNX name of tflite tensor ``i`` (graph I/O keep the raw names)."""
        return f"t{i}:{self.raw_name(i)}"

    def uniq(self, base):
        self.counter += 1
        return f"{base}__{self.counter}"

    def buffer(self, i):
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        raw = buf.DataAsNumpy().tobytes()
        dtype = {self.tfl.TensorType.FLOAT32: np.float32, self.tfl.TensorType.FLOAT16: np.float16,
                 self.tfl.TensorType.INT32: np.int32, self.tfl.TensorType.INT64: np.int64,
                 self.tfl.TensorType.UINT8: np.uint8, self.tfl.TensorType.INT8: np.int8}[t.Type()]
        return np.frombuffer(raw, dtype=dtype).reshape(self.shape(i))

    def const(self, i):
        if i in self.consts:
            return self.consts[i]
        arr = self.buffer(i)
        if arr is not None:
            self.consts[i] = arr
        return arr

    def weight(self, arr: np.ndarray, base: str) -> str:
        """A float weight as an fp16 initializer + Cast to float32 (halves the file)."""
        arr = np.asarray(arr)
        name = self.uniq(base)
        if arr.dtype in (np.float16, np.float32) and arr.size > 16:
            self.inits[name + "_fp16"] = arr.astype(np.float16)
            self.node("Cast", [name + "_fp16"], [name], to=1)
        else:
            self.inits[name] = arr.astype(np.float32) if arr.dtype.kind == "f" else arr
        return name

    def int64(self, values, base: str) -> str:
        name = self.uniq(base)
        self.inits[name] = np.asarray(values, dtype=np.int64)
        return name

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(self.helper.make_node(op, inputs, outputs,
                                                name=self.uniq(op), **attrs))

    def val(self, i) -> str:
        """ONNX value name for tflite tensor ``i`` (constants become initializers)."""
        if i in self.names:
            return self.names[i]
        arr = self.const(i)
        if arr is None:
            raise KeyError(f"tensor {self.tname(i)} used before it was produced")
        if arr.ndim == 4:
            arr = arr.transpose(self.NHWC_TO_NCHW)
        name = self.weight(arr, "const")
        self.names[i] = name
        return name

    def options(self, op, cls):
        table = op.BuiltinOptions()
        opt = cls()
        opt.Init(table.Bytes, table.Pos)
        return opt

    def activation(self, name_in: str, out: str, fused: int):
        if fused == 0:
            self.node("Identity", [name_in], [out])
        elif fused == 1:
            self.node("Relu", [name_in], [out])
        elif fused == 3:
            self.node("Clip", [name_in, self.weight(np.float32(0), "lo"),
                               self.weight(np.float32(6), "hi")], [out])
        else:
            raise NotImplementedError(f"fused activation {fused}")

    def fused_out(self, out_idx: int, fused: int) -> str:
        """Name for the op's raw result; adds the activation node writing the tensor name."""
        final = self.tname(out_idx)
        self.names[out_idx] = final
        if fused == 0:
            return final
        raw = self.uniq(final + "_pre")
        self._pending_act = (raw, final, fused)
        return raw

    def finish_act(self):
        pend = getattr(self, "_pending_act", None)
        if pend:
            self.activation(*pend)
            self._pending_act = None

    @staticmethod
    def same_pads(in_size, k, s, d=1):
        out = -(-in_size // s)
        eff = (k - 1) * d + 1
        total = max((out - 1) * s + eff - in_size, 0)
        return total // 2, total - total // 2

    def spatial_pads(self, padding, in_shape, kh, kw, sh, sw, dh=1, dw=1):
        if padding == self.tfl.Padding.VALID:
            return [0, 0, 0, 0]
        t, b = self.same_pads(in_shape[1], kh, sh, dh)
        left, r = self.same_pads(in_shape[2], kw, sw, dw)
        return [t, left, b, r]

    # ---- ops ---------------------------------------------------------------------------
    def convert(self):
        from onnx import TensorProto, helper, numpy_helper
        g = self.g
        graph_inputs, graph_outputs = [], []
        for j in range(g.InputsLength()):
            i = g.Inputs(j)
            nm = self.raw_name(i)
            graph_inputs.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT,
                                                              self.shape(i)))
            if len(self.shape(i)) == 4:
                self.node("Transpose", [nm], [nm + "_nchw"], perm=self.NHWC_TO_NCHW)
                self.names[i] = nm + "_nchw"
            else:
                self.names[i] = nm

        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            oc = self.model.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            opname = self.opnames.get(code, str(code))
            if opname == "CUSTOM":
                opname = "CUSTOM:" + oc.CustomCode().decode()
            ins = [int(x) for x in op.InputsAsNumpy()]
            outs = [int(x) for x in op.OutputsAsNumpy()]
            handler = getattr(self, "op_" + opname.replace("CUSTOM:", "CUSTOM_"), None)
            if handler is None:
                raise NotImplementedError(f"{self.name}: op {opname}")
            handler(op, ins, outs)
            self.finish_act()

        for j in range(g.OutputsLength()):
            i = g.Outputs(j)
            nm = self.raw_name(i)
            shp = self.shape(i)
            src = self.names[i]
            if len(shp) == 4 and self.is_nchw(i):
                self.node("Transpose", [src], [nm + "_out"], perm=self.NCHW_TO_NHWC)
                src = nm + "_out"
            self.node("Identity", [src], [nm])
            graph_outputs.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, shp))
        inits = [numpy_helper.from_array(arr, name) for name, arr in sorted(self.inits.items())]
        graph = helper.make_graph(self.nodes, self.name, graph_inputs, graph_outputs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="mapsmith-convert_models",
                                  producer_version="1")
        model.ir_version = 8
        return model

    def is_nchw(self, i):
        return len(self.shape(i)) == 4 and i not in getattr(self, "_nhwc4", set())

    def op_DEQUANTIZE(self, op, ins, outs):
        arr = self.const(ins[0])
        if arr is None:
            raise NotImplementedError("DEQUANTIZE of a non-constant")
        self.consts[outs[0]] = arr.astype(np.float16)  # keep fp16; Cast happens on use

    def _conv_common(self, op, ins, outs, depthwise):
        tfl = self.tfl
        opt = self.options(op, tfl.DepthwiseConv2DOptions if depthwise else tfl.Conv2DOptions)
        w = self.const(ins[1])
        in_shape = self.shape(ins[0])
        if depthwise:  # [1, kh, kw, C*m] -> [C*m, 1, kh, kw]
            kh, kw = w.shape[1], w.shape[2]
            w_onnx = w.transpose(3, 0, 1, 2)
            group = in_shape[3]
        else:          # OHWI -> OIHW
            kh, kw = w.shape[1], w.shape[2]
            w_onnx = w.transpose(0, 3, 1, 2)
            group = 1
        sh, sw = opt.StrideH(), opt.StrideW()
        dh, dw = opt.DilationHFactor(), opt.DilationWFactor()
        pads = self.spatial_pads(opt.Padding(), in_shape, kh, kw, sh, sw, dh, dw)
        inputs = [self.val(ins[0]), self.weight(w_onnx, "w")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.weight(self.const(ins[2]), "b"))
        out = self.fused_out(outs[0], opt.FusedActivationFunction())
        self.node("Conv", inputs, [out], kernel_shape=[kh, kw], strides=[sh, sw],
                  dilations=[dh, dw], pads=pads, group=group)

    def op_CONV_2D(self, op, ins, outs):
        self._conv_common(op, ins, outs, depthwise=False)

    def op_DEPTHWISE_CONV_2D(self, op, ins, outs):
        self._conv_common(op, ins, outs, depthwise=True)

    def _pool(self, op, ins, outs, onnx_op):
        opt = self.options(op, self.tfl.Pool2DOptions)
        kh, kw = opt.FilterHeight(), opt.FilterWidth()
        sh, sw = opt.StrideH(), opt.StrideW()
        pads = self.spatial_pads(opt.Padding(), self.shape(ins[0]), kh, kw, sh, sw)
        out = self.fused_out(outs[0], opt.FusedActivationFunction())
        extra = {"count_include_pad": 0} if onnx_op == "AveragePool" else {}
        self.node(onnx_op, [self.val(ins[0])], [out], kernel_shape=[kh, kw],
                  strides=[sh, sw], pads=pads, **extra)

    def op_MAX_POOL_2D(self, op, ins, outs):
        self._pool(op, ins, outs, "MaxPool")

    def op_AVERAGE_POOL_2D(self, op, ins, outs):
        self._pool(op, ins, outs, "AveragePool")

    def _unary(self, onnx_op, ins, outs):
        self.names[outs[0]] = self.tname(outs[0])
        self.node(onnx_op, [self.val(ins[0])], [self.tname(outs[0])])

    def op_RELU(self, op, ins, outs):
        self._unary("Relu", ins, outs)

    def op_LOGISTIC(self, op, ins, outs):
        self._unary("Sigmoid", ins, outs)

    def op_HARD_SWISH(self, op, ins, outs):
        self._unary("HardSwish", ins, outs)

    def _broadcast_operand(self, i, other_rank):
        """A constant operand in NHWC broadcast form, moved to NCHW."""
        if i in self.names or self.const(i) is None:
            return self.val(i)
        arr = self.const(i)
        if other_rank == 4:
            if arr.ndim == 4:
                arr = arr.transpose(self.NHWC_TO_NCHW)
            elif arr.ndim in (1, 2, 3) and arr.size > 1:
                # NHWC trailing-aligned broadcast -> pad to rank 4 then permute
                arr = arr.reshape((1,) * (4 - arr.ndim) + arr.shape).transpose(
                    self.NHWC_TO_NCHW)
        name = self.weight(arr, "k")
        return name

    def _binary(self, op, ins, outs, onnx_op, cls):
        opt = self.options(op, cls)
        rank = len(self.shape(outs[0]))
        a = self._broadcast_operand(ins[0], rank)
        b = self._broadcast_operand(ins[1], rank)
        out = self.fused_out(outs[0], opt.FusedActivationFunction())
        self.node(onnx_op, [a, b], [out])

    def op_ADD(self, op, ins, outs):
        self._binary(op, ins, outs, "Add", self.tfl.AddOptions)

    def op_MUL(self, op, ins, outs):
        self._binary(op, ins, outs, "Mul", self.tfl.MulOptions)

    def op_PRELU(self, op, ins, outs):
        alpha = self.const(ins[1])
        # alpha is NHWC-broadcast (e.g. [1, 1, C]); ONNX wants it broadcastable to NCHW
        a4 = alpha.reshape((1,) * (4 - alpha.ndim) + alpha.shape).transpose(self.NHWC_TO_NCHW)
        a3 = a4[0]  # (C, H|1, W|1)
        self.names[outs[0]] = self.tname(outs[0])
        self.node("PRelu", [self.val(ins[0]), self.weight(a3, "alpha")], [self.tname(outs[0])])

    def op_PAD(self, op, ins, outs):
        p = self.const(ins[1]).astype(np.int64)  # [rank, 2] in NHWC
        rank = p.shape[0]
        if rank == 4:
            p = p[self.NHWC_TO_NCHW]
        pads = list(p[:, 0]) + list(p[:, 1])
        self.names[outs[0]] = self.tname(outs[0])
        self.node("Pad", [self.val(ins[0]), self.int64(pads, "pads")], [self.tname(outs[0])],
                  mode="constant")

    def op_MEAN(self, op, ins, outs):
        opt = self.options(op, self.tfl.ReducerOptions)
        axes = [int(a) for a in np.atleast_1d(self.const(ins[1]))]
        rank = len(self.shape(ins[0]))
        if rank == 4:
            axes = [self.NHWC_TO_NCHW.index(a % 4) for a in axes]
        if not opt.KeepDims() and rank == 4:
            raise NotImplementedError("MEAN without keep_dims on a 4-D tensor")
        self.names[outs[0]] = self.tname(outs[0])
        self.node("ReduceMean", [self.val(ins[0])], [self.tname(outs[0])], axes=axes,
                  keepdims=int(opt.KeepDims()))

    def op_RESIZE_BILINEAR(self, op, ins, outs):
        opt = self.options(op, self.tfl.ResizeBilinearOptions)
        size = [int(s) for s in self.const(ins[1])]
        n, _, _, c = self.shape(ins[0])
        if opt.AlignCorners():
            mode = "align_corners"
        elif opt.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        self.names[outs[0]] = self.tname(outs[0])
        self.node("Resize", [self.val(ins[0]), "", "", self.int64([n, c] + size, "sizes")],
                  [self.tname(outs[0])], mode="linear", coordinate_transformation_mode=mode)

    def op_RESHAPE(self, op, ins, outs):
        src = self.val(ins[0])
        if len(self.shape(ins[0])) == 4 and self.is_nchw(ins[0]):
            t = self.uniq("nhwc")
            self.node("Transpose", [src], [t], perm=self.NCHW_TO_NHWC)
            src = t
        out_shape = self.shape(outs[0])
        if len(out_shape) == 4:
            raise NotImplementedError("RESHAPE to rank 4")
        self.names[outs[0]] = self.tname(outs[0])
        self.node("Reshape", [src, self.int64(out_shape, "shape")], [self.tname(outs[0])])

    def op_CONCATENATION(self, op, ins, outs):
        opt = self.options(op, self.tfl.ConcatenationOptions)
        rank = len(self.shape(outs[0]))
        axis = opt.Axis() % rank
        if rank == 4:
            axis = self.NHWC_TO_NCHW.index(axis)
        out = self.fused_out(outs[0], opt.FusedActivationFunction())
        self.node("Concat", [self.val(i) for i in ins], [out], axis=axis)

    def op_CUSTOM_Convolution2DTransposeBias(self, op, ins, outs):
        opts = np.frombuffer(op.CustomOptionsAsNumpy().tobytes(), dtype=np.int32)
        padding, stride_w, stride_h = (int(x) for x in opts[:3])
        w = self.const(ins[1])   # OHWI
        b = self.const(ins[2])
        in_shape = self.shape(ins[0])
        out_shape = self.shape(outs[0])
        kh, kw = w.shape[1], w.shape[2]
        pads = []
        for dim, k, s in ((1, kh, stride_h), (2, kw, stride_w)):
            full = (in_shape[dim] - 1) * s + k
            total = full - out_shape[dim]
            if total < 0:
                raise NotImplementedError("transpose conv output larger than full")
            pads.append((total // 2, total - total // 2))
        self.names[outs[0]] = self.tname(outs[0])
        self.node("ConvTranspose",
                  [self.val(ins[0]), self.weight(w.transpose(3, 0, 1, 2), "wt"),
                   self.weight(b, "bt")],
                  [self.tname(outs[0])], kernel_shape=[kh, kw], strides=[stride_h, stride_w],
                  pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]])
        _ = padding  # 1 = SAME; the crop above follows the recorded output shape


def convert(data: bytes, name: str):
    return Converter(data, name).convert()


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------

def sample_inputs(shape, seed=0):
    """Random inputs plus real photos (skimage astronaut, if installed) in NHWC float32."""
    rng = np.random.default_rng(seed)
    out = [rng.random(shape, dtype=np.float32)]
    try:
        from skimage import data, transform
        img = transform.resize(data.astronaut(), shape[1:3], anti_aliasing=True)
        out.append(img[None].astype(np.float32))
        out.append(img[None].astype(np.float32) * 2 - 1)
    except Exception:
        pass
    return out


def check_onnx(onnx_bytes: bytes, tflite_bytes: bytes | None, use_litert: bool, label: str):
    import onnx
    import onnxruntime as ort
    model = onnx.load_from_string(onnx_bytes)
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    interp = None
    if use_litert and tflite_bytes is not None:
        from ai_edge_litert.interpreter import Interpreter
        interp = Interpreter(model_content=tflite_bytes)
        interp.allocate_tensors()
    worst = 0.0
    for x in sample_inputs(inp.shape):
        outs = sess.run(None, {inp.name: x})
        for o in outs:
            if not np.all(np.isfinite(o)):
                raise SystemExit(f"{label}: non-finite output")
        if interp is not None:
            interp.set_tensor(interp.get_input_details()[0]["index"], x)
            interp.invoke()
            details = interp.get_output_details()
            by_name = {d["name"]: interp.get_tensor(d["index"]) for d in details}
            for meta, o in zip(sess.get_outputs(), outs):
                ref = by_name[meta.name]
                err = float(np.max(np.abs(ref - o)) / max(float(np.max(np.abs(ref))), 1.0))
                worst = max(worst, err)
    if interp is not None:
        print(f"  {label}: max relative difference vs LiteRT {worst:.2e}")
        if worst > 2e-3:
            raise SystemExit(f"{label}: ONNX output differs from LiteRT ({worst:.2e})")
    else:
        print(f"  {label}: onnx.checker and onnxruntime OK (LiteRT comparison skipped)")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def download_wheel(dest: pathlib.Path) -> pathlib.Path:
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}",
           "--no-deps", "--only-binary=:all:", "--platform", WHEEL_PLATFORM,
           "--python-version", WHEEL_PYTHON, "-d", str(dest)]
    print("+", " ".join(cmd))
    subprocess.run(cmd, check=True)
    return dest / WHEEL_NAME


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--wheel", type=pathlib.Path, help="use this mediapipe wheel")
    ap.add_argument("--check-litert", action="store_true",
                    help="compare with the TFLite originals (needs ai-edge-litert)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(pathlib.Path(tmp))
        digest = sha256(wheel)
        if digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name}: SHA-256 {digest} != pinned {WHEEL_SHA256}")
        print(f"wheel OK: {wheel.name}")
        args.out.mkdir(parents=True, exist_ok=True)
        sums = []
        with zipfile.ZipFile(wheel) as zf:
            for name, (member, want) in MODELS.items():
                data = zf.read(member)
                got = sha256(data)
                if got != want:
                    raise SystemExit(f"{member}: SHA-256 {got} != pinned {want}")
                model = convert(data, name)
                onnx_bytes = model.SerializeToString()
                check_onnx(onnx_bytes, data, args.check_litert, name)
                path = args.out / f"{name}.onnx"
                path.write_bytes(onnx_bytes)
                sums.append(f"{sha256(onnx_bytes)}  {path.name}")
                print(f"  wrote {path} ({len(onnx_bytes) / 1e6:.2f} MB; source {got[:12]})")
        (args.out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
        print(f"wrote {args.out / 'SHA256SUMS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
