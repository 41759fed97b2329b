/**
 * TorchScript base model directories (torchscript.json) reach `sample` as --video-base next to a train-base
 * checkpoint: a module exported by the project's Python torch (into a temporary directory) that predicts the clean
 * sample 0 everywhere, ε = x_t / √(1 − ᾱ_t), samples to mid-grey video (stored 127.5, 127 or 128 after rounding)
 * under DDIM with λ_video = 0. Descriptors that do not fit their module fail naming torchscript.json's field.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TORCHSCRIPT_BASE_FILE } from '../../ts/config/torchScriptBase';
import { readIndex, ShardReader } from '../../ts/data';
import { MODALITY_TENSORS } from '../../ts/core/modality';
import { mmdisco, repo } from '../fixtures/cli';

const PYTHON = path.join(repo, '.venv', 'bin', 'python3');
const base = (name: string) => path.join(repo, 'models', 'base', name);

// zero.pt: ε = x_t / √(1 − ᾱ_t) on the linear schedule (1000 steps, 1e-4 … 0.02), so x̂0 = 0; cut.pt: ε of the
// wrong shape (the first frame only).
const EXPORT_SCRIPT = `
import sys, torch
out = sys.argv[1]

class Zero(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.alpha_bar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0).to(torch.float32)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        scale = (1 - self.alpha_bar[t]).rsqrt()
        return x_t * scale.reshape([-1] + [1] * (x_t.dim() - 1))

class Cut(torch.nn.Module):
    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x_t[:, :1]

torch.jit.script(Zero()).save(out + "/zero.pt")
torch.jit.script(Cut()).save(out + "/cut.pt")
`;

describe('TorchScript base models from the command line (sample --video-base DIR)', function () {
  this.timeout(300_000);
  let root = '';
  const trained = JSON.parse(readFileSync(path.join(base('spoken-mnist-video'), 'config.json'), 'utf8')) as {
    data: { dataset: string; unit: Record<string, unknown>; inputShape: number[] };
    model: { schedule: Record<string, unknown> };
  };
  const descriptor = (name: string, fields: Record<string, unknown> = {}): string => {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    const config = {
      module: path.join(root, 'zero.pt'),
      modality: 'video',
      dataset: trained.data.dataset,
      unit: trained.data.unit,
      inputShape: trained.data.inputShape,
      normalisation: { kind: 'uint8-symmetric' },
      schedule: trained.model.schedule,
      ...fields,
    };
    writeFileSync(path.join(dir, TORCHSCRIPT_BASE_FILE), JSON.stringify(config));
    return dir;
  };
  const sample = (videoBase: string, out: string, audioBase = base('spoken-mnist-audio')) =>
    mmdisco('sample', '--audio-base', audioBase, '--video-base', videoBase, '--guidance', path.join(repo, 'models', 'guidance', 'spoken-mnist'),
      '--lambda-audio', '1', '--lambda-video', '0', '--sampler', 'ddim', '--steps', '4', '-n', '2', '--batch', '2', '--out', path.join(root, out));

  before(function () {
    if (!existsSync(PYTHON)) this.skip();
    root = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-ts-base-'));
    writeFileSync(path.join(root, 'export.py'), EXPORT_SCRIPT);
    execFileSync(PYTHON, [path.join(root, 'export.py'), root], { stdio: 'pipe' });
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('samples a TorchScript video base guided next to a trained audio base', async () => {
    const videoBase = descriptor('zero');
    const run = sample(videoBase, 'guided');
    assert.equal(run.status, 0, run.stderr);
    const pairs = path.join(root, 'guided', 'pairs');
    const provenance = readIndex(pairs).dataset.provenance as { videoBase: string; audioBase: string };
    assert.equal(provenance.videoBase, videoBase);
    assert.equal(provenance.audioBase, base('spoken-mnist-audio'));
    const first = (await new ShardReader(pairs, { batchSize: 2, seed: 0, shuffle: false }).epoch(0).next()).value!;
    const video = first.tensors[MODALITY_TENSORS.video] as Uint8Array;
    assert.equal(video.length, 2 * trained.data.inputShape.reduce((a, b) => a * b, 1));
    const values = new Set(video);
    assert.ok([...values].every((v) => v === 127 || v === 128), `video values ${[...values].slice(0, 8)}`);
  });

  it('a torchscript.json that does not fit its module or the flag fails naming the field', () => {
    const fail = (dir: string, field: string, message: RegExp, asAudio = false) => {
      const run = asAudio ? sample(base('spoken-mnist-video'), `x-${path.basename(dir)}`, dir) : sample(dir, `x-${path.basename(dir)}`);
      assert.notEqual(run.status, 0);
      const file = path.join(dir, TORCHSCRIPT_BASE_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(run.stderr, field ? new RegExp(`${file}: ${field}: ${message.source}`) : message);
    };
    fail(descriptor('cut', { module: path.join(root, 'cut.pt') }), 'inputShape', /the module does not map a video input \[8,1,16,16\] to ε of the same shape: .*forward returned shape \[1, 1, 1, 16, 16\]/);
    fail(descriptor('missing', { module: 'nowhere.pt' }), 'module', /cannot load TorchScript module/);
    fail(descriptor('shape', { inputShape: [8, 1, 8, 8] }), 'inputShape', /a video input is \(frames, channels, height, width\) of the unit: \[8,1,16,16\]/);
    fail(descriptor('norm', { normalisation: { kind: 'per-bin-standardise', mean: [0], std: [1], range: [-1, 1] } }), 'normalisation\\.kind', /a video model's data are 'uint8-symmetric'/);
    fail(descriptor('as-audio'), '', /--audio-base .*as-audio: holds a video model, not a audio one/, true);
    fail(descriptor('other-data', { dataset: 'bouncing-ball' }), '', /--audio-base .*spoken-mnist-audio was trained on 'spoken-mnist' but --video-base .*other-data on 'bouncing-ball'/);
  });
});
