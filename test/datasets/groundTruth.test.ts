import { strict as assert } from 'node:assert';
import { PairFactory } from '../../datasets/build';
import { NOISE_FLOOR_STD } from '../../datasets/generator';
import { resolveUnit } from '../../ts/core/unit';
import { BALL_BRIGHTNESS, fullHeightSpeed, Surface } from '../../datasets/bouncing-ball';
import { loadMnist } from '../../datasets/sources/mnist';

describe('bouncing-ball ground truth', () => {
  // 50 fps so that a frame lies within 10 ms of every contact.
  const unit = resolveUnit('small', { frames: 80, fps: 50, height: 48, width: 48 });
  let factory: PairFactory;
  before(async () => (factory = await PairFactory.create('bouncing-ball', 'train', 7, unit)));

  /** Extent of the ball (pixels above the floor row brighter than a third of its level) in frame t. */
  function ballExtent(video: Uint8Array, t: number, level: number): { top: number; bottom: number; left: number; right: number } {
    const { height: h, width: w } = unit;
    const e = { top: h, bottom: -1, left: w, right: -1 };
    for (let y = 0; y < h - 1; y++) {
      for (let x = 0; x < w; x++) {
        if (video[t * h * w + y * w + x] > (255 * level) / 3) {
          e.top = Math.min(e.top, y);
          e.bottom = Math.max(e.bottom, y + 1);
          e.left = Math.min(e.left, x);
          e.right = Math.max(e.right, x + 1);
        }
      }
    }
    return e;
  }

  it('puts every contact where the rendered ball touches the floor or a wall', () => {
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const pair = factory.render(i);
      const times = pair.meta.contact_times as number[];
      const speeds = pair.meta.contact_speeds as number[];
      const surfaces = pair.meta.contact_surfaces as Surface[];
      const level = BALL_BRIGHTNESS[(pair.meta.material_index as number) & 3];
      times.forEach((time, c) => {
        const t = Math.round(time * unit.fps);
        if (t >= unit.frames) return;
        const e = ballExtent(pair.video.data, t, level);
        // Distance the ball can travel between the contact and the frame, plus one pixel of anti-aliasing.
        const slack = speeds[c] * Math.abs(t / unit.fps - time) + 1.5;
        const gap = surfaces[c] === 'floor' ? unit.height - 1 - e.bottom : surfaces[c] === 'left' ? e.left : unit.width - e.right;
        assert.ok(gap >= -1 && gap <= slack, `pair ${i} contact ${c} (${surfaces[c]} at ${time.toFixed(4)} s): gap ${gap} px > ${slack.toFixed(2)}`);
        checked++;
      });
    }
    assert.ok(checked >= 20, `only ${checked} contacts checked`);
  });

  it('starts an impact sound at each contact that is not a graze', () => {
    // A contact at a quarter of the full-height impact speed or more is mixed at ≥ 0.175 gain: clearly audible.
    const audible = 0.25 * fullHeightSpeed(unit);
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const pair = factory.render(i);
      const sr = unit.sampleRate;
      const speeds = pair.meta.contact_speeds as number[];
      for (const [c, time] of (pair.meta.contact_times as number[]).entries()) {
        if (speeds[c] < audible) continue;
        checked++;
        const at = Math.round(time * sr);
        if (at < 0.01 * sr || at > pair.wave.length - 0.01 * sr) continue;
        const rms = (from: number, to: number): number => {
          let acc = 0;
          for (let s = from; s < to; s++) acc += pair.wave[s] ** 2;
          return Math.sqrt(acc / (to - from));
        };
        assert.ok(rms(at, at + 0.01 * sr) > 2 * rms(at - 0.01 * sr, at), `pair ${i} contact at ${time}`);
      }
    }
    assert.ok(checked >= 15, `only ${checked} contacts checked`);
  });
});

describe('spoken-mnist ground truth', () => {
  const unit = resolveUnit('small');
  let factory: PairFactory;
  before(async () => (factory = await PairFactory.create('spoken-mnist', 'train', 3, unit)));

  it('starts speech energy at the recorded onset and none before it', () => {
    const window = 160; // 10 ms
    for (let i = 0; i < 30; i++) {
      const pair = factory.render(i);
      const onset = pair.meta.onset_s as number;
      let first = -1;
      for (let s = 0; s + window <= pair.wave.length; s += window / 4) {
        let acc = 0;
        for (let k = s; k < s + window; k++) acc += pair.wave[k] ** 2;
        if (Math.sqrt(acc / window) > 5 * NOISE_FLOOR_STD) {
          first = s / unit.sampleRate;
          break;
        }
      }
      // Words opening on a weak fricative ("four", "five") take up to ~40 ms to rise above the threshold.
      assert.ok(first >= 0 && first - onset > -0.015 && first - onset < 0.045, `pair ${i}: energy from ${first} s, onset ${onset} s`);
    }
  });

  it('shows the digit from the frame containing the onset on, and nothing before', () => {
    for (let i = 0; i < 30; i++) {
      const pair = factory.render(i);
      const onset = pair.meta.onset_s as number;
      const plane = unit.height * unit.width;
      for (let t = 0; t < unit.frames; t++) {
        const ink = pair.video.data.subarray(t * plane, (t + 1) * plane).reduce((a, b) => a + b, 0);
        const lit = (t + 1) / unit.fps > onset;
        assert.equal(ink > 0, lit, `pair ${i} frame ${t} (onset ${onset.toFixed(3)} s): ink ${ink}`);
      }
    }
  });

  it('draws labels evenly, each shown by an MNIST image of that label', () => {
    const mnist = loadMnist('train');
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 200; i++) {
      const meta = factory.render(i).meta;
      assert.equal(mnist.labels[meta.mnist_index as number], meta.label);
      counts[meta.label as number]++;
    }
    assert.ok(Math.min(...counts) >= 8, `label counts ${counts}`);
  });
});
