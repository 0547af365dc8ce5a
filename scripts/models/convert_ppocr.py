#!/usr/bin/env python3
"""convert_ppocr.py IN OUT

Make RapidOCR's PP-OCRv4 text detector (ch_PP-OCRv4_det_infer.onnx, opset 12)
importable by OpenCV 4.6's cv::dnn.

OpenCV 4.6's ONNX importer (parseClip) requires Clip to have exactly ONE input and
reads the bounds from the attributes `min`/`max` (the opset<=10 form). The model has
24 Clip nodes (all ReLU6: min 0, max 6) whose bounds are Constant-node inputs
(opset>=11 form). We move the constant bounds into attributes, drop the extra inputs
and remove the now-unused Constant nodes. Nothing else is touched: opset_import stays
12 (so Resize etc. keep their opset-11+ semantics), and the graph input keeps its
dynamic N/H/W dims.

Note: `onnx.checker` will flag Clip-with-attributes as invalid for opset 12; that is
expected - the file is meant for OpenCV 4.6 only (onnxruntime users should keep the
original file). Needs only the `onnx` python package (no onnxruntime, no TF).
"""
import sys

import onnx
from onnx import helper, numpy_helper


def convert(src, dst):
    m = onnx.load(src)
    g = m.graph
    const = {}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    const[n.output[0]] = numpy_helper.to_array(a.t)
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}

    def value_of(name):
        if name in const:
            return const[name]
        if name in inits:
            return inits[name]
        raise SystemExit(f"Clip bound {name!r} is not a constant; cannot rewrite")

    n_rewritten = 0
    for n in g.node:
        if n.op_type != "Clip" or len(n.input) == 1:
            continue
        lo = hi = None
        if len(n.input) > 1 and n.input[1]:
            lo = float(value_of(n.input[1]).reshape(-1)[0])
        if len(n.input) > 2 and n.input[2]:
            hi = float(value_of(n.input[2]).reshape(-1)[0])
        x = n.input[0]
        del n.input[:]
        n.input.append(x)
        if lo is not None:
            n.attribute.append(helper.make_attribute("min", lo))
        if hi is not None:
            n.attribute.append(helper.make_attribute("max", hi))
        n_rewritten += 1

    # drop Constant nodes nobody consumes any more
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [n for n in g.node if not (n.op_type == "Constant" and n.output[0] not in used)]
    removed = len(g.node) - len(keep)
    del g.node[:]
    g.node.extend(keep)

    onnx.save(m, dst)
    print(f"rewrote {n_rewritten} Clip nodes, removed {removed} unused Constant nodes; "
          f"opset {[ (o.domain or 'ai.onnx', o.version) for o in m.opset_import]} -> {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2])
