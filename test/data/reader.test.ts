import { strict as assert } from 'node:assert';
import { type Batch, ShardReader, type ShardReaderOptions } from '../../ts/data';
import { collect, flatIndices, removeTmpDirs, tmpDir, writeDataset } from './fixtures';

const PAIRS = 47;

describe('data: ShardReader', () => {
  let dir: string;
  before(async () => {
    dir = tmpDir();
    await writeDataset(dir, PAIRS, { pairsPerShard: 12, recordBatchSize: 5 });
  });
  after(removeTmpDirs);

  const read = (epoch: number, opts: Partial<ShardReaderOptions> = {}): Promise<Batch[]> =>
    collect(new ShardReader(dir, { batchSize: 4, seed: 11, shuffleWindow: 3, ...opts }), epoch);

  /** The ranks' batches interleaved as a trainer sees them: global step by global step, ranks in order. */
  async function globalStream(worldSize: number, opts: Partial<ShardReaderOptions> = {}): Promise<number[]> {
    const perRank = await Promise.all(Array.from({ length: worldSize }, (_, rank) => read(0, { ...opts, rank, worldSize })));
    const ids: number[] = [];
    for (let step = 0; step < Math.max(...perRank.map((batches) => batches.length)); step++) {
      for (const batches of perRank) ids.push(...(batches[step]?.indices ?? []));
    }
    return ids;
  }

  it('visits every pair exactly once per epoch, in an order that depends on seed and epoch', async () => {
    const sorted = Array.from({ length: PAIRS }, (_, i) => i);
    const epoch0 = flatIndices(await read(0));
    const epoch1 = flatIndices(await read(1));
    const otherSeed = flatIndices(await read(0, { seed: 12 }));
    for (const order of [epoch0, epoch1, otherSeed]) assert.deepEqual([...order].sort((a, b) => a - b), sorted);
    assert.notDeepEqual(epoch0, sorted);
    assert.notDeepEqual(epoch0, epoch1);
    assert.notDeepEqual(epoch0, otherSeed);
    assert.deepEqual(flatIndices(await read(0)), epoch0, 'same seed and epoch, same order');
    assert.deepEqual(flatIndices(await read(0, { shuffle: false })), sorted);
  });

  it('mixes pairs across record batches rather than only reordering whole record batches', async () => {
    const order = flatIndices(await read(0));
    const successors = order.slice(1).filter((id, i) => id === order[i] + 1).length;
    assert.ok(successors < PAIRS / 4, `${successors} of ${PAIRS - 1} neighbours are consecutive ids`);
  });

  it('gives 2 and 3 ranks the same global stream as 1 rank', async () => {
    const single = flatIndices(await read(0));
    assert.deepEqual(await globalStream(2), single);
    assert.deepEqual(await globalStream(3), single);
    // Same for the global batch boundaries: rank 1 of 2 holds the second half of each 8-pair global batch.
    const rank1 = await read(0, { rank: 1, worldSize: 2 });
    assert.deepEqual(rank1[0].indices, single.slice(4, 8));
    assert.deepEqual(rank1[0].position, { epoch: 0, position: 8 });
  });

  it('with dropLast gives every rank the same number of full batches', async () => {
    const ranks = await Promise.all([0, 1, 2].map((rank) => read(0, { rank, worldSize: 3, dropLast: true })));
    for (const batches of ranks) {
      assert.equal(batches.length, 3);
      assert.ok(batches.every((batch) => batch.indices.length === 4));
    }
    assert.deepEqual(await globalStream(3, { dropLast: true }), flatIndices(await read(0)).slice(0, 36));
  });

  it('resumes mid-epoch with exactly the rest of the stream', async () => {
    const full = await read(2);
    const resumeAt = full[4].position;
    assert.deepEqual(resumeAt, { epoch: 2, position: 20 });
    const rest = await read(2, { start: resumeAt });
    assert.deepEqual(
      rest.map((batch) => batch.indices),
      full.slice(5).map((batch) => batch.indices),
    );
    // A position that is not on a batch boundary (e.g. saved with another world size) resumes just as exactly.
    const odd = await read(2, { start: { epoch: 2, position: 13 } });
    assert.deepEqual(flatIndices(odd), flatIndices(full).slice(13));
    // The resume point applies to its own epoch only.
    assert.deepEqual(flatIndices(await read(3, { start: resumeAt })), flatIndices(await read(3)));
    const ranks = await globalStream(2, { start: { epoch: 0, position: 13 } });
    assert.deepEqual(ranks, flatIndices(await read(0)).slice(13));
  });

  it('yields the same batches with and without read-ahead, as contiguous batch-major arrays', async () => {
    const eager = await read(0, { prefetch: 6 });
    const lazy = await read(0, { prefetch: 0 });
    assert.deepEqual(eager, lazy);
    const batch = eager[0];
    assert.ok(batch.tensors.video instanceof Uint8Array && batch.tensors.video.length === 4 * 24);
    assert.ok(batch.tensors.audio instanceof Float32Array && batch.tensors.audio.length === 4 * 5);
    assert.equal(batch.tensors.audio.byteOffset, 0);
    assert.equal(batch.tensors.audio.buffer.byteLength, batch.tensors.audio.byteLength);
  });

  it('counts its batches per epoch', async () => {
    const reader = new ShardReader(dir, { batchSize: 4, seed: 0, rank: 1, worldSize: 2, start: { epoch: 1, position: 16 } });
    assert.equal(reader.batchCount(0), 6);
    assert.equal(reader.batchCount(1), 4);
    assert.equal((await collect(reader, 1)).length, 4);
  });

  it('rejects options out of range', () => {
    assert.throws(() => new ShardReader(dir, { batchSize: 0, seed: 0 }), /batchSize/);
    assert.throws(() => new ShardReader(dir, { batchSize: 4, seed: 0, rank: 2, worldSize: 2 }), /rank/);
    assert.throws(() => new ShardReader(dir, { batchSize: 4, seed: 0, start: { epoch: 0, position: PAIRS + 1 } }), /start\.position/);
  });
});
