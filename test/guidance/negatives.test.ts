/**
 * Shuffled real negatives (ts/guidance/negatives.ts): the rate, never a pair with its own video, reproducible by
 * (seed, step), the video taken within the row's group when groups are given (and the config that asks for it),
 * and the rows copied into the batch's negatives.
 */
import * as assert from 'node:assert/strict';
import { shuffledNegatives, useRealNegatives } from '../../ts/guidance/negatives';
import { GuidanceConfigSchema } from '../../ts/config/guidance';
import { validateConfig } from '../../ts/config/load';
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

  it('within groups, take the video of another row of the same group, and leave a row alone in its group a fake', () => {
    const groups = [0, 1, 0, 2, 1, 0, 3, 3, 1, 0, 2, 5];
    let chosen = 0;
    let eligible = 0;
    const partners = new Set<string>();
    for (let step = 0; step < 300; step++) {
      const negatives = shuffledNegatives(0.5, 9, step, groups.length, groups);
      for (const n of negatives) {
        assert.equal(n.audio, n.row);
        assert.notEqual(n.video, n.row);
        assert.equal(groups[n.video], groups[n.row], JSON.stringify(n));
        partners.add(`${n.row}-${n.video}`);
      }
      assert.ok(!negatives.some((n) => n.row === 11), 'row 11 is alone in group 5');
      chosen += negatives.length;
      eligible += groups.length - 1;
    }
    assert.ok(Math.abs(chosen / eligible - 0.5) < 0.03, `rate ${chosen / eligible}`);
    // Every same-group partner of every row is drawn at some step: 4·3 + 3·2 + 2 + 2 = 22 ordered pairs.
    assert.equal(partners.size, 22);
  });

  it('the config names a meta column for the groups only together with a shuffled fraction', () => {
    const config = {
      discriminator: { width: 8, channelMult: [1], blocksPerLevel: 1, timeDim: 16, groups: 4, fusion: 'A' },
      training: { steps: 1, batchSize: 4, lr: 1e-3, weightDecay: 0, gradClip: 1, lambdaDenoising: 0, checkpointEvery: 1, logEvery: 1, seed: 0 },
    };
    const withTraining = (extra: Record<string, unknown>) => ({ ...config, training: { ...config.training, ...extra } });
    const parsed = validateConfig(GuidanceConfigSchema, withTraining({ shuffledNegatives: 0.5, shuffledNegativesWithin: 'material_index' }), 'g.json');
    assert.equal(parsed.training.shuffledNegativesWithin, 'material_index');
    assert.throws(
      () => validateConfig(GuidanceConfigSchema, withTraining({ shuffledNegativesWithin: 'material_index' }), 'g.json'),
      /g\.json: training\.shuffledNegativesWithin: shuffledNegativesWithin needs shuffledNegatives > 0/,
    );
    assert.throws(() => validateConfig(GuidanceConfigSchema, withTraining({ shuffledNegatives: 0.5, shuffledNegativesWithin: '' }), 'g.json'), /training\.shuffledNegativesWithin/);
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
