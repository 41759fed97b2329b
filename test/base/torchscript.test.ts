/**
 * External base models: a TorchScript module exported by the project's Python torch (at test time, into a
 * temporary directory) gives the same ε through TorchScriptEps as in Python, and samples like any ε-source.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTorchScriptEps } from '../../ts/base/external';
import { native, tensor } from '../../ts/native';

const PYTHON = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'python3');

// A small time-conditioned conv net, scripted; ε for a fixed input is saved next to it as raw float32.
const EXPORT_SCRIPT = `
import math, sys, torch
out = sys.argv[1]
torch.manual_seed(0)

class Eps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.time = torch.nn.Linear(16, 8)
        self.conv2 = torch.nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        freqs = torch.exp(-math.log(10000.0) * torch.arange(8, dtype=torch.float32) / 7.0)
        args = t.to(torch.float32)[:, None] * freqs[None, :]
        e = self.time(torch.cat([torch.sin(args), torch.cos(args)], 1))
        h = torch.nn.functional.silu(self.conv1(x_t) + e[:, :, None, None])
        return self.conv2(h)

module = torch.jit.script(Eps())
module.save(out + "/eps.pt")
x = torch.linspace(-1, 1, 2 * 1 * 6 * 5).reshape(2, 1, 6, 5)
t = torch.tensor([3, 700], dtype=torch.int64)
with torch.no_grad():
    eps = module(x, t)
eps.numpy().astype("float32").tofile(out + "/eps.f32")
`;

describe('TorchScriptEps (external base models)', function () {
  this.timeout(120_000);
  let dir = '';

  before(function () {
    if (!existsSync(PYTHON)) this.skip();
    dir = mkdtempSync(path.join(tmpdir(), 'mmdisco-ts-eps-'));
    writeFileSync(path.join(dir, 'export.py'), EXPORT_SCRIPT);
    execFileSync(PYTHON, [path.join(dir, 'export.py'), dir], { stdio: 'pipe' });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('returns the ε the module gave in Python', async () => {
    const source = new native.TorchScriptEps({ path: path.join(dir, 'eps.pt'), schedule: { kind: 'linear' }, threads: 1 });
    const x = Float32Array.from({ length: 60 }, (_, i) => -1 + (2 * i) / 59);
    const { eps } = await source.eps(tensor(x, [2, 1, 6, 5]), tensor(Int32Array.of(3, 700), [2]));
    const expected = new Float32Array(Uint8Array.prototype.slice.call(readFileSync(path.join(dir, 'eps.f32'))).buffer);
    assert.deepEqual(eps.shape, [2, 1, 6, 5]);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(eps.data[i] - expected[i]) < 1e-5, `element ${i}`);
  });

  it('loads with a schedule file and samples through the same sampler as the built-in models', async () => {
    const scheduleFile = path.join(dir, 'schedule.json');
    writeFileSync(scheduleFile, JSON.stringify({ kind: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }));
    const source = loadTorchScriptEps(path.join(dir, 'eps.pt'), scheduleFile, { threads: 1 });
    const out = await native.sample({ sources: [source], shapes: [[1, 6, 5]], n: 3, sampler: 'ddim', steps: 5, seed: 1 });
    assert.deepEqual(out.x0.shape, [3, 1, 6, 5]);
    assert.ok(out.x0.data.every(Number.isFinite));
  });

  it('names the schedule file and field when the schedule is wrong', () => {
    const scheduleFile = path.join(dir, 'bad-schedule.json');
    writeFileSync(scheduleFile, JSON.stringify({ kind: 'sigmoid' }));
    assert.throws(() => loadTorchScriptEps(path.join(dir, 'eps.pt'), scheduleFile), /bad-schedule\.json: kind/);
  });

  it('names the file when it cannot be loaded', () => {
    const missing = path.join(dir, 'missing.pt');
    assert.throws(() => new native.TorchScriptEps({ path: missing, schedule: { kind: 'linear' } }), new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
});
