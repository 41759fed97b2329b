/**
 * `results report` on a partial run: it writes what is there (contact sheets, provenance) and names the missing
 * tables; a --work that does not exist fails naming the flag.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mmdisco } from '../fixtures/cli';

describe('results report', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-results-report-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a partial run: contact sheets copied, the missing tables named', () => {
    const work = path.join(dir, 'work');
    mkdirSync(path.join(work, 'independent-media'), { recursive: true });
    // The report copies sheets byte for byte; the bytes need not decode.
    writeFileSync(path.join(work, 'independent-media', 'contact.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const out = path.join(dir, 'report');
    const result = mmdisco('results', 'report', '--work', work, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /missing: results\.json .*stages present: independent-media/);
    const index = readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.match(index, /<img src="assets\/independent-media\/contact\.png"/);
    assert.match(index, /<h2>Missing<\/h2>/);
    assert.deepEqual(readFileSync(path.join(out, 'assets', 'independent-media', 'contact.png')), readFileSync(path.join(work, 'independent-media', 'contact.png')));
    assert.equal(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')).table, null);
  });

  it('fails naming --work when it does not exist', () => {
    const result = mmdisco('results', 'report', '--work', path.join(dir, 'absent'), '--out', path.join(dir, 'r2'));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--work: .*absent does not exist/);
  });
});
