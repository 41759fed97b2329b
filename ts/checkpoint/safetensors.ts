/**
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}, then the raw
 * little-endian tensor bytes. Used for every weight file mmdisco writes or loads.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomicWrite';
import type { Tensor } from '../native';

type SafetensorsDType = 'F32' | 'F64' | 'I32' | 'U8';
type StoredArray = Float32Array | Float64Array | Int32Array | Uint8Array;
const DTYPES: Record<SafetensorsDType, { bytes: number; make: (b: ArrayBuffer, o: number, n: number) => Tensor['data'] | StoredArray }> = {
  F32: { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  F64: { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  I32: { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  U8: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

export type NamedArrays = Record<string, { data: StoredArray; shape: number[] }>;

function dtypeOf(data: StoredArray): SafetensorsDType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Uint8Array) return 'U8';
  return 'I32';
}

/** Serialises tensors (sorted by name, so the bytes depend on the content only). */
export function encodeSafetensors(tensors: NamedArrays, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { data, shape } = tensors[name];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`safetensors: '${name}' has ${data.length} values for shape [${shape}]`);
    header[name] = { dtype: dtypeOf(data), shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // keeps tensor data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; errors name `source` and what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, source: string): { tensors: NamedArrays; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (shorter than its header length)`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new Error(`${source}: truncated safetensors header`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch (error) {
    throw new Error(`${source}: safetensors header is not JSON (${(error as Error).message})`);
  }
  const base = 8 + headerLength;
  const tensors: NamedArrays = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const spec = DTYPES[dtype as SafetensorsDType];
    if (!spec) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * spec.bytes || base + end > bytes.length) {
      throw new Error(`${source}: tensor '${name}' byte range [${begin}, ${end}) does not match shape [${shape}] or the file size`);
    }
    // Copy, so the result is aligned and independent of the file buffer.
    // (new Uint8Array(view) copies; Buffer#slice would return a view of the pooled buffer instead.)
    const copy = new Uint8Array(bytes.subarray(base + begin, base + end));
    tensors[name] = { data: spec.make(copy.buffer, 0, count) as Float32Array, shape };
  }
  return { tensors, metadata };
}

export async function writeSafetensors(file: string, tensors: NamedArrays, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(file: string): { tensors: NamedArrays; metadata: Record<string, string> } {
  return decodeSafetensors(readFileSync(file), file);
}
