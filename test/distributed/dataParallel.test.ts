/**
 * Data-parallel training over processes (c10d Gloo on CPU): 2 ranks equal 1 rank on the same global batch, ranks stay
 * bit-identical, rank 0's parameters reach every rank, `mmdisco launch` propagates failure, a dead rank makes the
 * other fail with an error naming it, and a bad environment is an error naming the variable.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../ts/native';
import { spawn, spawnSync } from 'node:child_process';
import { launch, MAIN, RANK_VARIABLES, run, soloEnvironment } from './processes';

const WORKER = path.resolve(__dirname, 'rankWorker.js');

interface WorkerResult {
  worldSize: number;
  losses: number[];
  buckets: number;
  parameters: Record<string, number[]>;
}

function readResult(prefix: string, rank: number): WorkerResult {
  return JSON.parse(fs.readFileSync(`${prefix}-rank${rank}.json`, 'utf8')) as WorkerResult;
}

function maxAbsDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  let worst = 0;
  for (const name of Object.keys(a)) {
    assert.equal(a[name].length, b[name].length, name);
    for (let i = 0; i < a[name].length; i++) worst = Math.max(worst, Math.abs(a[name][i] - b[name][i]));
  }
  return worst;
}

describe('data-parallel training (c10d, CPU)', function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    if (!native.runtimeInfo().gloo) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmdisco-dp-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('2 ranks under mmdisco launch end where 1 rank on the same global batch ends, and bit-identical', async () => {
    const [steps, globalBatch] = ['40', '16'];
    const solo = await run(process.execPath, [WORKER, 'eps', path.join(dir, 'solo'), steps, globalBatch], soloEnvironment());
    assert.equal(solo.code, 0, solo.stderr);
    const pair = await launch(2, [process.execPath, WORKER, 'eps', path.join(dir, 'pair'), steps, globalBatch], { exec: true });
    assert.equal(pair.code, 0, pair.stderr);

    const one = readResult(path.join(dir, 'solo'), 0);
    const [r0, r1] = [0, 1].map((r) => readResult(path.join(dir, 'pair'), r));
    assert.equal(r0.worldSize, 2);
    assert.equal(maxAbsDifference(r0.parameters, r1.parameters), 0, 'ranks must hold bit-identical parameters');
    assert.deepEqual(r0.losses, r1.losses, 'the rank-mean losses agree on both ranks');
    const paramDiff = maxAbsDifference(one.parameters, r0.parameters);
    assert.ok(paramDiff < 1e-5, `2 ranks vs 1 rank: parameters differ by ${paramDiff}`);
    for (let s = 0; s < one.losses.length; s++) {
      assert.ok(Math.abs(one.losses[s] - r0.losses[s]) < 1e-5 * Math.max(1, one.losses[s]), `step ${s}: ${one.losses[s]} vs ${r0.losses[s]}`);
    }
    // The parameters moved: the comparison above is not between two untouched initialisations.
    const init = await new native.EpsModel({
      network: { kind: 'mlp', dim: 4, hidden: 32, blocks: 2, timeDim: 16 },
      schedule: { kind: 'linear', timesteps: 100 },
      seed: 7,
    }).parameters();
    const initArrays = Object.fromEntries(Object.entries(init).map(([k, t]) => [k, Array.from(t.data)]));
    assert.ok(maxAbsDifference(initArrays, one.parameters) > 1e-2);
  });

  it('under torchrun: joins its agent\'s store instead of starting a second one, and trains as under launch', async function () {
    const torchrun = [path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'torchrun'), 'torchrun'].find(
      (candidate) => spawnSync(candidate, ['--help'], { stdio: 'ignore' }).status === 0,
    );
    if (!torchrun) this.skip();
    const prefix = path.join(dir, 'torchrun');
    const result = await run(torchrun!, ['--nproc-per-node', '2', '--no-python', process.execPath, WORKER, 'eps', prefix, '10', '8'], soloEnvironment());
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /failed to bind|address already in use/i);
    const [r0, r1] = [0, 1].map((r) => readResult(prefix, r));
    assert.equal(r0.worldSize, 2);
    assert.equal(maxAbsDifference(r0.parameters, r1.parameters), 0);
  });

  it("copies rank 0's parameters to every rank when data parallelism starts", async () => {
    const result = await launch(2, [process.execPath, WORKER, 'init', path.join(dir, 'init')], { exec: true });
    assert.equal(result.code, 0, result.stderr);
    const [r0, r1] = [0, 1].map((r) => readResult(path.join(dir, 'init'), r));
    const rank0Init = await new native.EpsModel({
      network: { kind: 'mlp', dim: 4, hidden: 32, blocks: 2, timeDim: 16 },
      schedule: { kind: 'linear', timesteps: 100 },
      seed: 100,
    }).parameters();
    const expected = Object.fromEntries(Object.entries(rank0Init).map(([k, t]) => [k, Array.from(t.data)]));
    assert.equal(maxAbsDifference(expected, r0.parameters), 0);
    assert.equal(maxAbsDifference(expected, r1.parameters), 0);
    assert.ok(r0.buckets >= 1);
  });

  it('trains the discriminator (double backward) on 2 ranks with bit-identical parameters', async () => {
    const result = await launch(2, [process.execPath, WORKER, 'disc', path.join(dir, 'disc'), '10', '8'], { exec: true });
    assert.equal(result.code, 0, result.stderr);
    const [r0, r1] = [0, 1].map((r) => readResult(path.join(dir, 'disc'), r));
    assert.equal(maxAbsDifference(r0.parameters, r1.parameters), 0);
    assert.ok(r0.losses.every(Number.isFinite));
  });

  it('prefixes each line with its rank, and stops the others when one rank fails, naming it', async () => {
    const script = [
      "console.log('rank says hello');",
      "if (process.env.RANK === '1') setTimeout(() => process.exit(3), 200); else setInterval(() => undefined, 1000);",
    ].join(' ');
    const result = await launch(2, [process.execPath, '-e', script], { exec: true });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^\[rank 0\] rank says hello$/m);
    assert.match(result.stdout, /^\[rank 1\] rank says hello$/m);
    assert.match(result.stderr, /launch: rank 1 \(pid \d+\) exited with code 3; stopped rank 0/);
    assert.ok(result.seconds < 20, `took ${result.seconds} s`);
  });

  it('ranks of an mmdisco command die with their launcher, even when it is killed with SIGKILL', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mmdisco-orphans-'));
    const config = path.resolve(__dirname, '..', '..', '..', 'configs', 'toy', 'ci.json');
    const launcher = spawn(process.execPath, [MAIN, 'launch', '--nproc', '2', '--', 'toy', 'run', '--config', config, '--out', out], {
      env: soloEnvironment(),
      stdio: 'ignore',
    });
    const children = (): number[] =>
      spawnSync('ps', ['-o', 'pid=', '--ppid', String(launcher.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      let ranks: number[] = [];
      for (let i = 0; i < 100 && ranks.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ranks = children();
      }
      assert.equal(ranks.length, 2, 'the launcher started two ranks');
      await new Promise((r) => setTimeout(r, 1000)); // the ranks are running the command
      launcher.kill('SIGKILL');
      for (let i = 0; i < 100 && ranks.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(ranks.filter(alive), [], 'no rank outlives its launcher by 10 s');
    } finally {
      for (const pid of children()) process.kill(pid, 'SIGKILL');
      launcher.kill('SIGKILL');
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('sets torchrun\'s environment for each rank', async () => {
    const script = "console.log(['RANK','LOCAL_RANK','WORLD_SIZE','MASTER_ADDR'].map((k) => process.env[k]).join(',') + ',' + (Number(process.env.MASTER_PORT) > 0))";
    const result = await launch(2, [process.execPath, '-e', script], { exec: true });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\[rank 0\] 0,0,2,127\.0\.0\.1,true$/m);
    assert.match(result.stdout, /^\[rank 1\] 1,1,2,127\.0\.0\.1,true$/m);
  });

  for (const victim of [1, 0]) {
    it(`a killed rank ${victim} makes the other exit non-zero naming it, without hanging`, async () => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const ranks = [0, 1].map((rank) => {
        const env = soloEnvironment({
          RANK: String(rank),
          WORLD_SIZE: '2',
          LOCAL_RANK: String(rank),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          // A long timeout: the survivor must notice the death from the closed connections, not by waiting.
          MMDISCO_TEST_TIMEOUT_MS: '60000',
        });
        return run(process.execPath, [WORKER, 'forever'], env, (stdout, child) => {
          if (rank === victim && /step 20\n/.test(stdout)) child.kill('SIGKILL');
        });
      });
      const [killed, survivor] = victim === 0 ? await Promise.all(ranks) : (await Promise.all(ranks)).reverse();
      assert.equal(killed.signal, 'SIGKILL');
      assert.equal(survivor.code, 1, `survivor exited with ${survivor.code}: ${survivor.stderr}`);
      assert.match(survivor.stderr, new RegExp(`lost rank ${victim}`));
      assert.ok(survivor.seconds < 30, `the survivor took ${survivor.seconds} s`);
    });
  }

  describe('environment errors name the variable', () => {
    const saved: Record<string, string | undefined> = {};
    beforeEach(() => {
      for (const name of RANK_VARIABLES) saved[name] = process.env[name];
      Object.assign(process.env, { RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29999' });
    });
    afterEach(() => {
      for (const name of RANK_VARIABLES) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it('a missing MASTER_PORT', () => {
      delete process.env.MASTER_PORT;
      assert.throws(() => new native.ProcessGroup(), /environment variable MASTER_PORT is not set/);
    });
    it('a missing WORLD_SIZE', () => {
      delete process.env.WORLD_SIZE;
      assert.throws(() => new native.ProcessGroup(), /environment variable WORLD_SIZE is not set/);
    });
    it('a malformed RANK', () => {
      process.env.RANK = 'one';
      assert.throws(() => new native.ProcessGroup(), /RANK='one' is not a non-negative integer/);
    });
    it('a rank outside the world', () => {
      process.env.RANK = '2';
      assert.throws(() => new native.ProcessGroup(), /rank 2 is outside \[0, 2\)/);
    });
    it('explicit options win over the environment, and a bad one is named', () => {
      delete process.env.MASTER_PORT;
      const group = new native.ProcessGroup({ rank: 1, worldSize: 3, masterPort: 1234 });
      assert.deepEqual([group.rank, group.worldSize, group.localRank, group.backend, group.device], [1, 3, 0, 'gloo', 'cpu']);
      assert.throws(() => new native.ProcessGroup({ masterPort: 1, backend: 'mpi' as 'gloo' }), /option 'backend' must be 'gloo' or 'nccl'/);
    });
    it('using a group before connect() is an error', async () => {
      const group = new native.ProcessGroup();
      assert.throws(() => group.barrier(), /call \(and await\) connect\(\) first/);
    });
  });
});
