/**
 * An ONNX ModelProto encoder for the small subset of ONNX our model families use:
 * float32/int64 tensors, INT/INTS/FLOAT attributes, static or symbolic dims.
 * Field numbers follow onnx/onnx.proto (proto2). Platform-free: runs in Node and workerd.
 */
import { ProtoWriter } from "./protobuf";

/** IR version 8 (ONNX 1.10+); every onnxruntime since 1.10 reads it. */
export const IR_VERSION = 8;
/** Default ai.onnx opset: 13 moved `axes` of Unsqueeze/ReduceSum from attributes to inputs. */
export const OPSET_VERSION = 13;

/** Tensor element types we emit, with their TensorProto.DataType codes. */
export const DATA_TYPE = { float32: 1, int64: 7 } as const;
export type ElemType = keyof typeof DATA_TYPE;

/** A node attribute (AttributeProto). Only the kinds our graphs need. */
export type Attribute =
  | { name: string; kind: "int"; value: number }
  | { name: string; kind: "ints"; value: readonly number[] }
  | { name: string; kind: "float"; value: number }
  | { name: string; kind: "floats"; value: readonly number[] }
  | { name: string; kind: "string"; value: string }
  | { name: string; kind: "strings"; value: readonly string[] };

/** One operator application (NodeProto), in the default ai.onnx domain unless `domain` says otherwise. */
export interface NodeSpec {
  opType: string;
  /** Operator set domain, e.g. "ai.onnx.ml" (default: "" = ai.onnx). */
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: readonly Attribute[];
}

/** A constant tensor (TensorProto) stored as little-endian `raw_data`. */
export type TensorSpec =
  | { name: string; type: "float32"; dims: readonly number[]; data: Float32Array }
  | { name: string; type: "int64"; dims: readonly number[]; data: BigInt64Array | readonly number[] };

/** A dimension: a fixed size, or a symbolic name (`dim_param`) for a size known only at run time. */
export type Dim = number | string;

/** A typed graph input or output (ValueInfoProto with a tensor type). */
export interface ValueInfoSpec {
  name: string;
  type: ElemType;
  shape: readonly Dim[];
}

/** A computation graph: nodes in topological order, constants, inputs and outputs. */
export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
}

/** A whole model file. */
export interface ModelSpec {
  graph: GraphSpec;
  producerName?: string;
  irVersion?: number;
  opsetVersion?: number;
  /** Further operator sets, e.g. `{ domain: "ai.onnx.ml", version: 3 }`. */
  extraOpsets?: readonly { domain: string; version: number }[];
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes a model as ONNX protobuf bytes (ModelProto), ready for `InferenceSession.create`. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const w = new ProtoWriter()
    .int(1, spec.irVersion ?? IR_VERSION) // ir_version
    .string(2, spec.producerName ?? "edgewise") // producer_name
    .message(7, (g) => writeGraph(g, spec.graph)) // graph
    .message(8, (o) => o.int(2, spec.opsetVersion ?? OPSET_VERSION)); // opset_import{version}; empty domain = ai.onnx
  for (const op of spec.extraOpsets ?? []) w.message(8, (o) => o.string(1, op.domain).int(2, op.version));
  return w.finish();
}

function writeGraph(w: ProtoWriter, g: GraphSpec): void {
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.bytes(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of g.outputs) w.message(12, (vw) => writeValueInfo(vw, v));
}

function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (aw) => writeAttribute(aw, a));
  if (n.domain) w.string(7, n.domain);
}

function writeAttribute(w: ProtoWriter, a: Attribute): void {
  w.string(1, a.name);
  switch (a.kind) {
    case "float":
      w.float(2, a.value).int(20, ATTR_FLOAT);
      break;
    case "int":
      w.int(3, a.value).int(20, ATTR_INT);
      break;
    case "ints":
      w.ints(8, a.value).int(20, ATTR_INTS);
      break;
    case "floats":
      for (const x of a.value) w.float(7, x);
      w.int(20, ATTR_FLOATS);
      break;
    case "string":
      w.string(4, a.value).int(20, ATTR_STRING);
      break;
    case "strings":
      for (const x of a.value) w.string(9, x);
      w.int(20, ATTR_STRINGS);
      break;
  }
}

/** Encodes one TensorProto: dims, data_type, name, raw_data. */
function encodeTensor(t: TensorSpec): Uint8Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) throw new RangeError(`tensor ${t.name}: dims [${t.dims.join(", ")}] need ${count} values, got ${t.data.length}`);
  return new ProtoWriter()
    .ints(1, t.dims) // dims
    .int(2, DATA_TYPE[t.type]) // data_type
    .string(8, t.name) // name
    .bytes(9, rawData(t)) // raw_data
    .finish();
}

/** Fixed-width little-endian bytes, as raw_data requires regardless of the host's byte order. */
function rawData(t: TensorSpec): Uint8Array {
  if (t.type === "float32") {
    if (LITTLE_ENDIAN_HOST) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const view = new DataView(new ArrayBuffer(t.data.length * 4));
    t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return new Uint8Array(view.buffer);
  }
  const view = new DataView(new ArrayBuffer(t.data.length * 8));
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    view.setBigInt64(i * 8, typeof v === "bigint" ? v : BigInt(v), true);
  }
  return new Uint8Array(view.buffer);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DATA_TYPE[v.type]); // elem_type
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}
