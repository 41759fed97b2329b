/**
 * The shipped modules (models/) sample bit-identically to the build they were recorded with
 * (test/fixtures/shipped-samples.json): a change to the core, the binding or the sampling pipeline that moves one bit
 * of a guided sample fails here.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShardReader } from '../../ts/data';
import { mmdisco, repo } from '../fixtures/cli';

interface ShippedSamples {
  cpu: string;
  common: string[];
  cases: Record<string, { args: string[]; sha256: Record<string, string> }>;
}

const recorded = JSON.parse(readFileSync(path.join(repo, 'test', 'fixtures', 'shipped-samples.json'), 'utf8')) as ShippedSamples;

async function columnDigests(dir: string): Promise<Record<string, string>> {
  const reader = new ShardReader(dir, { batchSize: 1 << 20, seed: 0, shuffle: false });
  const digests: Record<string, string> = {};
  for await (const batch of reader.epoch(0)) {
    for (const [name, values] of Object.entries(batch.tensors)) {
      digests[name] = createHash('sha256').update(Buffer.from(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
    }
  }
  return digests;
}

describe('shipped modules', function () {
  let dir: string;
  before(function () {
    if (os.cpus()[0]?.model !== recorded.cpu) this.skip(); // the digests are of one CPU kind's kernels
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-shipped-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const [name, { args, sha256 }] of Object.entries(recorded.cases)) {
    it(`sample bit-identically: ${name}`, async () => {
      const out = path.join(dir, name.replace(/[^a-z0-9]+/gi, '-'));
      const run = mmdisco('sample', ...args, ...recorded.common, '--out', out);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(await columnDigests(path.join(out, 'pairs')), sha256);
    });
  }
});
