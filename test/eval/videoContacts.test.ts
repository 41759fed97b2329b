import { strict as assert } from 'node:assert';
import { PairFactory } from '../../datasets/build';
import { resolveUnit, type UnitSpec } from '../../ts/core/unit';
import { meanOnsetF1 } from '../../ts/eval/onsetF1';
import { derangement } from '../../ts/eval/pairMetrics';
import { objectCentroids, videoContacts } from '../../ts/eval/videoContacts';

/** Detected contacts vs the ground truth of rendered pairs, on the contacts the frames can show. */
async function contactRecovery(unit: UnitSpec, pairs: number): Promise<{ f1: number; meanError: number; shuffledF1: number }> {
  const factory = await PairFactory.create('bouncing-ball', 'test', 11, unit);
  const lastFrame = (unit.frames - 1) / unit.fps;
  const halfFrame = 0.5 / unit.fps;
  const rows: { truth: number[]; detected: number[] }[] = [];
  for (let i = 0; i < pairs; i++) {
    const pair = factory.render(i);
    rows.push({
      truth: (pair.meta.contact_times as number[]).filter((t) => t > 0 && t < lastFrame),
      detected: videoContacts(pair.video, { fps: unit.fps }),
    });
  }
  let errorSum = 0;
  let matched = 0;
  for (const { truth, detected } of rows) {
    for (const t of detected) {
      const error = Math.min(...truth.map((g) => Math.abs(g - t)));
      if (error <= halfFrame) {
        errorSum += error;
        matched++;
      }
    }
  }
  const partner = derangement(rows.length, 0);
  return {
    f1: meanOnsetF1(rows.map((r) => ({ audio: r.detected, video: r.truth })), halfFrame),
    meanError: errorSum / matched,
    shuffledF1: meanOnsetF1(rows.map((r, i) => ({ audio: rows[partner[i]].detected, video: r.truth })), halfFrame),
  };
}

describe('video contact detection', () => {
  it('finds the centroid of a disk and ignores the floor row', () => {
    const height = 16;
    const width = 16;
    const data = new Uint8Array(height * width);
    for (let x = 0; x < width; x++) data[(height - 1) * width + x] = 128;
    for (let y = 4; y < 7; y++) for (let x = 9; x < 12; x++) data[y * width + x] = 255;
    const [c] = objectCentroids({ frames: 1, channels: 1, height, width, data });
    assert.ok(c);
    assert.ok(Math.abs(c.x - 10.5) < 1e-9 && Math.abs(c.y - 5.5) < 1e-9, `centroid ${JSON.stringify(c)}`);
  });

  it('puts a straight-line wall bounce at the exact sub-frame time, for uint8 and [-1, 1] float frames', () => {
    // Centroid x: 2 px/frame towards the wall at x = 10.5 (reached at frame 3.25), then back at 1.5 px/frame.
    const frames = 7;
    const width = 16;
    const height = 8;
    const xAt = (k: number) => (k <= 3.25 ? 4 + 2 * k : 10.5 - 1.5 * (k - 3.25));
    const data = new Uint8Array(frames * height * width);
    const float = new Float32Array(frames * height * width).fill(-1);
    for (let k = 0; k < frames; k++) {
      // A 1-px-wide bar spread over two columns by linear interpolation: its centroid is exactly xAt(k).
      const x = xAt(k) - 0.5;
      const left = Math.floor(x);
      const fraction = x - left;
      for (let y = 2; y < 5; y++) {
        data[k * height * width + y * width + left] = Math.round(255 * (1 - fraction));
        data[k * height * width + y * width + left + 1] = Math.round(255 * fraction);
        float[k * height * width + y * width + left] = (2 * Math.round(255 * (1 - fraction))) / 255 - 1;
        float[k * height * width + y * width + left + 1] = (2 * Math.round(255 * fraction)) / 255 - 1;
      }
    }
    const fps = 10;
    for (const frameData of [data, float]) {
      const contacts = videoContacts({ frames, channels: 1, height, width, data: frameData }, { fps, floorRows: 0 });
      assert.equal(contacts.length, 1, `contacts ${contacts}`);
      assert.ok(Math.abs(contacts[0] - 3.25 / fps) < 0.02 / fps, `contact at ${contacts[0]} s, expected ${3.25 / fps} s`);
    }
  });

  it('recovers the ground-truth contact times of rendered bouncing-ball pairs within half a frame', async function () {
    this.timeout(60_000);
    // 16 frames at 16 fps (the spec's cleanest unit) and the small preset (8 frames at 5 fps, 16×16).
    const fine = await contactRecovery(resolveUnit('small', { frames: 16, fps: 16, durationS: 1, height: 32, width: 32 }), 60);
    assert.ok(fine.f1 > 0.85, `16 fps: F1 ${fine.f1}`);
    assert.ok(fine.meanError < 0.25 / 16, `16 fps: mean |error| ${fine.meanError} s`);
    assert.ok(fine.f1 > fine.shuffledF1 + 0.3, `16 fps: F1 ${fine.f1} vs shuffled ${fine.shuffledF1}`);
    const small = await contactRecovery(resolveUnit('small'), 60);
    assert.ok(small.f1 > 0.75, `small: F1 ${small.f1}`);
    assert.ok(small.meanError < 0.25 / 5, `small: mean |error| ${small.meanError} s`);
  });
});
