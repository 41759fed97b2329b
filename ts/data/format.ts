/**
 * The on-disk layout of a pair, shared by the writer, the reader and the verifier: tensor and meta
 * column specs, their Arrow types, and the checks that a shard's schema matches its index.
 */
import { createHash } from 'node:crypto';
import { type Data, DataType, Field, FixedSizeBinary, Float32, Int32, Schema, Utf8 } from 'apache-arrow';
import { DatasetError } from './errors';

export type TensorDType = 'float32' | 'uint8' | 'int16' | 'int32';
export type TensorArray = Float32Array | Uint8Array | Int16Array | Int32Array;
export type MetaType = 'int32' | 'float32' | 'utf8' | 'json';

/** One tensor of a pair; `shape` is per pair (no batch dimension). */
export interface TensorSpec {
  name: string;
  dtype: TensorDType;
  shape: number[];
}

export interface MetaSpec {
  name: string;
  type: MetaType;
}

export interface PairRecord {
  tensors: Record<string, TensorArray>;
  meta: Record<string, unknown>;
}

export const TENSOR_DTYPES = ['float32', 'uint8', 'int16', 'int32'] as const;
export const META_TYPES = ['int32', 'float32', 'utf8', 'json'] as const;

type TensorArrayConstructor = Float32ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor;

export const TENSOR_ARRAY: Record<TensorDType, TensorArrayConstructor> = {
  float32: Float32Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
};

export const SHARD_SCHEMA_VERSION = 1;

/** Keys of the Arrow metadata that repeat the index's column specs inside each shard. */
const DTYPE_KEY = 'mmdisco.dtype';
const SHAPE_KEY = 'mmdisco.shape';
const META_TYPE_KEY = 'mmdisco.meta';
const VERSION_KEY = 'mmdisco.schemaVersion';

// Tensors are stored as the host's typed-array bytes and declared little-endian; refuse to run
// anywhere that would silently write or read them the other way round.
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
  throw new Error('mmdisco shards hold little-endian tensors; this host is big-endian');
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

export function bytesPerPair(spec: TensorSpec): number {
  return elementCount(spec.shape) * TENSOR_ARRAY[spec.dtype].BYTES_PER_ELEMENT;
}

export function shardFileName(shardIndex: number): string {
  return `shard-${String(shardIndex).padStart(5, '0')}.arrow`;
}

function metaArrowType(type: MetaType): DataType {
  switch (type) {
    case 'int32':
      return new Int32();
    case 'float32':
      return new Float32();
    case 'utf8':
    case 'json':
      return new Utf8();
  }
}

/**
 * SHA-256 over the values of one record batch's columns (tensor bytes, meta values, string offsets): what a
 * reader hands on, so that damage to a batch is caught when that batch is read, whatever else the file holds.
 */
export function recordBatchDigest(columns: readonly Data[]): string {
  const hash = createHash('sha256');
  const update = (view: ArrayBufferView): void => {
    hash.update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  };
  for (const data of columns) {
    if (data.valueOffsets) {
      const offsets = data.valueOffsets.subarray(data.offset, data.offset + data.length + 1);
      update(offsets);
      update(data.values.subarray(offsets[0], offsets[data.length]));
    } else {
      update(data.values.subarray(data.offset * data.stride, (data.offset + data.length) * data.stride));
    }
  }
  return hash.digest('hex');
}

/** The Arrow schema of every shard of a dataset with these columns, tensors first. */
export function shardSchema(tensors: readonly TensorSpec[], meta: readonly MetaSpec[]): Schema {
  const tensorFields = tensors.map(
    (spec) =>
      new Field(
        spec.name,
        new FixedSizeBinary(bytesPerPair(spec)),
        false,
        new Map([
          [DTYPE_KEY, spec.dtype],
          [SHAPE_KEY, JSON.stringify(spec.shape)],
        ]),
      ),
  );
  const metaFields = meta.map(
    (spec) => new Field(spec.name, metaArrowType(spec.type), false, new Map([[META_TYPE_KEY, spec.type]])),
  );
  return new Schema([...tensorFields, ...metaFields], new Map([[VERSION_KEY, String(SHARD_SCHEMA_VERSION)]]));
}

