/**
 * verifyDataset: a full check of a dataset directory against its index.json — sizes, checksums,
 * Arrow schema, record-batch layout, pair counts and every tensor's byte length.
 */
import { readIndex, type ShardEntry } from './datasetIndex';
import { checkShardChecksum, recordBatchCount, ShardFile } from './shardFile';

export interface VerifyReport {
  dir: string;
  pairs: number;
  shards: number;
  recordBatches: number;
  bytes: number;
}

export interface VerifyOptions {
  /** Called after each shard passes, with the number of shards done so far. */
  onShardVerified?: (shard: ShardEntry, shardsDone: number) => void;
}

/** Reads every shard once, front to back; throws a DatasetError naming the first bad file and the problem. */
export async function verifyDataset(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const index = readIndex(dir);
  let recordBatches = 0;
  for (const [shardIndex, entry] of index.shards.entries()) {
    // Size and checksum first, so that a damaged file is reported as such rather than as whatever
    // decoding error the damage happens to cause.
    await checkShardChecksum(dir, entry);
    const shard = await ShardFile.open(dir, index, shardIndex);
    try {
      const batches = recordBatchCount(entry, index.recordBatchSize);
      for (let batch = 0; batch < batches; batch++) await shard.readRecordBatch(batch);
      recordBatches += batches;
    } finally {
      await shard.close();
    }
    opts.onShardVerified?.(entry, shardIndex + 1);
  }
  return {
    dir,
    pairs: index.pairs,
    shards: index.shards.length,
    recordBatches,
    bytes: index.shards.reduce((sum, shard) => sum + shard.bytes, 0),
  };
}
