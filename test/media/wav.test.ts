import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav, readWav, writeWav } from '../../ts/media/wav';

describe('wav', () => {
  it('round-trips 16-bit mono within half a quantisation step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmdisco-wav-'));
    try {
      const samples = Float32Array.from({ length: 1234 }, (_, i) => Math.sin(i / 7) * 0.9);
      samples[0] = 1;
      samples[1] = -1;
      await writeWav(join(dir, 'a.wav'), { sampleRate: 16000, samples });
      const back = await readWav(join(dir, 'a.wav'));
      assert.equal(back.sampleRate, 16000);
      assert.equal(back.samples.length, samples.length);
      for (let i = 0; i < samples.length; i++) assert.ok(Math.abs(back.samples[i] - samples[i]) <= 0.5 / 32767 + 1e-7, `sample ${i}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('clips out-of-range samples instead of wrapping', () => {
    const back = decodeWav(encodeWav({ sampleRate: 8000, samples: Float32Array.of(1.5, -2) }));
    assert.deepEqual(Array.from(back.samples), [1, -1]);
  });
});
