import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { DatasetError, readIndex, ShardReader, ShardWriter } from '../../ts/data';
import { collect, makePair, META, removeTmpDirs, TENSORS, tmpDir, writeDataset } from './fixtures';

describe('data: ShardWriter', () => {
  after(removeTmpDirs);
  it('round-trips every tensor byte and meta value through shards and the reader', async () => {
    const dir = tmpDir();
    const index = await writeDataset(dir, 23);
    assert.equal(index.pairs, 23);
    assert.deepEqual(
      index.shards.map((shard) => [shard.file, shard.pairs]),
      [
        ['shard-00000.arrow', 10],
        ['shard-00001.arrow', 10],
        ['shard-00002.arrow', 3],
      ],
    );
    assert.deepEqual(readIndex(dir), index);

    const batches = await collect(new ShardReader(dir, { batchSize: 5, seed: 0, shuffle: false }), 0);
    assert.deepEqual(
      batches.map((batch) => batch.indices.length),
      [5, 5, 5, 5, 3],
    );
    for (const batch of batches) {
      batch.indices.forEach((id, i) => {
        const expected = makePair(id);
        for (const spec of TENSORS) {
          const size = expected.tensors[spec.name].length;
          assert.deepEqual(batch.tensors[spec.name].subarray(i * size, (i + 1) * size), expected.tensors[spec.name], `${spec.name} of pair ${id}`);
        }
        for (const spec of META) assert.deepEqual(batch.meta[spec.name][i], expected.meta[spec.name], `${spec.name} of pair ${id}`);
      });
    }
  });

  it('keeps record batches within recordBatchSize and leaves no temporary files', async () => {
    const dir = tmpDir();
    await writeDataset(dir, 23, { pairsPerShard: 10, recordBatchSize: 4 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['index.json', 'shard-00000.arrow', 'shard-00001.arrow', 'shard-00002.arrow']);
    const rows: number[] = [];
    const reader = await RecordBatchReader.from(fs.readFileSync(path.join(dir, 'shard-00000.arrow')));
    for (const batch of reader) rows.push(batch.numRows);
    assert.deepEqual(rows, [4, 4, 2]);
  });

  it('writes byte-identical shards and index for identical input', async () => {
    const first = tmpDir();
    const second = tmpDir();
    await writeDataset(first, 23);
    await writeDataset(second, 23);
    for (const name of fs.readdirSync(first)) {
      assert.ok(fs.readFileSync(path.join(first, name)).equals(fs.readFileSync(path.join(second, name))), `${name} differs`);
    }
  });

  it('refuses a directory that already holds a dataset unless told to overwrite it', async () => {
    const dir = tmpDir();
    await writeDataset(dir, 23);
    await assert.rejects(writeDataset(dir, 5), /already holds dataset files/);
    const index = await ShardWriter.open(dir, {
      tensors: TENSORS,
      meta: META,
      dataset: readIndex(dir).dataset,
      overwrite: true,
    }).then((writer) => writer.close());
    assert.equal(index.pairs, 0);
    assert.deepEqual(fs.readdirSync(dir), ['index.json']);
  });

  it('rejects a pair that does not match the columns, naming the pair and the column', async () => {
    const writer = await ShardWriter.open(tmpDir(), {
      tensors: TENSORS,
      meta: META,
      dataset: { name: 'x', split: 'train', preset: 'tiny', seed: 0, provenance: {} },
    });
    const short = makePair(0);
    short.tensors.audio = new Float32Array(4);
    await assert.rejects(writer.append(short), (err: unknown) => err instanceof DatasetError && /pair 0: tensor 'audio' has 4 elements/.test(err.message));
    const wrongType = makePair(0);
    wrongType.tensors.video = new Float32Array(24);
    await assert.rejects(writer.append(wrongType), /tensor 'video' must be a Uint8Array/);
    const badMeta = makePair(0);
    badMeta.meta.label = 1.5;
    await assert.rejects(writer.append(badMeta), /meta 'label' = 1.5 is not a valid int32/);
    const { voice: _voice, ...missing } = makePair(0).meta;
    await assert.rejects(writer.append({ ...makePair(0), meta: missing }), /meta missing: voice/);
  });

  it('rejects invalid column specs before writing anything', async () => {
    await assert.rejects(
      ShardWriter.open(tmpDir(), {
        tensors: [{ name: 'video', dtype: 'uint8', shape: [0, 4] }],
        meta: [],
        dataset: { name: 'x', split: 'train', preset: 'tiny', seed: 0, provenance: {} },
      }),
      /index\.json: tensors\.0\.shape\.0/,
    );
  });
});
