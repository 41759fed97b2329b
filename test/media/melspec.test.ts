import { strict as assert } from 'node:assert';
import { LOG_MEL_FLOOR, MelSpectrogram, melCentersHz } from '../../ts/media/melspec';

const cfg = { sampleRate: 16000, nFft: 512, hop: 160, melBins: 32 };

function tone(hz: number, samples: number): Float32Array {
  return Float32Array.from({ length: samples }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / cfg.sampleRate));
}

describe('log-mel spectrogram', () => {
  const mel = new MelSpectrogram(cfg);

  it('gives floor(samples / hop) frames of melBins', () => {
    assert.equal(mel.compute(new Float32Array(25600)).length, 160 * 32);
    assert.equal(mel.compute(new Float32Array(25650)).length, 160 * 32);
  });

  for (const hz of [300, 1000, 3000]) {
    it(`peaks, for a ${hz} Hz tone, in the bin whose centre is nearest ${hz} Hz`, () => {
      const out = mel.compute(tone(hz, 16000));
      const centres = Array.from(melCentersHz(cfg));
      const nearest = centres.reduce((best, c, i) => (Math.abs(c - hz) < Math.abs(centres[best] - hz) ? i : best), 0);
      const frame = 50;
      const row = Array.from(out.subarray(frame * 32, frame * 32 + 32));
      assert.equal(row.indexOf(Math.max(...row)), nearest);
    });
  }

  it('matches a direct DFT reference on noise, edge frames included', () => {
    const x = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i * 12.9898) * 0.7);
    const out = mel.compute(x);
    const centres = Array.from(melCentersHz(cfg));
    const edges = [0, ...centres, cfg.sampleRate / 2];
    for (const frame of [0, 10, 24]) {
      const mag: number[] = [];
      for (let k = 0; k <= 256; k++) {
        let re = 0;
        let im = 0;
        for (let i = 0; i < 512; i++) {
          let src = frame * 160 - 256 + i;
          if (src < 0) src = -src;
          if (src >= x.length) src = 2 * (x.length - 1) - src;
          const v = x[src] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 512));
          re += v * Math.cos((2 * Math.PI * k * i) / 512);
          im -= v * Math.sin((2 * Math.PI * k * i) / 512);
        }
        mag.push(Math.hypot(re, im));
      }
      for (let m = 0; m < 32; m++) {
        let acc = 0;
        for (let k = 0; k <= 256; k++) {
          const f = (k * 16000) / 512;
          const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
          acc += Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid))) * mag[k];
        }
        assert.ok(Math.abs(out[frame * 32 + m] - Math.log(Math.max(acc, LOG_MEL_FLOOR))) < 1e-4, `frame ${frame} bin ${m}`);
      }
    }
  });

  it('clamps silence at ln(1e-5)', () => {
    const out = mel.compute(new Float32Array(1600));
    assert.ok(out.every((v) => Math.abs(v - Math.log(LOG_MEL_FLOOR)) < 1e-6));
  });
});
