/**
 * Shuffled real negatives (ts/guidance/negatives.ts): the rate, never a pair with its own video, reproducible by
 * (seed, step), and the rows copied into the batch's negatives.
 */
import * as assert from 'node:assert/strict';
import { shuffledNegatives, useRealNegatives } from '../../ts/guidance/negatives';
import { tensor } from '../../ts/native';

describe('guidance: shuffled real negatives', () => {
  it('replace negatives at the configured rate by the audio of one real pair with the video of another', () => {
    let chosen = 0;
    for (let step = 0; step < 300; step++) {
      for (const n of shuffledNegatives(0.3, 9, step, 16)) {
        chosen++;
        assert.equal(n.audio, n.row);
        assert.ok(n.video !== n.audio && n.video >= 0 && n.video < 16, JSON.stringify(n));
      }
    }
    assert.ok(Math.abs(chosen / (300 * 16) - 0.3) < 0.02, `rate ${chosen / (300 * 16)}`);
    assert.deepEqual(shuffledNegatives(0.3, 9, 4, 16), shuffledNegatives(0.3, 9, 4, 16));
    assert.notDeepEqual(shuffledNegatives(0.3, 9, 4, 16), shuffledNegatives(0.3, 9, 5, 16));
    assert.deepEqual(shuffledNegatives(0, 9, 4, 16), []);
  });

  it('copy the named real rows into the negative rows and leave the others', () => {
    const rows = 3;
    const filled = (base: number, size: number) => Float32Array.from({ length: rows * size }, (_, i) => base + Math.floor(i / size));
    const batch = {
      realAudio: tensor(filled(10, 2), [rows, 2]),
      realVideo: tensor(filled(20, 4), [rows, 4]),
      fakeAudio: tensor(filled(30, 2), [rows, 2]),
      fakeVideo: tensor(filled(40, 4), [rows, 4]),
    };
    useRealNegatives(batch, [{ row: 1, audio: 1, video: 2 }], rows);
    assert.deepEqual(Array.from(batch.fakeAudio.data), [30, 30, 11, 11, 32, 32]);
    assert.deepEqual(Array.from(batch.fakeVideo.data), [40, 40, 40, 40, 22, 22, 22, 22, 42, 42, 42, 42]);
  });
});
