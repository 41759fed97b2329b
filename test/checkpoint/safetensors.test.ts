import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../ts/checkpoint/safetensors';

describe('safetensors files', () => {
  it('round-trip F32, F64, I32 and U8 tensors through a file (reads copy out of the file buffer)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mmdisco-st-'));
    try {
      const tensors = {
        a: { data: Float32Array.of(1.5, -2, 3), shape: [3] },
        b: { data: Float64Array.of(Math.PI, 2), shape: [2, 1] },
        c: { data: Int32Array.of(-7, 8), shape: [2] },
        d: { data: Uint8Array.from({ length: 5 }, (_, i) => 250 + i), shape: [5] },
      };
      const file = path.join(dir, 'x.safetensors');
      await writeSafetensors(file, tensors, { step: '4' });
      const back = readSafetensors(file);
      assert.equal(back.metadata.step, '4');
      for (const [name, t] of Object.entries(tensors)) {
        assert.equal(back.tensors[name].data.constructor, t.data.constructor, name);
        assert.deepEqual(Array.from(back.tensors[name].data), Array.from(t.data), name);
        assert.deepEqual(back.tensors[name].shape, t.shape, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
