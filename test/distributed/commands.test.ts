/**
 * The commands under `mmdisco launch --nproc 2` (c10d Gloo, CPU): train-base ends where one process ends on the same
 * global batch, also across a resume of the group; fakes generate writes the dataset of one process byte for byte;
 * train-guidance trains with the main rank alone writing the run and resumes as a group exactly; a global batch
 * that does not divide by the ranks is an error naming the field; CUDA ranks each take their own GPU.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BASE_CHECKPOINT_FILES } from '../../ts/checkpoint/baseCheckpoint';
import { readSafetensors } from '../../ts/checkpoint/safetensors';
import { rankDevice } from '../../ts/distributed';
import { native } from '../../ts/native';
import { tinyBaseConfig, trainTinyBases, writeTinyPairs } from '../fixtures/tinyPairs';
import { spawn, spawnSync } from 'node:child_process';
import { launch, MAIN, mmdisco, type Run, soloEnvironment } from './processes';

type LogEntry = Record<string, unknown> & { event: string };

const readLog = (file: string): LogEntry[] =>
  fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LogEntry);

function succeeded(result: Run): void {
  assert.equal(result.code, 0, `exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
}

function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('data-parallel commands under mmdisco launch (c10d, CPU)', function () {
  this.timeout(120_000);
  let root = '';
  let data = '';
  const bases = { audio: '', video: '' };

  before(async function () {
    if (!native.runtimeInfo().gloo) this.skip();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmdisco-dp-commands-'));
    data = path.join(root, 'data');
    await writeTinyPairs(data, 20);
    Object.assign(bases, await trainTinyBases(root, data));
  });
  after(() => root && fs.rmSync(root, { recursive: true, force: true }));

  it('train-base on 2 ranks ends where 1 rank ends on the same global batch, across a resume of the group', async () => {
    // 20 pairs in global batches of 4: the 8 steps cross an epoch boundary; the group stops after 5 and resumes.
    const config = writeJson(path.join(root, 'base-audio.json'), tinyBaseConfig('audio', { steps: 8, emaDecay: 0.5, lr: 1e-2 }));
    const fresh = (out: string) => ['train-base', '--modality', 'audio', '--data', data, '--config', config, '--out', out];
    const [solo, pair] = [path.join(root, 'train-solo'), path.join(root, 'train-pair')];
    succeeded(await mmdisco(fresh(solo)));
    succeeded(await launch(2, [...fresh(pair), '--max-steps', '5']));
    succeeded(await launch(2, ['train-base', '--modality', 'audio', '--out', pair, '--resume']));

    const [one, two] = [solo, pair].map((dir) => readLog(path.join(dir, BASE_CHECKPOINT_FILES.log)));
    const losses = (log: LogEntry[]) => log.filter((e) => e.event === 'train').map((e) => e.loss as number);
    assert.equal(losses(one).length, 8);
    assert.equal(losses(two).length, 8, 'the main rank alone logs each step');
    losses(one).forEach((loss, i) => assert.ok(Math.abs(loss - losses(two)[i]) < 1e-5 * Math.max(1, loss), `step ${i + 1}: ${loss} vs ${losses(two)[i]}`));
    assert.deepEqual(two.filter((e) => e.event === 'start' || e.event === 'resume').map((e) => [e.event, e.step, e.ranks]), [['start', 0, 2], ['resume', 5, 2]]);

    const [a, b] = [solo, pair].map((dir) => readSafetensors(path.join(dir, BASE_CHECKPOINT_FILES.weights)).tensors);
    // The base fixture: the same network and initialisation, 2 steps at a tenth of the learning rate.
    const other = readSafetensors(path.join(bases.audio, BASE_CHECKPOINT_FILES.weights)).tensors;
    let difference = 0;
    let otherDifference = 0;
    for (const name of Object.keys(a)) {
      const [x, y, z] = [a[name].data, b[name].data, other[name].data] as Float32Array[];
      x.forEach((v, i) => {
        difference = Math.max(difference, Math.abs(v - y[i]));
        otherDifference = Math.max(otherDifference, Math.abs(v - z[i]));
      });
    }
    // Summing the gradient in another order rounds differently, which Adam's normalised steps carry into the weights:
    // where a gradient is near zero, g/√v turns a rounding of the sum into a step of up to lr. With the fused AdamW
    // update the largest such difference here is 1.9e-4 (max abs), 50× below the distance to another run.
    assert.ok(difference < 5e-4, `2 ranks vs 1 rank: EMA weights differ by ${difference}`);
    assert.ok(otherDifference > 1e-2, `another run ends ${otherDifference} away: the tolerance above is a real test`);
  });

  it('in a group, CUDA models go to cuda:LOCAL_RANK; alone, or on the CPU, where configured', () => {
    const group = { RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1' };
    assert.equal(rankDevice('cuda', group), 'cuda:1');
    assert.equal(rankDevice('cuda:0', group), 'cuda:1');
    assert.equal(rankDevice('cpu', group), 'cpu');
    assert.equal(rankDevice('cuda:2', {}), 'cuda:2');
    assert.throws(() => rankDevice('cuda', { ...group, LOCAL_RANK: 'x' }), /LOCAL_RANK='x' is not a non-negative integer/);
  });

  it('a global batch that does not divide by the ranks is an error naming training.batchSize', async () => {
    const config = writeJson(path.join(root, 'base-odd.json'), tinyBaseConfig('video', { batchSize: 3 }));
    const result = await launch(2, ['train-base', '--modality', 'video', '--data', data, '--config', config, '--out', path.join(root, 'odd')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /training\.batchSize = 3 is the global batch, shared equally by the 2 ranks: it must be a multiple of 2/);
  });

  it('fakes generate on 2 ranks writes the dataset of 1 rank byte for byte', async () => {
    // 3 chunks: rank 0 draws chunks 0 and 2, rank 1 chunk 1.
    const generate = (out: string) => [
      'fakes', 'generate', '--audio-base', bases.audio, '--video-base', bases.video, '--n', '10', '--batch', '4', '--steps', '3', '--seed', '5', '--out', out,
    ];
    const [solo, pair] = [path.join(root, 'fakes-solo'), path.join(root, 'fakes-pair')];
    succeeded(await mmdisco(generate(solo)));
    const result = await launch(2, generate(pair));
    succeeded(result);
    assert.equal(result.stderr.match(/wrote 10 fake pairs/g)?.length, 1, 'the main rank alone reports');
    const files = fs.readdirSync(solo).sort();
    assert.deepEqual(fs.readdirSync(pair).sort(), files);
    assert.ok(!files.includes('.chunks'));
    for (const file of files) assert.ok(fs.readFileSync(path.join(pair, file)).equals(fs.readFileSync(path.join(solo, file))), file);
  });

  it('train-guidance on 2 ranks trains on the global batch with the main rank alone writing the run', async () => {
    const config = writeJson(path.join(root, 'guidance.json'), {
      discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
      training: { steps: 3, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0.1, checkpointEvery: 2, logEvery: 3, timestepBuckets: 2, seed: 0 },
      runtime: { device: 'cpu', threads: 1 },
    });
    const out = path.join(root, 'guidance');
    succeeded(await launch(2, [
      'train-guidance', '--real', data, '--fake', data, '--audio-base', bases.audio, '--video-base', bases.video, '--config', config, '--out', out,
    ]));
    const log = readLog(path.join(out, 'log.jsonl'));
    assert.deepEqual(log.map((e) => e.event), ['start', 'checkpoint', 'train', 'checkpoint', 'end']);
    const train = log.find((e) => e.event === 'train')!;
    assert.ok(Number.isFinite(train.bce) && (train.dReal as number) > 0 && (train.dReal as number) < 1, JSON.stringify(train));
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'state.json'), 'utf8')).step, 3);

    // Stopped after 2 steps and resumed as a group, it ends bitwise where the uninterrupted group ends: each rank
    // restores its own random stream, and the restored weights stay the ones whose gradients the ranks average.
    const resumed = path.join(root, 'guidance-resumed');
    const flags = ['--real', data, '--fake', data, '--audio-base', bases.audio, '--video-base', bases.video, '--config', config];
    succeeded(await launch(2, ['train-guidance', ...flags, '--out', resumed, '--max-steps', '2']));
    assert.ok(fs.existsSync(path.join(resumed, 'state.rank-1.bin')), 'rank 1 keeps its own trainer state');
    // One process resuming the group's run would not continue its numerics: refused unless asked for, then said.
    const alone = await mmdisco(['train-guidance', '--out', resumed, '--resume']);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /was trained by 2 rank\(s\) and this group has 1; .* --allow-world-size-change/);
    const copy = path.join(root, 'guidance-resumed-alone');
    fs.cpSync(resumed, copy, { recursive: true });
    const allowed = await mmdisco(['train-guidance', '--out', copy, '--resume', '--allow-world-size-change']);
    succeeded(allowed);
    assert.match(allowed.stderr, /resuming a run of 2 rank\(s\) with 1; it no longer replays the uninterrupted run/);
    assert.equal(readLog(path.join(copy, 'log.jsonl')).find((e) => e.event === 'resume')?.trainedByWorldSize, 2);
    succeeded(await launch(2, ['train-guidance', '--out', resumed, '--resume']));
    assert.equal(JSON.parse(fs.readFileSync(path.join(resumed, 'state.json'), 'utf8')).step, 3);
    const [uninterrupted, afterResume] = [out, resumed].map((dir) => readSafetensors(path.join(dir, 'discriminator.safetensors')).tensors);
    for (const [name, { data }] of Object.entries(uninterrupted)) {
      assert.deepEqual(Array.from(afterResume[name].data), Array.from(data), name);
    }
  });
  it('a stopped rank (SIGSTOP) fails the group after --collective-timeout, naming it', async () => {
    const config = writeJson(path.join(root, 'guidance-long.json'), {
      discriminator: { width: 8, channelMult: [1, 2], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
      training: { steps: 100000, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0.1, checkpointEvery: 100000, logEvery: 1, timestepBuckets: 2, seed: 0 },
      runtime: { device: 'cpu', threads: 1 },
    });
    const out = path.join(root, 'guidance-stopped');
    const launcher = spawn(process.execPath, [MAIN, 'launch', '--nproc', '2', '--collective-timeout', '4', '--', 'train-guidance', '--real', data, '--fake', data,
      '--audio-base', bases.audio, '--video-base', bases.video, '--config', config, '--out', out], { env: soloEnvironment(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    launcher.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => launcher.on('close', (code) => resolve(code)));
    const rankPids = () => spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(launcher.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    let stopped = 0;
    try {
      const log = path.join(out, 'log.jsonl');
      for (let i = 0; i < 600 && !(fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('"train"')); i++) await new Promise((r) => setTimeout(r, 100));
      const ranks = rankPids().map((line) => Number(line.trim().split(/\s+/)[0]));
      assert.equal(ranks.length, 2, 'two ranks are training');
      // Which child is rank 1 is not known from ps; stop the second one started (the ranks start in order).
      stopped = Math.max(...ranks);
      const started = performance.now();
      process.kill(stopped, 'SIGSTOP');
      const code = await exited;
      const seconds = (performance.now() - started) / 1000;
      assert.equal(code, 1);
      assert.match(stderr, /lost rank 1: stopped, or stuck for longer than the 4000 ms timeout/);
      assert.ok(seconds < 40, `noticed after ${seconds.toFixed(0)} s`);
    } finally {
      if (stopped) {
        try {
          process.kill(stopped, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      launcher.kill('SIGKILL');
    }
  });
});
