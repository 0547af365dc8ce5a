#!/usr/bin/env python3
"""convert_ppocr_rec.py IN OUT KEYS

Make RapidOCR's PP-OCRv4 text recogniser (ch_PP-OCRv4_rec_infer.onnx, opset 12) importable by OpenCV 4.6's cv::dnn,
and write its character list (kept in the model's metadata) to KEYS, one per line.

OpenCV 4.6 cannot run the original: its input is dynamic and the attention blocks compute shapes at run time (Shape
nodes OpenCV 4.6 refuses). So:
1. the input is fixed at 1x3x48x320 (a plate line scaled to 48 px high, padded to 320 wide) and onnx-simplifier folds
   every shape computation into constants;
2. Gemm nodes whose weights are not transposed get transposed weights and transB=1 (OpenCV 4.6 reads the output width
   from the weights' first dimension);
3. per-channel constants multiplied into or added to 3-D tensors (LayerNorm's scale and shift) are broadcast to the
   tensor's full shape (OpenCV 4.6 maps them to a Scale layer over axis 1);
4. Clip bounds become attributes, as convert_ppocr.py does for the detector.
Needs onnx, onnxsim and onnxruntime (pinned by scripts/fetch-models.sh). The result is for OpenCV 4.6 only.
"""
import sys

import numpy as np
import onnx
import onnxsim
from onnx import helper, numpy_helper, shape_inference

from convert_ppocr import convert as rewrite_clips

INPUT_SHAPE = [1, 3, 48, 320]


def convert(src, dst, keys):
    model = onnx.load(src)
    characters = next(p.value for p in model.metadata_props if p.key == "character")
    with open(keys, "w", encoding="utf-8") as out:
        out.write(characters if characters.endswith("\n") else characters + "\n")

    model, ok = onnxsim.simplify(model, overwrite_input_shapes={model.graph.input[0].name: INPUT_SHAPE})
    if not ok:
        raise SystemExit("onnx-simplifier could not check the simplified model")
    graph = model.graph
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    initializers = {i.name: i for i in graph.initializer}

    def constant(name):
        if name in constants:
            return numpy_helper.to_array(constants[name].attribute[0].t)
        if name in initializers:
            return numpy_helper.to_array(initializers[name])
        return None

    def replace(name, array):
        if name in constants:
            tensor = constants[name].attribute[0].t
            constants[name].attribute[0].t.CopyFrom(numpy_helper.from_array(array, tensor.name))
        else:
            initializers[name].CopyFrom(numpy_helper.from_array(array, name))

    gemms = 0
    for node in graph.node:
        if node.op_type != "Gemm":
            continue
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attributes.get("transB", 0) == 1:
            continue
        weights = constant(node.input[1])
        if weights is None:
            raise SystemExit(f"{node.name}: Gemm weights are not constant")
        replace(node.input[1], np.ascontiguousarray(weights.T))
        for attribute in node.attribute:
            if attribute.name == "transB":
                attribute.i = 1
        if "transB" not in attributes:
            node.attribute.append(helper.make_attribute("transB", 1))
        gemms += 1

    inferred = shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    }
    broadcast = 0
    for node in graph.node:
        if node.op_type not in ("Mul", "Add", "Sub", "Div") or len(node.input) != 2:
            continue
        for name, other in ((node.input[1], node.input[0]), (node.input[0], node.input[1])):
            value = constant(name)
            shape = shapes.get(other)
            if value is None or not shape or len(shape) < 2 or value.ndim != 1 or value.size < 2:
                continue
            replace(name, np.ascontiguousarray(np.broadcast_to(value.reshape([1] * (len(shape) - 1) + [value.size]), shape)))
            broadcast += 1

    onnx.save(model, dst)
    rewrite_clips(dst, dst)
    print(f"fixed the input at {INPUT_SHAPE}, transposed {gemms} Gemm weights, broadcast {broadcast} constants -> {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2], sys.argv[3])
