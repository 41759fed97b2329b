/**
 * Read access to one shard, one record batch at a time (the file is never loaded whole), with every
 * inconsistency against index.json reported as a DatasetError naming the shard.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type AsyncRecordBatchFileReader, type Data, type FixedSizeBinary, RecordBatchReader } from 'apache-arrow';
import type { DatasetIndex, ShardEntry } from './datasetIndex';
import { DatasetError } from './errors';
import { bytesPerPair, checkShardSchema, recordBatchDigest } from './format';

/** The pairs of one record batch: tensor bytes (pair-major) per tensor column, decoded values per meta column. */
export interface DecodedRecordBatch {
  pairs: number;
  tensors: Uint8Array[];
  meta: unknown[][];
}

export function recordBatchCount(shard: ShardEntry, recordBatchSize: number): number {
  return Math.ceil(shard.pairs / recordBatchSize);
}

/** Throws unless the shard's size and SHA-256 match index.json; reads the file as a stream. */
export async function checkShardChecksum(dir: string, shard: ShardEntry): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await openHandle(dir, shard.file);
  await pipeline(handle.createReadStream(), async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
  });
  checkShardSize(shard, size);
  const digest = hash.digest('hex');
  if (digest !== shard.sha256) {
    throw new DatasetError(shard.file, `checksum mismatch: SHA-256 is ${digest}, index.json says ${shard.sha256}`);
  }
}

function checkShardSize(shard: ShardEntry, size: number): void {
  if (size !== shard.bytes) {
    throw new DatasetError(shard.file, `is ${size} bytes but index.json says ${shard.bytes} (truncated or rewritten)`);
  }
}

export class ShardFile {
  private constructor(
    private readonly handle: fs.promises.FileHandle,
    private readonly reader: AsyncRecordBatchFileReader,
    private readonly index: DatasetIndex,
    private readonly shard: ShardEntry,
  ) {}

  /**
   * Opens shard `shardIndex` of the dataset and checks its size, Arrow footer, schema and record
   * batch count against the index.
   */
  static async open(dir: string, index: DatasetIndex, shardIndex: number): Promise<ShardFile> {
    const shard = index.shards[shardIndex];
    const handle = await openHandle(dir, shard.file);
    try {
      checkShardSize(shard, (await handle.stat()).size);
      const reader = await openArrowFile(handle, shard.file);
      checkShardSchema(shard.file, reader.schema, index.tensors, index.meta);
      const expected = recordBatchCount(shard, index.recordBatchSize);
      if (reader.numRecordBatches !== expected) {
        throw new DatasetError(
          shard.file,
          `holds ${reader.numRecordBatches} record batches; index.json's ${shard.pairs} pairs in batches of ${index.recordBatchSize} need ${expected}`,
        );
      }
      const checksums = shard.recordBatchSha256?.length ?? expected;
      if (checksums !== expected) {
        throw new DatasetError(shard.file, `index.json lists ${checksums} record-batch checksums for its ${expected} record batches`);
      }
      return new ShardFile(handle, reader, index, shard);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Reads and decodes record batch `batchIndex`, checking its pair count and column sizes. */
  async readRecordBatch(batchIndex: number): Promise<DecodedRecordBatch> {
    const { file } = this.shard;
    const { recordBatchSize, tensors, meta } = this.index;
    let batch;
    try {
      batch = await this.reader.readRecordBatch(batchIndex);
    } catch (err) {
      throw new DatasetError(file, `record batch ${batchIndex} is unreadable (${(err as Error).message})`);
    }
    if (!batch) throw new DatasetError(file, `record batch ${batchIndex} is missing`);
    const pairs = Math.min(recordBatchSize, this.shard.pairs - batchIndex * recordBatchSize);
    if (batch.numRows !== pairs) {
      throw new DatasetError(
        file,
        `record batch ${batchIndex} holds ${batch.numRows} pairs where index.json's ${this.shard.pairs} pairs for this shard imply ${pairs}`,
      );
    }
    const columns = batch.data.children;
    const expectedDigest = this.shard.recordBatchSha256?.[batchIndex];
    if (expectedDigest !== undefined) {
      const digest = recordBatchDigest(columns);
      if (digest !== expectedDigest) {
        throw new DatasetError(file, `record batch ${batchIndex} is corrupt: SHA-256 of its values is ${digest}, index.json says ${expectedDigest}`);
      }
    }
    const tensorBytes = tensors.map((spec, column) => {
      const data = columns[column] as Data<FixedSizeBinary>;
      const width = bytesPerPair(spec);
      const bytes = data.values.subarray(data.offset * width, (data.offset + pairs) * width);
      if (bytes.byteLength !== pairs * width) {
        throw new DatasetError(
          file,
          `record batch ${batchIndex} column '${spec.name}' has ${bytes.byteLength} bytes for ${pairs} pairs of ${width}`,
        );
      }
      return bytes;
    });
    const metaValues = meta.map((spec, i) => {
      const vector = batch.getChildAt(tensors.length + i)!;
      const values: unknown[] = [];
      for (let row = 0; row < pairs; row++) {
        const value = vector.get(row);
        if (spec.type !== 'json') {
          values.push(value);
          continue;
        }
        try {
          values.push(JSON.parse(value as string));
        } catch {
          throw new DatasetError(file, `record batch ${batchIndex} meta '${spec.name}' row ${row} is not valid JSON`);
        }
      }
      return values;
    });
    return { pairs, tensors: tensorBytes, meta: metaValues };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Opens a shard, reads one of its record batches and closes it again. */
export async function readShardRecordBatch(
  dir: string,
  index: DatasetIndex,
  shardIndex: number,
  batchIndex: number,
): Promise<DecodedRecordBatch> {
  const shard = await ShardFile.open(dir, index, shardIndex);
  try {
    return await shard.readRecordBatch(batchIndex);
  } finally {
    await shard.close();
  }
}

async function openHandle(dir: string, file: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(path.join(dir, file), 'r');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DatasetError(file, missing ? 'is missing' : (err as Error).message);
  }
}

async function openArrowFile(handle: fs.promises.FileHandle, file: string): Promise<AsyncRecordBatchFileReader> {
  let reader;
  try {
    reader = await RecordBatchReader.from(handle);
  } catch (err) {
    throw new DatasetError(file, `is not a readable Arrow IPC file (${(err as Error).message})`);
  }
  if (!reader.isFile()) throw new DatasetError(file, 'is not an Arrow IPC file (no ARROW1 magic at its start)');
  try {
    // The handle belongs to ShardFile; the reader must not close it when a batch read hits the end.
    return (await reader.open({ autoDestroy: false })) as AsyncRecordBatchFileReader;
  } catch (err) {
    throw new DatasetError(file, `has an unreadable Arrow footer (${(err as Error).message})`);
  }
}
