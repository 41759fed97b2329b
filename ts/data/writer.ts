/**
 * ShardWriter: appends pairs to Arrow IPC file shards of a bounded number of pairs, one bounded
 * record batch at a time, and writes index.json when closed.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Data,
  FixedSizeBinary,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  type Schema,
  Struct,
  Utf8,
} from 'apache-arrow';
import { type DatasetIndex, type DatasetInfo, INDEX_FILE, type ShardEntry, validateIndex, writeIndex } from './datasetIndex';
import {
  bytesPerPair,
  checkPair,
  type MetaSpec,
  type PairRecord,
  recordBatchDigest,
  SHARD_SCHEMA_VERSION,
  shardFileName,
  shardSchema,
  type TensorSpec,
} from './format';

export interface ShardWriterOptions {
  tensors: TensorSpec[];
  meta: MetaSpec[];
  dataset: DatasetInfo;
  /** Pairs per shard file (default 1024); the last shard may hold fewer. */
  pairsPerShard?: number;
  /** Pairs per Arrow record batch (default 64): the unit a reader loads at once. */
  recordBatchSize?: number;
  /** Replace a dataset already in the directory instead of refusing to. */
  overwrite?: boolean;
}

const DEFAULT_PAIRS_PER_SHARD = 1024;
const DEFAULT_RECORD_BATCH_SIZE = 64;

/** Files a writer produces, including leftovers of an interrupted run. */
const DATASET_FILE = /^(index\.json|shard-\d{5}\.arrow)(\.tmp)?$/;

/**
 * Arrow's file writer with its output handed synchronously to `sink` rather than queued for an
 * asynchronous consumer, so every record batch is hashed and on disk before the next is built and
 * memory stays bounded by one record batch.
 */
class SinkFileWriter extends RecordBatchFileWriter {
  constructor(private readonly sink: (bytes: Uint8Array) => void) {
    super();
  }

  protected override _write(chunk: ArrayBufferView): this {
    if (this._started && chunk.byteLength > 0) {
      this.sink(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }
}

interface OpenShard {
  file: string;
  fd: number;
  hash: Hash;
  recordBatchSha256: string[];
  bytes: number;
  pairs: number;
  writer: SinkFileWriter;
}

export class ShardWriter {
  private readonly schema: Schema;
  private readonly tensorWidths: number[];
  /** The record batch being filled: one byte buffer per tensor column, one value list per meta column. */
  private readonly pendingTensors: Uint8Array[];
  private pendingMeta: unknown[][];
  private pendingPairs = 0;
  private shard: OpenShard | null = null;
  private readonly shards: ShardEntry[] = [];
  private totalPairs = 0;
  private closed = false;

  private constructor(
    private readonly dir: string,
    /** The dataset's index before any shard is written. */
    private readonly index: DatasetIndex,
    private readonly pairsPerShard: number,
  ) {
    this.schema = shardSchema(index.tensors, index.meta);
    this.tensorWidths = index.tensors.map(bytesPerPair);
    this.pendingTensors = this.tensorWidths.map((width) => new Uint8Array(width * index.recordBatchSize));
    this.pendingMeta = index.meta.map(() => []);
  }

  /** Prepares `dir` (created if needed) for a new dataset with these columns. */
  static async open(dir: string, opts: ShardWriterOptions): Promise<ShardWriter> {
    const pairsPerShard = opts.pairsPerShard ?? DEFAULT_PAIRS_PER_SHARD;
    if (!Number.isInteger(pairsPerShard) || pairsPerShard < 1) throw new RangeError(`pairsPerShard must be a positive integer, got ${pairsPerShard}`);
    // Validating an empty index checks the column specs and dataset info before any pair is built.
    const emptyIndex = validateIndex({
      schemaVersion: SHARD_SCHEMA_VERSION,
      dataset: opts.dataset,
      recordBatchSize: opts.recordBatchSize ?? DEFAULT_RECORD_BATCH_SIZE,
      tensors: opts.tensors,
      meta: opts.meta,
      shards: [],
      pairs: 0,
    });
    await fs.promises.mkdir(dir, { recursive: true });
    const existing = (await fs.promises.readdir(dir)).filter((name) => DATASET_FILE.test(name));
    if (existing.length > 0) {
      if (!opts.overwrite) throw new Error(`${dir} already holds dataset files (${existing.join(', ')}); pass --overwrite to replace them`);
      // index.json goes first: an interrupted overwrite then leaves an incomplete directory, never a stale valid one.
      existing.sort((a, b) => Number(b.startsWith(INDEX_FILE)) - Number(a.startsWith(INDEX_FILE)));
      for (const name of existing) await fs.promises.rm(path.join(dir, name));
    }
    return new ShardWriter(dir, emptyIndex, pairsPerShard);
  }

  async append(pair: PairRecord): Promise<void> {
    if (this.closed) throw new Error('ShardWriter.append after close');
    checkPair(shardFileName(this.shards.length), this.totalPairs, pair, this.index.tensors, this.index.meta);
    this.index.tensors.forEach((spec, column) => {
      const value = pair.tensors[spec.name];
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      this.pendingTensors[column].set(bytes, this.pendingPairs * this.tensorWidths[column]);
    });
    this.index.meta.forEach((spec, column) => this.pendingMeta[column].push(pair.meta[spec.name]));
    this.pendingPairs++;
    this.totalPairs++;
    const shardPairs = (this.shard?.pairs ?? 0) + this.pendingPairs;
    if (this.pendingPairs === this.index.recordBatchSize || shardPairs === this.pairsPerShard) this.flushRecordBatch();
    if (shardPairs === this.pairsPerShard) this.finishShard();
  }

  /** Writes the last partial record batch and shard, then index.json; returns the index. */
  async close(): Promise<DatasetIndex> {
    if (this.closed) throw new Error('ShardWriter.close called twice');
    this.closed = true;
    if (this.pendingPairs > 0) this.flushRecordBatch();
    if (this.shard) this.finishShard();
    const index = validateIndex({ ...this.index, shards: this.shards, pairs: this.totalPairs });
    writeIndex(this.dir, index);
    return index;
  }

  private flushRecordBatch(): void {
    const shard = this.shard ?? (this.shard = this.startShard());
    const length = this.pendingPairs;
    const tensorColumns = this.tensorWidths.map((width, column) =>
      makeData({
        type: new FixedSizeBinary(width),
        length,
        nullCount: 0,
        data: this.pendingTensors[column].subarray(0, length * width),
      }),
    );
    const metaColumns = this.index.meta.map((spec, column) => metaColumn(spec, this.pendingMeta[column]));
    const columns = [...tensorColumns, ...metaColumns];
    shard.recordBatchSha256.push(recordBatchDigest(columns));
    const rows = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children: columns });
    // The sink writes synchronously, so the pending buffers are free for reuse when write() returns.
    shard.writer.write(new RecordBatch(this.schema, rows));
    shard.pairs += length;
    this.pendingPairs = 0;
    this.pendingMeta = this.index.meta.map(() => []);
  }

