/** The Arrow shard layer: dataset directories of Arrow IPC shards plus index.json. */
export { DatasetError } from './errors';
export type { MetaSpec, MetaType, PairRecord, TensorArray, TensorDType, TensorSpec } from './format';
export { bytesPerPair, elementCount } from './format';
export { type DatasetIndex, type DatasetInfo, INDEX_FILE, readIndex, type ShardEntry } from './datasetIndex';
export { ShardWriter, type ShardWriterOptions } from './writer';
export { type Batch, type ReaderPosition, ShardReader, type ShardReaderOptions } from './reader';
export { type VerifyOptions, type VerifyReport, verifyDataset } from './verify';
