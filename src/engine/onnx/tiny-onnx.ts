// A minimal ONNX (protobuf) writer, for tests of the ORT plumbing without an exported model: enough
// of onnx.proto to write a graph of a few nodes with float / int64 inputs and float initializers.
// Nothing here is needed at run time by the lab; tests import it.
//
// Protobuf wire format: each field is a key varint (field_number << 3 | wire_type) then the value;
// wire type 0 = varint (ints, enums), 2 = length-delimited (strings, bytes, sub-messages, packed).
// Field numbers are onnx.proto's (onnx/onnx.proto, IR version 8):
//   ModelProto      ir_version 1, producer_name 2, graph 7, opset_import 8
//   OperatorSetId   domain 1, version 2
//   GraphProto      node 1, name 2, initializer 5, input 11, output 12
//   NodeProto       input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto  name 1, i 3, type 20 (INT = 2)
//   TensorProto     dims 1, data_type 2, name 8, raw_data 9 (little-endian)
//   ValueInfoProto  name 1, type 2;  TypeProto tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
//   TensorShapeProto dim 1;  Dimension dim_value 1, dim_param 2 (a symbolic name = a dynamic axis)

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

type Bytes = number[];
const utf8 = new TextEncoder();

function varint(n: number | bigint): Bytes {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // negative int64: two's complement, 10 bytes
  const out: Bytes = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: 0 | 2): Bytes => varint((field << 3) | wire);
const int = (field: number, n: number): Bytes => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): Bytes => bytes(field, utf8.encode(s));

/** A dimension: a number is fixed, a string is a symbolic (dynamic) axis. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number; // ONNX_FLOAT | ONNX_INT64
  dims: Dim[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** integer attributes, e.g. { axis: 0 } */
  intAttrs?: Record<string, number>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array; // row-major, shape dims
}

function valueInfo(v: ValueInfo): Bytes {
  const shape = v.dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, v.elemType), ...bytes(2, shape)];
  return [...str(1, v.name), ...bytes(2, bytes(1, tensorType))];
}

function node(n: NodeSpec, i: number): Bytes {
  const attrs = Object.entries(n.intAttrs ?? {}).flatMap(([name, value]) => bytes(5, [...str(1, name), ...int(3, value), ...int(20, 2)]));
  return [...n.inputs.flatMap((s) => str(1, s)), ...n.outputs.flatMap((s) => str(2, s)), ...str(3, n.name ?? `node${i}`), ...str(4, n.op), ...attrs];
}

function initializer(t: Initializer): Bytes {
  const raw = new Uint8Array(t.data.length * 4);
  const view = new DataView(raw.buffer);
  t.data.forEach((x, i) => view.setFloat32(i * 4, x, true)); // raw_data is little-endian
  return [...t.dims.flatMap((d) => int(1, d)), ...int(2, ONNX_FLOAT), ...str(8, t.name), ...bytes(9, raw)];
}

/** Serialises a one-graph ONNX model (IR 8, default domain at `opset`). */
export function encodeOnnxModel(g: { nodes: NodeSpec[]; inputs: ValueInfo[]; outputs: ValueInfo[]; initializers?: Initializer[]; opset?: number; name?: string }): Uint8Array {
  const graph = [
    ...g.nodes.flatMap((n, i) => bytes(1, node(n, i))),
    ...str(2, g.name ?? 'tiny'),
    ...(g.initializers ?? []).flatMap((t) => bytes(5, initializer(t))),
    ...g.inputs.flatMap((v) => bytes(11, valueInfo(v))),
    ...g.outputs.flatMap((v) => bytes(12, valueInfo(v))),
  ];
  const opset = [...str(1, ''), ...int(2, g.opset ?? 17)];
  return Uint8Array.from([...int(1, 8), ...str(2, 'stoney-rl-lab tiny-onnx'), ...bytes(7, graph), ...bytes(8, opset)]);
}
