import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetError, type DatasetIndex, ShardReader, verifyDataset } from '../../ts/data';
import { collect, makePair, META, removeTmpDirs, tmpDir, writeDataset } from './fixtures';

const SHARD = 'shard-00001.arrow';

/** Asserts that `promise` rejects with a DatasetError about `file` whose problem matches `problem`. */
async function rejectsNaming(promise: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DatasetError, `expected a DatasetError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, new RegExp(`^${file.replace('.', '\\.')}: `));
    assert.match(err.problem, problem);
    return true;
  });
}

function editIndex(dir: string, edit: (index: DatasetIndex) => void): void {
  const file = path.join(dir, 'index.json');
  const index = JSON.parse(fs.readFileSync(file, 'utf8')) as DatasetIndex;
  edit(index);
  fs.writeFileSync(file, JSON.stringify(index));
}

/** Puts `bytes` in place of a shard and records their true size and checksum, so only their content is wrong. */
function replaceShard(dir: string, file: string, bytes: Buffer): void {
  fs.writeFileSync(path.join(dir, file), bytes);
  editIndex(dir, (index) => {
    const entry = index.shards.find((shard) => shard.file === file)!;
    entry.bytes = bytes.byteLength;
    entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  });
}

/** Reads the whole dataset in id order, so that the first shard to fail is predictable. */
const readAll = (dir: string, verifyChecksums = false) =>
  collect(new ShardReader(dir, { batchSize: 8, seed: 0, shuffle: false, verifyChecksums }), 0);

describe('data: corrupt and inconsistent datasets', () => {
  after(removeTmpDirs);
  let dir: string;
  beforeEach(async () => {
    dir = tmpDir();
    await writeDataset(dir, 25);
  });

  it('passes verification when intact', async () => {
    const report = await verifyDataset(dir);
    assert.deepEqual({ pairs: report.pairs, shards: report.shards, recordBatches: report.recordBatches }, { pairs: 25, shards: 3, recordBatches: 8 });
  });

  it('reports a truncated shard', async () => {
    const file = path.join(dir, SHARD);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    await rejectsNaming(verifyDataset(dir), SHARD, /bytes but index\.json says .* \(truncated/);
    await rejectsNaming(readAll(dir), SHARD, /truncated/);
  });

  it('reports a truncated shard even when index.json agrees with its size', async () => {
    const file = path.join(dir, SHARD);
    replaceShard(dir, SHARD, fs.readFileSync(file).subarray(0, 600));
    await rejectsNaming(verifyDataset(dir), SHARD, /Arrow/);
  });

  it('reports a flipped byte as a checksum mismatch (verify, and the reader when asked)', async () => {
    const file = path.join(dir, SHARD);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    fs.writeFileSync(file, bytes);
    await rejectsNaming(verifyDataset(dir), SHARD, /checksum mismatch/);
    await rejectsNaming(readAll(dir, true), SHARD, /checksum mismatch/);
  });

  it('reports 64 flipped tensor bytes while reading, without being asked to verify, naming the record batch', async () => {
    const file = path.join(dir, SHARD);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from(makePair(10).tensors.video as Uint8Array));
    assert.ok(at > 0, "pair 10's video is in the shard");
    for (let i = at; i < at + 64; i++) bytes[i] ^= 0x5a; // values no decoder can tell from real ones
    fs.writeFileSync(file, bytes);
    await rejectsNaming(readAll(dir), SHARD, /^record batch 0 is corrupt: /);
  });

  it('reports 64 bytes flipped 200 bytes into a shard while reading', async () => {
    const file = path.join(dir, SHARD);
    const bytes = fs.readFileSync(file);
    for (let i = 200; i < 264; i++) bytes[i] ^= 0x5a;
    fs.writeFileSync(file, bytes);
    await rejectsNaming(readAll(dir), SHARD, /record batch \d+ (is corrupt|is unreadable)|Arrow/);
  });

  it('names the record batch whose values changed', async () => {
    const file = path.join(dir, SHARD);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(Buffer.from('"id":16,'));
    assert.ok(at > 0, "pair 16's meta is in the shard");
    bytes[at + 6] = '7'.charCodeAt(0); // still valid JSON, and wrong: the kind of damage no decoder notices
    fs.writeFileSync(file, bytes);
    await rejectsNaming(readAll(dir), SHARD, /^record batch 1 is corrupt: SHA-256 of its values is [0-9a-f]{64}, index\.json says [0-9a-f]{64}$/);
  });

  it('checks a whole shard before reading it when index.json has no record-batch checksums', async () => {
    editIndex(dir, (index) => index.shards.forEach((shard) => delete shard.recordBatchSha256));
    const file = path.join(dir, SHARD);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    fs.writeFileSync(file, bytes);
    await rejectsNaming(readAll(dir), SHARD, /checksum mismatch/);
  });

  it('reports record-batch checksums that do not fit the shard', async () => {
    editIndex(dir, (index) => index.shards[1].recordBatchSha256!.pop());
    await rejectsNaming(verifyDataset(dir), SHARD, /^index\.json lists 2 record-batch checksums for its 3 record batches$/);
    await rejectsNaming(readAll(dir), SHARD, /lists 2 record-batch checksums/);
  });

  it('reports a missing column', async () => {
    const other = tmpDir();
    await writeDataset(other, 10, { meta: META.filter((spec) => spec.name !== 'voice') }, (id) => {
      const { tensors, meta: { voice: _voice, ...meta } } = makePair(id);
      return { tensors, meta };
    });
    replaceShard(dir, SHARD, fs.readFileSync(path.join(other, 'shard-00000.arrow')));
    await rejectsNaming(verifyDataset(dir), SHARD, /column 'voice' is missing/);
    await rejectsNaming(readAll(dir), SHARD, /column 'voice' is missing/);
  });

  it('reports a column of the wrong type', async () => {
    const other = tmpDir();
    const meta = META.map((spec) => (spec.name === 'label' ? { ...spec, type: 'float32' as const } : spec));
    await writeDataset(other, 10, { meta });
    replaceShard(dir, SHARD, fs.readFileSync(path.join(other, 'shard-00000.arrow')));
    await rejectsNaming(verifyDataset(dir), SHARD, /column 'label' has Arrow type Float32, expected Int32/);
  });

  it('reports a tensor shape in index.json that does not match the shard', async () => {
    editIndex(dir, (index) => (index.tensors[0].shape = [2, 3, 5]));
    await rejectsNaming(verifyDataset(dir), 'shard-00000.arrow', /column 'video' holds 24 bytes per pair; index\.json's uint8 \[2, 3, 5\] needs 30/);
    await rejectsNaming(readAll(dir), 'shard-00000.arrow', /column 'video' holds 24 bytes per pair/);
  });

  it('reports a tensor dtype in index.json that does not match the shard', async () => {
    editIndex(dir, (index) => {
      index.tensors[1].dtype = 'int32';
    });
    await rejectsNaming(verifyDataset(dir), 'shard-00000.arrow', /column 'audio' metadata mmdisco\.dtype is float32, index\.json says int32/);
  });

  it('reports a pair count in index.json that does not match the shard', async () => {
    editIndex(dir, (index) => {
      index.shards[1].pairs += 1;
      index.pairs += 1;
    });
    await rejectsNaming(verifyDataset(dir), SHARD, /record batch 2 holds 2 pairs where index\.json's 11 pairs for this shard imply 3/);
    await rejectsNaming(readAll(dir), SHARD, /holds 2 pairs/);
    editIndex(dir, (index) => {
      index.shards[1].pairs += 3;
      index.pairs += 3;
    });
    await rejectsNaming(verifyDataset(dir), SHARD, /holds 3 record batches; index\.json's 14 pairs in batches of 4 need 4/);
  });

  it('reports an index.json total that disagrees with its shards, naming the field', async () => {
    editIndex(dir, (index) => (index.pairs = 24));
    await rejectsNaming(verifyDataset(dir), 'index.json', /^pairs: is 24 but the shards hold 25/);
    assert.throws(() => new ShardReader(dir, { batchSize: 4, seed: 0 }), /index\.json: pairs: is 24/);
  });

  it('reports a malformed or missing index.json', async () => {
    editIndex(dir, (index) => (index.shards[0].sha256 = 'abc'));
    await rejectsNaming(verifyDataset(dir), 'index.json', /shards\.0\.sha256: must be 64 lowercase hex digits/);
    fs.writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion": 1,');
    await rejectsNaming(verifyDataset(dir), 'index.json', /not valid JSON/);
    fs.rmSync(path.join(dir, 'index.json'));
    await rejectsNaming(verifyDataset(dir), 'index.json', /missing .* \(the dataset is incomplete\)/);
  });

  it('reports a missing shard', async () => {
    fs.rmSync(path.join(dir, SHARD));
    await rejectsNaming(verifyDataset(dir), SHARD, /is missing/);
    await rejectsNaming(readAll(dir), SHARD, /is missing/);
  });
});
