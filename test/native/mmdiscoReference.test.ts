/**
 * Parity with the plain PyTorch reference (bench/reference/discriminator_step.py): its state dict loads strictly
 * into the native module (same key names and shapes), and h and the input gradient of Σℓ agree in float64.
 * Skipped when the reference's Python (./.venv/bin/python3 with torch) is absent.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDiscriminatorWeights } from '../../ts/checkpoint/discriminatorWeights';
import { readSafetensors } from '../../ts/checkpoint/safetensors';
import { native, tensor, type MmdiscoDiscriminatorNetwork, type Tensor } from '../../ts/native';

const python = path.resolve('.venv/bin/python3');
const script = path.resolve('bench/reference/discriminator_step.py');

const cases = [
  { name: 'MM-Diffusion towers (1-D dilated audio) with fusion B', preset: 'mmdiffusion', overrides: { fusion: 'B' }, native: { fusion: 'B' }, frames: 2, size: 8, audioSamples: 64, melFrames: 0 },
  { name: 'AudioLDM + AnimateDiff (2-D audio, text conditioning, fusion A)', preset: 'audioldm-animatediff', overrides: {}, native: {}, frames: 2, size: 8, audioSamples: 8, melFrames: 5 },
] as const;

describe('MMDisCo discriminator: parity with the PyTorch reference', function () {
  this.timeout(300_000);
  let dir: string;
  before(function () {
    if (!existsSync(python)) this.skip();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-parity-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const c of cases) {
    it(c.name, async () => {
      const weights = path.join(dir, `${c.preset}.weights.safetensors`);
      const io = path.join(dir, `${c.preset}.io.safetensors`);
      const t = [17, 640];
      execFileSync(python, [script, '--export', '--json', JSON.stringify({ ...c, batch: 2, t, weights, io })], { stdio: ['ignore', 'pipe', 'inherit'] });
      const network: MmdiscoDiscriminatorNetwork = { kind: 'mmdisco', preset: c.preset, ...c.native };
      const d = new native.Discriminator({ network, audioSchedule: { kind: 'linear' }, videoSchedule: { kind: 'linear' }, dtype: 'float64', threads: 1 });
      await loadDiscriminatorWeights(weights, d);
      const ref = readSafetensors(io).tensors;
      const f64 = (x: { data: ArrayLike<number>; shape: number[] }): Tensor<Float64Array> => tensor(Float64Array.from(x.data), x.shape);
      const condition = ref.textVideo ? { video: f64(ref.textVideo), audio: f64(ref.textAudio) } : undefined;
      const times = tensor(new Int32Array(t), [2]);
      const { logit } = await d.logit(f64(ref.audio), f64(ref.video), times, condition);
      const h = ref.h.data;
      const expectedLogit = Array.from(h, (x) => { const p = 1 / (1 + Math.exp(-x)); return Math.log(p + 1e-5) - Math.log(1 - p + 1e-5); });
      // Weights and inputs are float32-representable and everything is computed in float64 on both sides.
      for (let i = 0; i < 2; i++) assert.ok(Math.abs(logit.data[i] - expectedLogit[i]) < 1e-9, `ℓ[${i}]: ${logit.data[i]} vs ${expectedLogit[i]}`);
      const alphaBar = native.scheduleAlphaBar({ kind: 'linear' }).data;
      const r = await d.residuals(f64(ref.audio), f64(ref.video), times, condition);
      for (const [got, expected] of [[r.audio, ref.gradAudio], [r.video, ref.gradVideo]] as const) {
        const rows = got.data.length / 2;
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < got.data.length; i++) {
          const sigma = Math.sqrt(1 - alphaBar[t[Math.floor(i / rows)]]);
          worst = Math.max(worst, Math.abs(got.data[i] + sigma * expected.data[i]));
          scale = Math.max(scale, Math.abs(sigma * expected.data[i]));
        }
        assert.ok(worst <= 1e-8 * scale, `residual error ${worst} at scale ${scale}`);
      }
    });
  }
});
