import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBank } from '../../datasets/sources/bank';
import { speechRecipes } from '../../datasets/sources/speech';
import { writeWav } from '../../ts/media/wav';

describe('clip banks', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mmdisco-bank-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("renders an espeak-ng clip the same on a user's first run as on later ones", async () => {
    // A user with no PulseAudio state yet: the first espeak-ng run creates it, which used to shift the
    // clip's breath noise (the clip that differed in a rebuilt bank).
    const keys = ['HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'PULSE_RUNTIME_PATH'];
    const saved = keys.map((key) => process.env[key]);
    for (const key of keys) delete process.env[key];
    process.env.HOME = join(dir, 'home');
    mkdirSync(process.env.HOME);
    try {
      const recipe = speechRecipes(16000).find((r) => r.id === 'espeak_en_us_f3_p35_s140_0');
      assert.ok(recipe, 'the recipe of espeak:en-us+f3:p35:s140 "zero"');
      const render = async (name: string): Promise<Buffer> => {
        const scratch = join(dir, `${name}.scratch`);
        mkdirSync(scratch);
        await recipe.render(join(dir, `${name}.wav`), scratch);
        return readFileSync(join(dir, `${name}.wav`));
      };
      const first = await render('first');
      const second = await render('second');
      assert.ok(first.equals(second), 'the first and the second render differ');
    } finally {
      keys.forEach((key, i) => (saved[i] === undefined ? delete process.env[key] : (process.env[key] = saved[i])));
    }
  });

  it('refuses to build a bank whose clip renders differently twice, naming the clip', async () => {
    let calls = 0;
    const flaky = {
      id: 'flaky_clip',
      facts: {},
      key: 'noise',
      render: (out: string) => writeWav(out, { sampleRate: 16000, samples: Float32Array.from({ length: 64 }, () => (++calls % 7) / 10) }),
    };
    await assert.rejects(ensureBank('flaky', 16000, [flaky], dir), /bank flaky: clip flaky_clip \(noise\) rendered twice gives different samples/);
  });
});
