import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoupledGaussianMixture } from '../../ts/core/mixture';
import { sampleMixture } from '../../ts/eval/mixture';
import { SampleSet, selectRows } from '../../ts/eval/samples';
import { lineChartSize, writeLineChart } from '../../ts/report/lineChart';
import { formatTick, niceTicks } from '../../ts/report/plotting';
import { writeJsonAtomic } from '../../ts/core/atomicWrite';
import { scatterPanelsSize, writeScatterPanels } from '../../ts/report/scatterPanels';
import { Rng } from '../../ts/util/random';

/** Width and height from a PNG's signature and IHDR chunk. */
async function pngSize(file: string): Promise<{ width: number; height: number }> {
  const bytes = await fs.readFile(file);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('report', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mmdisco-report-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writeJsonAtomic writes parseable JSON, replaces an existing file and leaves no temporary file', async () => {
    const file = path.join(dir, 'nested', 'report.json');
    await writeJsonAtomic(file, { coupling: { guided: 0.9 } });
    await writeJsonAtomic(file, { coupling: { guided: 0.95 }, missing: NaN });
    assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { coupling: { guided: 0.95 }, missing: null });
    assert.deepEqual(await fs.readdir(path.dirname(file)), ['report.json']);
  });

  it('writeScatterPanels draws a rows × columns grid of the announced size', async () => {
    const mixture: CoupledGaussianMixture = {
      weights: [1, 1, 1, 1],
      audio: { means: [[-2, -2], [-2, 2], [2, -2], [2, 2]], std: [0.3, 0.3, 0.3, 0.3] },
      video: { means: [[0, 3], [3, 0], [0, -3], [-3, 0]], std: [0.4, 0.4, 0.4, 0.4] },
    };
    const rng = new Rng(1);
    const real = sampleMixture(mixture, 600, rng);
    const independent: { audio: SampleSet; video: SampleSet } = { audio: real.audio, video: selectRows(real.video, rng.permutation(600)) };
    const column = (title: string, s: typeof independent) => ({
      title,
      rows: [
        { points: s.audio, labels: real.components },
        { points: s.video, labels: real.components },
      ],
    });
    const spec = { columns: [column('independent', independent), column('guided', real), column('real', real)], rowTitles: ['audio', 'video'] };
    const file = path.join(dir, 'joint.png');
    await writeScatterPanels(file, spec);
    const expected = scatterPanelsSize(spec);
    assert.deepEqual(await pngSize(file), expected);
    assert.ok(expected.width > 3 * 240 && expected.height > 2 * 240);
    await assert.rejects(writeScatterPanels(file, { columns: [{ title: 'bad', rows: [{ points: real.audio, labels: new Int32Array(3) }] }] }), /labels/);
  });

  it('writeLineChart writes linear and log-y charts of the requested size', async () => {
    const steps = Array.from({ length: 200 }, (_, i) => i * 10);
    const series = [
      { name: 'discriminator', x: steps, y: steps.map((s) => 0.7 * Math.exp(-s / 500) + 0.01) },
      { name: 'denoising', x: steps, y: steps.map((s) => 2 / (1 + s / 100)) },
    ];
    for (const logY of [false, true]) {
      const file = path.join(dir, `loss-${logY}.png`);
      await writeLineChart(file, { series, xLabel: 'step', yLabel: 'loss', title: 'training loss', logY, width: 640, height: 360 });
      assert.deepEqual(await pngSize(file), { width: 640, height: 360 });
    }
  });

  it('writeLineChart puts a legend taller than half the plot beside it, widening the figure to hold it', async () => {
    const series = Array.from({ length: 24 }, (_, k) => ({ name: `variant ${k}: shuffled within`, x: [50, 200, 400], y: [k, k / 2, 0] }));
    const spec = { series, xLabel: 't', yLabel: 'logit drop', width: 480, height: 300 };
    const size = lineChartSize(spec);
    // 24 entries of 16 px do not fit in half of the 212-px plot: the figure grows right by the legend and down to hold it.
    assert.ok(size.width > 480 + 100, `width ${size.width}`);
    assert.ok(size.height >= 36 + 24 * 16, `height ${size.height}`);
    const file = path.join(dir, 'many.png');
    await writeLineChart(file, spec);
    assert.deepEqual(await pngSize(file), size);
    assert.deepEqual(lineChartSize({ ...spec, series: series.slice(0, 4) }), { width: 480, height: 300 });
  });

  it('picks round ticks inside the range and formats them without float noise', () => {
    assert.deepEqual(niceTicks({ min: -0.3, max: 2.2 }, 5), [0, 0.5, 1, 1.5, 2]);
    assert.deepEqual(niceTicks({ min: 0, max: 1000 }, 5), [0, 200, 400, 600, 800, 1000]);
    assert.equal(formatTick(0.1 + 0.2, 0.1), '0.3');
    assert.equal(formatTick(400, 200), '400');
  });
});
