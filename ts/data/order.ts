/**
 * The order in which a reader visits pairs: one global stream per epoch, the same for any number of
 * ranks and workers, cut into global batches that the ranks share out.
 */
import { Rng, streamSeed } from '../util/random';
import type { DatasetIndex } from './datasetIndex';
import { recordBatchCount } from './shardFile';

/** One record batch of the dataset: where it is stored and which global pair ids it holds. */
export interface RecordBatchRef {
  shard: number;
  batch: number;
  firstPair: number;
  pairs: number;
}

/** Every record batch of the dataset, in global pair-id order (shard by shard). */
export function recordBatchRefs(index: DatasetIndex): RecordBatchRef[] {
  const refs: RecordBatchRef[] = [];
  let firstPair = 0;
  index.shards.forEach((shard, shardIndex) => {
    for (let batch = 0; batch < recordBatchCount(shard, index.recordBatchSize); batch++) {
      const pairs = Math.min(index.recordBatchSize, shard.pairs - batch * index.recordBatchSize);
      refs.push({ shard: shardIndex, batch, firstPair, pairs });
      firstPair += pairs;
    }
  });
  return refs;
}

/** Index into `refs` of the record batch holding global pair `pairId` (binary search). */
export function recordBatchOf(refs: readonly RecordBatchRef[], pairId: number): number {
  let low = 0;
  let high = refs.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (refs[middle].firstPair <= pairId) low = middle;
    else high = middle - 1;
  }
  return low;
}

export interface EpochOrderOptions {
  seed: number;
  epoch: number;
  shuffle: boolean;
  /** Record batches mixed together by the shuffle; bounds what a reader holds in memory. */
  shuffleWindow: number;
}

/**
 * The epoch's global stream: a permutation of all pair ids that depends only on (seed, epoch) and
 * the dataset's record-batch layout. Shuffling permutes the record batches, then permutes the pairs
 * within each run of `shuffleWindow` consecutive record batches, so a reader needs only about one
 * window of record batches in memory at a time instead of reading a whole record batch per pair.
 */
export function epochOrder(refs: readonly RecordBatchRef[], opts: EpochOrderOptions): Int32Array {
  const total = refs.reduce((sum, ref) => sum + ref.pairs, 0);
  const order = new Int32Array(total);
  if (!opts.shuffle) {
    for (let i = 0; i < total; i++) order[i] = i;
    return order;
  }
  const rng = new Rng(streamSeed(opts.seed, opts.epoch));
  const batchOrder = rng.permutation(refs.length);
  let cursor = 0;
  for (let windowStart = 0; windowStart < refs.length; windowStart += opts.shuffleWindow) {
    const first = cursor;
    for (const refIndex of batchOrder.subarray(windowStart, windowStart + opts.shuffleWindow)) {
      const ref = refs[refIndex];
      for (let i = 0; i < ref.pairs; i++) order[cursor++] = ref.firstPair + i;
    }
    rng.shuffle(order.subarray(first, cursor));
  }
  return order;
}

export interface RankSliceOptions {
  batchSize: number;
  rank: number;
  worldSize: number;
  dropLast: boolean;
  /** Global pairs of the epoch already consumed. */
  startPosition: number;
}

/** A rank's batch: positions [from, to) of the epoch order, and the global position after it. */
export interface RankBatch {
  from: number;
  to: number;
  end: number;
}

/**
 * Cuts the epoch's stream, from `startPosition`, into global batches of batchSize × worldSize pairs
 * and returns this rank's contiguous slice of each, so that the ranks' slices in rank order are the
 * global batch. An incomplete last global batch is dropped with `dropLast`, otherwise split as
 * evenly as possible; a rank whose share is empty gets no batch for it.
 */
export function rankBatches(total: number, opts: RankSliceOptions): RankBatch[] {
  const globalBatchSize = opts.batchSize * opts.worldSize;
  const batches: RankBatch[] = [];
  for (let start = opts.startPosition; start < total; start += globalBatchSize) {
    const end = Math.min(start + globalBatchSize, total);
    const size = end - start;
    if (opts.dropLast && size < globalBatchSize) break;
    const share = Math.floor(size / opts.worldSize);
    const remainder = size % opts.worldSize;
    const from = start + opts.rank * share + Math.min(opts.rank, remainder);
    const to = from + share + (opts.rank < remainder ? 1 : 0);
    if (to > from) batches.push({ from, to, end });
  }
  return batches;
}
