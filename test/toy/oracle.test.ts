/**
 * The closed-form pieces of the toy and the sampler + guidance rule, with no training involved: exact marginal
 * ε and exact log density ratio against an independent computation, then sampling with the oracle as the
 * guidance couples the modalities while independent sampling does not.
 */
import assert from 'node:assert/strict';
import { toyMixture } from '../../ts/toy/mixture';
import type { CoupledGaussianMixture, IsotropicComponents } from '../../ts/core/mixture';
import { sampleMixture } from '../../ts/eval/mixture';
import { mixtureCoupling } from '../../ts/eval/mixtureCoupling';
import { sampleSet } from '../../ts/eval/samples';
import { slicedWasserstein } from '../../ts/eval/slicedWasserstein';
import { ScheduleOptions, native, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const K = 4;
const mixture = toyMixture({ components: K, audioDim: 2, videoDim: 2, radius: 2, audioStd: 0.35, videoStd: 0.35, videoStride: 3 });
const audioSchedule: ScheduleOptions = { kind: 'linear' };
const videoSchedule: ScheduleOptions = { kind: 'cosine' };

/** log of each component's density of the noised mixture at ᾱ, for one point. */
function componentLogDensities(x: number[], c: IsotropicComponents, alphaBar: number): number[] {
  return c.means.map((mu, k) => {
    const variance = alphaBar * c.std[k] ** 2 + 1 - alphaBar;
    const sq = x.reduce((s, xi, d) => s + (xi - Math.sqrt(alphaBar) * mu[d]) ** 2, 0);
    return -0.5 * x.length * Math.log(2 * Math.PI * variance) - sq / (2 * variance);
  });
}
const logSumExp = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
function logRatio(m: CoupledGaussianMixture, a: number[], v: number[], abarA: number, abarV: number): number {
  const lw = m.weights.map(Math.log);
  const la = componentLogDensities(a, m.audio, abarA);
  const lv = componentLogDensities(v, m.video, abarV);
  return logSumExp(lw.map((w, k) => w + la[k] + lv[k])) - logSumExp(lw.map((w, k) => w + la[k])) - logSumExp(lw.map((w, k) => w + lv[k]));
}

describe('toy closed forms and oracle guidance', function () {
  const abarA = native.scheduleAlphaBar(audioSchedule).data;
  const abarV = native.scheduleAlphaBar(videoSchedule).data;

  it('the oracle logit is log q_t(a,v) − log p_t(a) − log p_t(v) of the noised mixture', async () => {
    const oracle = new native.OracleCritic({ dtype: 'float64', mixture, audioSchedule, videoSchedule });
    const rng = new Rng(4);
    for (const t of [0, 120, 500, 999]) {
      const a = [rng.gaussian() * 2, rng.gaussian() * 2];
      const v = [rng.gaussian() * 2, rng.gaussian() * 2];
      const { logit } = await oracle.logit(tensor(Float64Array.from(a), [1, 2]), tensor(Float64Array.from(v), [1, 2]), t);
      const expected = logRatio(mixture, a, v, abarA[t], abarV[t]);
      assert.ok(Math.abs(logit.data[0] - expected) < 1e-9, `t=${t}: ${logit.data[0]} vs ${expected}`);
    }
  });

  it('the analytic base model returns −σ_t ∇ log p_t(x), checked by finite differences', async () => {
    const eps = new native.AnalyticEps({ dtype: 'float64', mixture, modality: 'audio', schedule: audioSchedule });
    const logP = (x: number[], ab: number) => logSumExp(mixture.weights.map((w, k) => Math.log(w) + componentLogDensities(x, mixture.audio, ab)[k]));
    const rng = new Rng(5);
    for (const t of [5, 300, 800]) {
      const x = [rng.gaussian() * 2, rng.gaussian() * 2];
      const out = (await eps.eps(tensor(Float64Array.from(x), [1, 2]), t)).eps.data;
      const h = 1e-6;
      for (let d = 0; d < 2; d++) {
        const plus = [...x];
        const minus = [...x];
        plus[d] += h;
        minus[d] -= h;
        const grad = (logP(plus, abarA[t]) - logP(minus, abarA[t])) / (2 * h);
        const expected = -Math.sqrt(1 - abarA[t]) * grad;
        assert.ok(Math.abs(out[d] - expected) < 1e-6, `t=${t} d=${d}: ${out[d]} vs ${expected}`);
      }
    }
  });

  for (const sampler of ['ddpm', 'ddim'] as const) {
    it(`${sampler}: oracle guidance couples the modalities (≥ 0.95), independent sampling stays near 1/K`, async () => {
      const audio = new native.AnalyticEps({ mixture, modality: 'audio', schedule: audioSchedule });
      const video = new native.AnalyticEps({ mixture, modality: 'video', schedule: videoSchedule });
      const oracle = new native.OracleCritic({ mixture, audioSchedule, videoSchedule });
      const n = 2000;
      const common = { sources: [audio, video], shapes: [[2], [2]], n, sampler, steps: 100, seed: 11 };
      const independent = await native.sample(common);
      const guided = await native.sample({ ...common, critic: oracle, lambdas: [1, 1] });
      const pairs = (o: Record<string, { data: Float32Array | Float64Array }>) => ({
        audio: sampleSet(o.x0.data, n, 2),
        video: sampleSet(o.x1.data, n, 2),
      });
      const ind = pairs(independent);
      const gui = pairs(guided);
      const independentCoupling = mixtureCoupling(ind.audio, ind.video, mixture);
      const guidedCoupling = mixtureCoupling(gui.audio, gui.video, mixture);
      assert.ok(guidedCoupling >= 0.95, `guided coupling ${guidedCoupling}`);
      assert.ok(Math.abs(independentCoupling - 1 / K) < 0.05, `independent coupling ${independentCoupling}`);
      // The sampler reproduces the marginals: distances to fresh true samples at the finite-sample floor.
      const real = sampleMixture(mixture, n, new Rng(12));
      const floor = slicedWasserstein(sampleMixture(mixture, n, new Rng(13)).audio, real.audio, { seed: 1 });
      for (const set of [ind, gui]) {
        const d = slicedWasserstein(set.audio, real.audio, { seed: 1 });
        assert.ok(d < 3 * floor + 0.05, `audio marginal distance ${d} (true-vs-true ${floor})`);
      }
    });
  }

  it('a guidance interval guides only the steps inside it: the whole range is plain guidance, no step is independent sampling', async () => {
    const audio = new native.AnalyticEps({ mixture, modality: 'audio', schedule: audioSchedule });
    const video = new native.AnalyticEps({ mixture, modality: 'video', schedule: videoSchedule });
    const oracle = new native.OracleCritic({ mixture, audioSchedule, videoSchedule });
    const n = 1000;
    // 20 steps: t = 950, 900, …, 0.
    const common = { sources: [audio, video], shapes: [[2], [2]], n, steps: 20, seed: 31 };
    const guided = (guidanceInterval?: [number, number]) =>
      native.sample({ ...common, critic: oracle, lambdas: [1, 1], ...(guidanceInterval ? { guidanceInterval } : {}) });
    const everyStep = await guided();
    assert.deepEqual((await guided([0, 999])).x0.data, everyStep.x0.data);
    const independent = await native.sample(common);
    const none = await guided([951, 999]);
    assert.deepEqual(none.x0.data, independent.x0.data);
    assert.deepEqual(none.x1.data, independent.x1.data);
    // The pair's mixture component is settled at intermediate noise: guidance only at t ≤ 50 comes too late to
    // couple the pair and guidance only at t ≥ 700 too early (near 1/K either way), while guidance at t ≥ 150
    // couples it as well as guidance at every step.
    const coupling = (o: Record<string, { data: Float32Array | Float64Array }>) =>
      mixtureCoupling(sampleSet(o.x0.data, n, 2), sampleSet(o.x1.data, n, 2), mixture);
    const all = coupling(everyStep);
    const [late, early, middle] = [coupling(await guided([0, 50])), coupling(await guided([700, 999])), coupling(await guided([150, 999]))];
    assert.ok(all >= 0.95, `guided at every step: coupling ${all}`);
    assert.ok(late < 1 / K + 0.1, `guided at t ≤ 50 only: coupling ${late}`);
    assert.ok(early < 1 / K + 0.1, `guided at t ≥ 700 only: coupling ${early}`);
    assert.ok(middle > all - 0.05, `guided at t ≥ 150 only: coupling ${middle}, every step ${all}`);
  });

  it('refuses a guidance interval that is not two ordered integer timesteps, or that has no critic', async () => {
    const audio = new native.AnalyticEps({ mixture, modality: 'audio', schedule: audioSchedule });
    const video = new native.AnalyticEps({ mixture, modality: 'video', schedule: videoSchedule });
    const oracle = new native.OracleCritic({ mixture, audioSchedule, videoSchedule });
    const common = { sources: [audio, video], shapes: [[2], [2]], n: 4, steps: 5, seed: 1 };
    for (const guidanceInterval of [[500, 100], [-1, 10], [0.5, 10], [10], [0, 1000]] as [number, number][]) {
      await assert.rejects(() => Promise.resolve().then(() => native.sample({ ...common, critic: oracle, lambdas: [1, 1], guidanceInterval })), /option 'guidanceInterval' must be \[tMin, tMax\], integers with 0 ≤ tMin ≤ tMax ≤ 999/);
    }
    await assert.rejects(() => Promise.resolve().then(() => native.sample({ ...common, guidanceInterval: [0, 10] })), /option 'guidanceInterval' needs a critic/);
  });

  it('the same seed reproduces samples bit for bit; another seed does not', async () => {
    const audio = new native.AnalyticEps({ mixture, modality: 'audio', schedule: audioSchedule });
    const video = new native.AnalyticEps({ mixture, modality: 'video', schedule: videoSchedule });
    const oracle = new native.OracleCritic({ mixture, audioSchedule, videoSchedule });
    const draw = (seed: number) =>
      native.sample({ sources: [audio, video], shapes: [[2], [2]], n: 64, steps: 20, seed, critic: oracle, lambdas: [1, 1] });
    const [first, again, other] = [await draw(21), await draw(21), await draw(22)];
    assert.deepEqual(again.x0.data, first.x0.data);
    assert.deepEqual(again.x1.data, first.x1.data);
    assert.notDeepEqual(other.x0.data, first.x0.data);
  });
});
