import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs/yargs';
import { dataInspectCommand, dataVerifyCommand } from '../../ts/cli/data';
import { removeTmpDirs, tmpDir, writeDataset } from './fixtures';

/** Runs `mmdisco data ...args` in-process; returns what it printed and the exit code it set. */
async function runData(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => stdout.push(parts.join(' '));
  console.error = (...parts: unknown[]) => stderr.push(parts.join(' '));
  try {
    await yargs()
      .command('data', 'datasets', (y) => y.command(dataVerifyCommand).command(dataInspectCommand).demandCommand())
      .strict()
      .parseAsync(['data', ...args]);
    return { stdout: stdout.join('\n'), stderr: stderr.join('\n'), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = undefined;
  }
}

describe('data: verify and inspect commands', () => {
  let dir: string;
  before(async () => {
    dir = tmpDir();
    await writeDataset(dir, 25);
  });
  after(removeTmpDirs);

  it('inspect describes the dataset from index.json, as text or JSON', async () => {
    const text = await runData('inspect', dir);
    assert.match(text.stdout, /fixture \(split train, preset tiny, seed 3\)/);
    assert.match(text.stdout, /video\s+uint8\s+\[2, 3, 4\]/);
    const json = JSON.parse((await runData('inspect', dir, '--json')).stdout);
    assert.equal(json.pairs, 25);
    assert.equal(json.shards.length, 3);
    assert.deepEqual(json.tensors[1], { name: 'audio', dtype: 'float32', shape: [5], bytesPerPair: 20 });
    assert.deepEqual(json.dataset.provenance, { source: 'test/data/fixtures.ts' });
  });

  it('verify passes an intact dataset and fails a damaged one, naming the shard', async () => {
    const ok = await runData('verify', dir);
    assert.equal(ok.exitCode, 0);
    assert.match(ok.stdout, /^ok: 25 pairs in 3 shards/);
    fs.truncateSync(path.join(dir, 'shard-00002.arrow'), 100);
    const bad = await runData('verify', dir);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^error: shard-00002\.arrow: is 100 bytes but index\.json says/);
  });
});
