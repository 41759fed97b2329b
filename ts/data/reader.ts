/**
 * ShardReader: streams batches of pairs from a dataset directory in a deterministic per-epoch order,
 * shared across ranks, resumable mid-epoch, with record batches read ahead asynchronously.
 */
import { type DatasetIndex, readIndex } from './datasetIndex';
import { bytesPerPair, elementCount, TENSOR_ARRAY, type TensorArray } from './format';
import { epochOrder, type RankBatch, rankBatches, recordBatchOf, type RecordBatchRef, recordBatchRefs } from './order';
import { checkShardChecksum, type DecodedRecordBatch, readShardRecordBatch } from './shardFile';

/** A point in the stream: `position` global pairs of `epoch` have been consumed (by all ranks together). */
export interface ReaderPosition {
  epoch: number;
  position: number;
}

export interface ShardReaderOptions {
  /** Pairs per batch on each rank. */
  batchSize: number;
  seed: number;
  rank?: number;
  worldSize?: number;
  /** Default true; false streams pairs in global id order. */
  shuffle?: boolean;
  /** Batches assembled ahead of the consumer (default 2). */
  prefetch?: number;
  /** Drop an incomplete last global batch, so that every rank gets the same number of full batches. */
  dropLast?: boolean;
  /** Resume point: epoch `start.epoch` begins after `start.position` global pairs. */
  start?: ReaderPosition;
  /** Record batches mixed together by the shuffle (default 16); see epochOrder. */
  shuffleWindow?: number;
  /**
   * Check every shard's SHA-256 before the first batch. Without it each record batch is still checked against
   * its own checksum as it is read, and a shard of a dataset written without those is checked whole first.
   */
  verifyChecksums?: boolean;
}

export interface Batch {
  /** One contiguous, batch-major array per tensor: pairs × prod(shape) elements. */
  tensors: Record<string, TensorArray>;
  meta: Record<string, unknown[]>;
  /** Global pair ids, in batch order. */
  indices: number[];
  /** Where to resume to continue right after this batch. */
  position: ReaderPosition;
}

const DEFAULT_PREFETCH = 2;
const DEFAULT_SHUFFLE_WINDOW = 16;

