/**
 * CPU-vs-CUDA agreement of the discriminator, its residuals, the base model and guided sampling (runs where a
 * CUDA device is available; on CPU-only machines it is reported as pending).
 */
import assert from 'node:assert/strict';
import { toyMixture } from '../../ts/toy/mixture';
import { ScheduleOptions, Tensor, native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const audioSchedule: ScheduleOptions = { kind: 'linear' };
const videoSchedule: ScheduleOptions = { kind: 'cosine' };
const mixture = toyMixture({ components: 4, audioDim: 2, videoDim: 2, radius: 2, audioStd: 0.35, videoStd: 0.35, videoStride: 3 });

function maxRelativeError(a: Tensor['data'], b: Tensor['data']): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

describe('CPU vs CUDA agreement', function () {
  before(function () {
    if (!native.runtimeInfo().cudaAvailable) this.skip();
  });

  for (const dtype of ['float32', 'float64'] as const) {
    const tolerance = dtype === 'float64' ? 1e-10 : 1e-4;
    it(`discriminator logits and residuals agree (${dtype})`, async () => {
      const make = (device: string) =>
        new native.Discriminator({
          device,
          dtype,
          seed: 3,
          network: { kind: 'toy-mlp', audioDim: 2, videoDim: 2, hidden: 64, blocks: 2, timeDim: 32 },
          audioSchedule,
          videoSchedule,
        });
      const cpu = make('cpu');
      const cuda = make('cuda');
      await cuda.loadParameters(await cpu.parameters());
      const rng = new Rng(9);
      const B = 64;
      const array = (n: number) => (dtype === 'float64' ? rng.fillGaussian(new Float64Array(n)) : rng.fillGaussian(new Float32Array(n)));
      const a = tensor(array(B * 2), [B, 2]);
      const v = tensor(array(B * 2), [B, 2]);
      const t = tensor(Int32Array.from({ length: B }, () => rng.int(1000)), [B]);
      assert.ok(maxRelativeError((await cuda.logit(a, v, t)).logit.data, (await cpu.logit(a, v, t)).logit.data) < tolerance);
      const rc = await cuda.residuals(a, v, t);
      const rp = await cpu.residuals(a, v, t);
      assert.ok(maxRelativeError(rc.audio.data, rp.audio.data) < tolerance);
      assert.ok(maxRelativeError(rc.video.data, rp.video.data) < tolerance);
    });
  }

  it('oracle-guided sampling gives the same samples on both devices (noise is drawn on the CPU)', async () => {
    const run = async (device: string) => {
      const audio = new native.AnalyticEps({ device, dtype: 'float64', mixture, modality: 'audio', schedule: audioSchedule });
      const video = new native.AnalyticEps({ device, dtype: 'float64', mixture, modality: 'video', schedule: videoSchedule });
      const oracle = new native.OracleCritic({ device, dtype: 'float64', mixture, audioSchedule, videoSchedule });
      return native.sample({ sources: [audio, video], shapes: [[2], [2]], n: 256, steps: 50, seed: 5, critic: oracle, lambdas: [1, 1] });
    };
    const cpu = await run('cpu');
    const cuda = await run('cuda');
    assert.ok(maxRelativeError(cuda.x0.data, cpu.x0.data) < 1e-8);
    assert.ok(maxRelativeError(cuda.x1.data, cpu.x1.data) < 1e-8);
  });
});