/**
 * Throws a DatasetError naming `file` unless `actual` (read from a shard) has exactly the columns
 * the index declares, in order, with the same Arrow types, byte widths and column metadata.
 */
export function checkShardSchema(
  file: string,
  actual: Schema,
  tensors: readonly TensorSpec[],
  meta: readonly MetaSpec[],
): void {
  const version = actual.metadata.get(VERSION_KEY);
  if (version !== String(SHARD_SCHEMA_VERSION)) {
    throw new DatasetError(file, `shard schema version is ${version ?? 'absent'}, expected ${SHARD_SCHEMA_VERSION}`);
  }
  const expected = shardSchema(tensors, meta);
  const actualNames = actual.fields.map((field) => field.name);
  for (const field of expected.fields) {
    if (!actualNames.includes(field.name)) throw new DatasetError(file, `column '${field.name}' is missing`);
  }
  if (actualNames.length !== expected.fields.length || actualNames.some((name, i) => name !== expected.fields[i].name)) {
    throw new DatasetError(
      file,
      `columns [${actualNames.join(', ')}] differ from index.json's [${expected.fields.map((f) => f.name).join(', ')}]`,
    );
  }
  expected.fields.forEach((want, i) => {
    const got = actual.fields[i];
    if (got.type instanceof FixedSizeBinary && want.type instanceof FixedSizeBinary && got.type.byteWidth !== want.type.byteWidth) {
      const spec = tensors[i];
      throw new DatasetError(
        file,
        `column '${want.name}' holds ${got.type.byteWidth} bytes per pair; index.json's ${spec.dtype} [${spec.shape.join(', ')}] needs ${want.type.byteWidth}`,
      );
    }
    if (String(got.type) !== String(want.type)) {
      throw new DatasetError(file, `column '${want.name}' has Arrow type ${got.type}, expected ${want.type}`);
    }
    for (const [key, value] of want.metadata) {
      const found = got.metadata.get(key);
      if (found !== value) {
        throw new DatasetError(file, `column '${want.name}' metadata ${key} is ${found ?? 'absent'}, index.json says ${value}`);
      }
    }
  });
}

/** Throws a DatasetError naming `file` unless `pair` matches the column specs exactly. */
export function checkPair(
  file: string,
  pairNumber: number,
  pair: PairRecord,
  tensors: readonly TensorSpec[],
  meta: readonly MetaSpec[],
): void {
  const fail = (problem: string): never => {
    throw new DatasetError(file, `pair ${pairNumber}: ${problem}`);
  };
  checkKeys(Object.keys(pair.tensors), tensors, 'tensor', fail);
  for (const spec of tensors) {
    const value = pair.tensors[spec.name];
    if (!(value instanceof TENSOR_ARRAY[spec.dtype])) fail(`tensor '${spec.name}' must be a ${TENSOR_ARRAY[spec.dtype].name}`);
    if (value.length !== elementCount(spec.shape)) {
      fail(`tensor '${spec.name}' has ${value.length} elements; shape [${spec.shape.join(', ')}] needs ${elementCount(spec.shape)}`);
    }
  }
  checkKeys(Object.keys(pair.meta), meta, 'meta', fail);
  for (const spec of meta) {
    const value = pair.meta[spec.name];
    const ok =
      spec.type === 'int32'
        ? Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff
        : spec.type === 'float32'
          ? typeof value === 'number'
          : spec.type === 'utf8'
            ? typeof value === 'string'
            : value !== undefined && JSON.stringify(value) !== undefined;
    if (!ok) fail(`meta '${spec.name}' = ${String(value)} is not a valid ${spec.type}`);
  }
}

function checkKeys(keys: string[], specs: readonly { name: string }[], kind: string, fail: (problem: string) => never): void {
  const expected = specs.map((spec) => spec.name);
  const missing = expected.filter((name) => !keys.includes(name));
  const extra = keys.filter((name) => !expected.includes(name));
  if (missing.length > 0) fail(`${kind} missing: ${missing.join(', ')}`);
  if (extra.length > 0) fail(`${kind} not in the dataset's columns: ${extra.join(', ')}`);
}