export class ShardReader {
  readonly index: DatasetIndex;
  private readonly refs: RecordBatchRef[];
  private readonly rank: number;
  private readonly worldSize: number;
  private readonly prefetch: number;
  private readonly shuffleWindow: number;
  private checksumsVerified = false;
  /** Shards without record-batch checksums whose file checksum has been checked by this reader. */
  private readonly shardsVerified = new Map<number, Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly opts: ShardReaderOptions,
  ) {
    this.rank = opts.rank ?? 0;
    this.worldSize = opts.worldSize ?? 1;
    this.prefetch = opts.prefetch ?? DEFAULT_PREFETCH;
    this.shuffleWindow = opts.shuffleWindow ?? DEFAULT_SHUFFLE_WINDOW;
    requireInteger('batchSize', opts.batchSize, 1);
    requireInteger('worldSize', this.worldSize, 1);
    requireInteger('rank', this.rank, 0, this.worldSize - 1);
    requireInteger('prefetch', this.prefetch, 0);
    requireInteger('shuffleWindow', this.shuffleWindow, 1);
    requireInteger('seed', opts.seed, Number.MIN_SAFE_INTEGER);
    this.index = readIndex(dir);
    this.refs = recordBatchRefs(this.index);
    if (opts.start) {
      requireInteger('start.epoch', opts.start.epoch, 0);
      requireInteger('start.position', opts.start.position, 0, this.index.pairs);
    }
  }

  /** Number of batches this rank gets from `epoch` (counted from the resume point in the start epoch). */
  batchCount(epoch: number): number {
    return this.plan(epoch).length;
  }

  /** This rank's batches of `epoch`, in order. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    requireInteger('epoch', epoch, 0);
    if (this.opts.verifyChecksums && !this.checksumsVerified) {
      for (const shard of this.index.shards) await checkShardChecksum(this.dir, shard);
      this.checksumsVerified = true;
    }
    const order = epochOrder(this.refs, {
      seed: this.opts.seed,
      epoch,
      shuffle: this.opts.shuffle ?? true,
      shuffleWindow: this.shuffleWindow,
    });
    const batches = this.plan(epoch);
    const lastUse = this.lastUseOfRecordBatches(order, batches);
    const loaded = new Map<number, Promise<DecodedRecordBatch>>();
    const inFlight: Promise<Batch>[] = [];
    let next = 0;
    while (next < batches.length || inFlight.length > 0) {
      while (next < batches.length && inFlight.length <= this.prefetch) {
        const batch = this.assemble(epoch, order, batches[next], next, loaded, lastUse);
        // A read-ahead batch may fail before its turn; its error is raised when it is awaited in order.
        batch.catch(() => undefined);
        inFlight.push(batch);
        next++;
      }
      yield await inFlight.shift()!;
    }
  }

  /** Resolves once shard `shardIndex` can be read: at once where its record batches carry checksums. */
  private verifiedShard(shardIndex: number): Promise<void> {
    const shard = this.index.shards[shardIndex];
    if (shard.recordBatchSha256 || this.checksumsVerified) return Promise.resolve();
    let check = this.shardsVerified.get(shardIndex);
    if (!check) {
      check = checkShardChecksum(this.dir, shard);
      this.shardsVerified.set(shardIndex, check);
    }
    return check;
  }

  private plan(epoch: number): RankBatch[] {
    const start = this.opts.start;
    return rankBatches(this.index.pairs, {
      batchSize: this.opts.batchSize,
      rank: this.rank,
      worldSize: this.worldSize,
      dropLast: this.opts.dropLast ?? false,
      startPosition: start && start.epoch === epoch ? start.position : 0,
    });
  }

  /** For each record batch, the number of the last of this rank's batches that needs it (−1: none). */
  private lastUseOfRecordBatches(order: Int32Array, batches: RankBatch[]): Int32Array {
    const lastUse = new Int32Array(this.refs.length).fill(-1);
    batches.forEach((batch, batchNumber) => {
      for (let position = batch.from; position < batch.to; position++) {
        lastUse[recordBatchOf(this.refs, order[position])] = batchNumber;
      }
    });
    return lastUse;
  }

  /**
   * Starts the reads batch `batchNumber` needs, sharing record batches with neighbouring batches
   * through `loaded`, from which it first drops those no later batch needs.
   */
  private assemble(
    epoch: number,
    order: Int32Array,
    batch: RankBatch,
    batchNumber: number,
    loaded: Map<number, Promise<DecodedRecordBatch>>,
    lastUse: Int32Array,
  ): Promise<Batch> {
    for (const refIndex of loaded.keys()) {
      if (lastUse[refIndex] < batchNumber) loaded.delete(refIndex);
    }
    const ids = Array.from(order.subarray(batch.from, batch.to));
    const refIndices = ids.map((id) => recordBatchOf(this.refs, id));
    const reads = new Map<number, Promise<DecodedRecordBatch>>();
    for (const refIndex of refIndices) {
      if (reads.has(refIndex)) continue;
      let read = loaded.get(refIndex);
      if (!read) {
        const ref = this.refs[refIndex];
        read = this.verifiedShard(ref.shard).then(() => readShardRecordBatch(this.dir, this.index, ref.shard, ref.batch));
        read.catch(() => undefined);
        loaded.set(refIndex, read);
      }
      reads.set(refIndex, read);
    }
    return (async () => {
      const records = new Map<number, DecodedRecordBatch>();
      for (const [refIndex, read] of reads) records.set(refIndex, await read);
      const rows = ids.map((id, i) => ({ record: records.get(refIndices[i])!, row: id - this.refs[refIndices[i]].firstPair }));
      const tensors: Record<string, TensorArray> = {};
      this.index.tensors.forEach((spec, column) => {
        const width = bytesPerPair(spec);
        const array = new TENSOR_ARRAY[spec.dtype](ids.length * elementCount(spec.shape));
        const bytes = new Uint8Array(array.buffer);
        rows.forEach(({ record, row }, i) => bytes.set(record.tensors[column].subarray(row * width, (row + 1) * width), i * width));
        tensors[spec.name] = array;
      });
      const meta: Record<string, unknown[]> = {};
      this.index.meta.forEach((spec, column) => (meta[spec.name] = rows.map(({ record, row }) => record.meta[column][row])));
      return { tensors, meta, indices: ids, position: { epoch, position: batch.end } };
    })();
  }
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`ShardReader: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