  private startShard(): OpenShard {
    const file = shardFileName(this.shards.length);
    const fd = fs.openSync(path.join(this.dir, `${file}.tmp`), 'w');
    const shard: OpenShard = {
      file,
      fd,
      hash: createHash('sha256'),
      recordBatchSha256: [],
      bytes: 0,
      pairs: 0,
      writer: new SinkFileWriter((bytes) => {
        fs.writeSync(fd, bytes);
        shard.hash.update(bytes);
        shard.bytes += bytes.byteLength;
      }),
    };
    return shard;
  }

  /** Writes the footer, flushes the file to disk and renames it into place. */
  private finishShard(): void {
    const shard = this.shard;
    if (!shard) return;
    this.shard = null;
    shard.writer.close();
    fs.fsyncSync(shard.fd);
    fs.closeSync(shard.fd);
    fs.renameSync(path.join(this.dir, `${shard.file}.tmp`), path.join(this.dir, shard.file));
    const { file, pairs, bytes, recordBatchSha256 } = shard;
    this.shards.push({ file, pairs, bytes, sha256: shard.hash.digest('hex'), recordBatchSha256 });
  }
}

const utf8Encoder = new TextEncoder();

function metaColumn(spec: MetaSpec, values: unknown[]): Data {
  switch (spec.type) {
    case 'int32':
      return makeData({ type: new Int32(), length: values.length, nullCount: 0, data: Int32Array.from(values as number[]) });
    case 'float32':
      return makeData({ type: new Float32(), length: values.length, nullCount: 0, data: Float32Array.from(values as number[]) });
    case 'utf8':
      return utf8Column(values as string[]);
    case 'json':
      return utf8Column(values.map((value) => JSON.stringify(value)));
  }
}

function utf8Column(strings: string[]): Data {
  const encoded = strings.map((text) => utf8Encoder.encode(text));
  const valueOffsets = new Int32Array(strings.length + 1);
  encoded.forEach((bytes, i) => (valueOffsets[i + 1] = valueOffsets[i] + bytes.byteLength));
  const data = new Uint8Array(valueOffsets[strings.length]);
  encoded.forEach((bytes, i) => data.set(bytes, valueOffsets[i]));
  return makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets, data });
}
