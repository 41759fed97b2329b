/** A small synthetic dataset whose every byte is a function of the pair id, for the shard-layer tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Batch, DatasetIndex, MetaSpec, PairRecord, ShardReader, ShardWriterOptions, TensorSpec } from '../../ts/data';
import { ShardWriter } from '../../ts/data';

export const TENSORS: TensorSpec[] = [
  { name: 'video', dtype: 'uint8', shape: [2, 3, 4] },
  { name: 'audio', dtype: 'float32', shape: [5] },
  { name: 'onsets', dtype: 'int16', shape: [2] },
];

export const META: MetaSpec[] = [
  { name: 'label', type: 'int32' },
  { name: 'gain', type: 'float32' },
  { name: 'voice', type: 'utf8' },
  { name: 'truth', type: 'json' },
];

export function makePair(id: number): PairRecord {
  return {
    tensors: {
      video: Uint8Array.from({ length: 24 }, (_, i) => (id * 7 + i) & 255),
      audio: Float32Array.from({ length: 5 }, (_, i) => id + i / 8),
      onsets: Int16Array.of(id, -id),
    },
    meta: { label: id % 10, gain: 0.5 + (id % 4) / 8, voice: `voice-${id % 3}`, truth: { id, contacts: [id / 4] } },
  };
}

const createdDirs: string[] = [];

export function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmdisco-data-'));
  createdDirs.push(dir);
  return dir;
}

export function removeTmpDirs(): void {
  for (const dir of createdDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export async function writeDataset(
  dir: string,
  pairs: number,
  opts: Partial<Pick<ShardWriterOptions, 'pairsPerShard' | 'recordBatchSize' | 'tensors' | 'meta'>> = {},
  pairOf: (id: number) => PairRecord = makePair,
): Promise<DatasetIndex> {
  const writer = await ShardWriter.open(dir, {
    tensors: TENSORS,
    meta: META,
    dataset: { name: 'fixture', split: 'train', preset: 'tiny', seed: 3, provenance: { source: 'test/data/fixtures.ts' } },
    pairsPerShard: 10,
    recordBatchSize: 4,
    ...opts,
  });
  for (let id = 0; id < pairs; id++) await writer.append(pairOf(id));
  return writer.close();
}

export async function collect(reader: ShardReader, epoch: number): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of reader.epoch(epoch)) batches.push(batch);
  return batches;
}

export function flatIndices(batches: Batch[]): number[] {
  return batches.flatMap((batch) => batch.indices);
}
