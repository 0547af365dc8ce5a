"""Minimal, TensorFlow-free protobuf schema for TF's GraphDef (graph.proto, node_def.proto,
attr_value.proto, tensor.proto, tensor_shape.proto), built at run time with the plain
`protobuf` package (a dependency of `onnx`). Field numbers are TF's, so binary .pb files
round-trip; fields we do not declare are kept as unknown fields.

    from tfgraph_pb import GraphDef, tensor_to_numpy
    g = GraphDef(); g.ParseFromString(open('frozen.pb','rb').read())
"""
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf import message_factory
    _get = message_factory.GetMessageClass
except (ImportError, AttributeError):  # older protobuf
    from google.protobuf import message_factory
    _get = lambda d: message_factory.MessageFactory().GetPrototype(d)  # noqa: E731

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED


def _msg(fp, name, fields, nested=()):
    m = fp.message_type.add()
    m.name = name
    for fname, num, typ, label, tname, *extra in fields:
        f = m.field.add()
        f.name, f.number, f.type, f.label = fname, num, typ, label
        if tname:
            f.type_name = tname
        if extra and extra[0]:
            f.options.packed = True
    for n in nested:
        n(m)
    return m


def _build():
    fp = descriptor_pb2.FileDescriptorProto()
    fp.name = "tfgraph_min.proto"
    fp.package = "tfmin"
    fp.syntax = "proto3"
    en = fp.enum_type.add()
    en.name = "DataType"
    for i, nm in enumerate(["DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16",
                            "DT_INT8", "DT_STRING", "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8",
                            "DT_QUINT8", "DT_QINT32", "DT_BFLOAT16", "DT_QINT16", "DT_QUINT16",
                            "DT_UINT16", "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",
                            "DT_UINT32", "DT_UINT64"]):
        v = en.value.add()
        v.name, v.number = nm, i
    _msg(fp, "Dim", [("size", 1, F.TYPE_INT64, OPT, None), ("name", 2, F.TYPE_STRING, OPT, None)])
    _msg(fp, "TensorShapeProto", [("dim", 2, F.TYPE_MESSAGE, REP, ".tfmin.Dim"),
                                  ("unknown_rank", 3, F.TYPE_BOOL, OPT, None)])
    _msg(fp, "TensorProto", [
        ("dtype", 1, F.TYPE_ENUM, OPT, ".tfmin.DataType"),
        ("tensor_shape", 2, F.TYPE_MESSAGE, OPT, ".tfmin.TensorShapeProto"),
        ("version_number", 3, F.TYPE_INT32, OPT, None),
        ("tensor_content", 4, F.TYPE_BYTES, OPT, None),
        ("float_val", 5, F.TYPE_FLOAT, REP, None, True),
        ("double_val", 6, F.TYPE_DOUBLE, REP, None, True),
        ("int_val", 7, F.TYPE_INT32, REP, None, True),
        ("string_val", 8, F.TYPE_BYTES, REP, None),
        ("int64_val", 10, F.TYPE_INT64, REP, None, True),
        ("bool_val", 11, F.TYPE_BOOL, REP, None, True),
        ("half_val", 13, F.TYPE_INT32, REP, None, True),
    ])
    _msg(fp, "ListValue", [
        ("s", 2, F.TYPE_BYTES, REP, None), ("i", 3, F.TYPE_INT64, REP, None, True),
        ("f", 4, F.TYPE_FLOAT, REP, None, True), ("b", 5, F.TYPE_BOOL, REP, None, True),
        ("type", 6, F.TYPE_ENUM, REP, ".tfmin.DataType", True),
        ("shape", 7, F.TYPE_MESSAGE, REP, ".tfmin.TensorShapeProto"),
        ("tensor", 8, F.TYPE_MESSAGE, REP, ".tfmin.TensorProto")])
    av = _msg(fp, "AttrValue", [
        ("list", 1, F.TYPE_MESSAGE, OPT, ".tfmin.ListValue"),
        ("s", 2, F.TYPE_BYTES, OPT, None), ("i", 3, F.TYPE_INT64, OPT, None),
        ("f", 4, F.TYPE_FLOAT, OPT, None), ("b", 5, F.TYPE_BOOL, OPT, None),
        ("type", 6, F.TYPE_ENUM, OPT, ".tfmin.DataType"),
        ("shape", 7, F.TYPE_MESSAGE, OPT, ".tfmin.TensorShapeProto"),
        ("tensor", 8, F.TYPE_MESSAGE, OPT, ".tfmin.TensorProto"),
        ("placeholder", 9, F.TYPE_STRING, OPT, None)])
    od = av.oneof_decl.add()
    od.name = "value"
    for f in av.field:
        f.oneof_index = 0

    def attr_entry(m):
        e = m.nested_type.add()
        e.name = "AttrEntry"
        e.options.map_entry = True
        k = e.field.add()
        k.name, k.number, k.type, k.label = "key", 1, F.TYPE_STRING, OPT
        v = e.field.add()
        v.name, v.number, v.type, v.label, v.type_name = "value", 2, F.TYPE_MESSAGE, OPT, ".tfmin.AttrValue"
    nd = _msg(fp, "NodeDef", [("name", 1, F.TYPE_STRING, OPT, None), ("op", 2, F.TYPE_STRING, OPT, None),
                              ("input", 3, F.TYPE_STRING, REP, None), ("device", 4, F.TYPE_STRING, OPT, None)],
              nested=[attr_entry])
    f = nd.field.add()
    f.name, f.number, f.type, f.label, f.type_name = "attr", 5, F.TYPE_MESSAGE, REP, ".tfmin.NodeDef.AttrEntry"
    _msg(fp, "GraphDef", [("node", 1, F.TYPE_MESSAGE, REP, ".tfmin.NodeDef")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fp)
    return {n: _get(pool.FindMessageTypeByName("tfmin." + n))
            for n in ("GraphDef", "NodeDef", "AttrValue", "TensorProto", "TensorShapeProto")}


_C = _build()
GraphDef, NodeDef, AttrValue, TensorProto, TensorShapeProto = (
    _C["GraphDef"], _C["NodeDef"], _C["AttrValue"], _C["TensorProto"], _C["TensorShapeProto"])

DT = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 9: np.int64, 10: np.bool_}


def tensor_to_numpy(t):
    dt = DT.get(t.dtype)
    shape = [d.size for d in t.tensor_shape.dim]
    if t.tensor_content:
        return np.frombuffer(t.tensor_content, dtype=dt).reshape(shape)
    vals = (list(t.float_val) or list(t.int_val) or list(t.int64_val) or list(t.double_val)
            or list(t.bool_val) or list(t.string_val))
    n = int(np.prod(shape)) if shape else 1
    if dt is None:
        return vals
    a = np.array(vals, dtype=dt)
    if a.size == 1 and n > 1:
        a = np.full(n, a[0], dtype=dt)
    return a.reshape(shape) if shape else (a[0] if a.size else a)


def load(path):
    g = GraphDef()
    g.ParseFromString(open(path, "rb").read())
    return g
