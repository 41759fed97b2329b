/**
 * `results report` on a partial run: it writes what is there (contact sheets, provenance) and names the missing
 * tables, and on a table written before each pair's alignment score was kept and a variant not probed, it names
 * those; a --work that does not exist fails naming the flag. The per-pair plot's empirical CDF against its closed form.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { empiricalCdf } from '../../ts/pipeline/resultsReport';
import type { ResultsTable } from '../../ts/pipeline/results';
import { mmdisco } from '../fixtures/cli';
import { resultsRow } from '../fixtures/resultsTable';

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

  it('names the per-pair scores a table lacks and the variants not probed, and plots what it has', () => {
    const work = path.join(dir, 'work-without-scores');
    mkdirSync(path.join(work, 'guidance-B'), { recursive: true });
    const table = (rows: ResultsTable['rows']): ResultsTable => ({
      config: 'configs/results/synthetic.json', work, baseParameters: 1000, discriminators: { B: { parameters: 100, fractionOfBases: 0.1 } }, timings: {}, rows,
    });
    const report = (rows: ResultsTable['rows'], out: string) => {
      writeFileSync(path.join(work, 'results.json'), JSON.stringify(table(rows)));
      writeFileSync(path.join(work, 'results.md'), '# synthetic\n');
      const result = mmdisco('results', 'report', '--work', work, '--out', path.join(dir, out));
      assert.equal(result.status, 0, result.stderr);
      return { stderr: result.stderr, index: readFileSync(path.join(dir, out, 'index.html'), 'utf8') };
    };

    // A table written before the scores were kept: no row has them.
    const old = report([resultsRow('real test', null, null, 10, null), resultsRow('independent', null, null, 60, null), resultsRow('B λ=1', 'B', 1, 55, null)], 'report-old');
    assert.match(old.stderr, /missing: per-pair alignment scores of real test, independent, B λ=1 \(.*the per-pair distribution plot is left out\)/);
    assert.match(old.stderr, /missing: probe-B\.json \(variant B not probed/);
    assert.doesNotMatch(old.index, /plots\/per-pair-|plots\/probe-/);
    assert.match(old.index, /<li>per-pair alignment scores of real test/);

    // Scores on some rows: those are plotted, the others named.
    const partial = report([resultsRow('real test', null, null, 10, null, [1, 1, 0, 1]), resultsRow('independent', null, null, 60, null), resultsRow('B λ=1', 'B', 1, 55, null, [1, 0, 0, 1])], 'report-partial');
    assert.match(partial.stderr, /missing: per-pair alignment scores of independent \(.*left out of the per-pair distribution plot\)/);
    assert.match(partial.index, /<img src="plots\/per-pair-classAgreement\.png"/);
  });

  it('draws the empirical CDF of scores in [0, 1] as its steps, from 0 below them to 1 above', () => {
    assert.deepEqual(empiricalCdf([1, 0, 1, 1]), { x: [-0.05, 0, 0, 1, 1, 1.05], y: [0, 0, 0.25, 0.25, 1, 1] });
    assert.deepEqual(empiricalCdf([0.5, 0.25]), { x: [-0.05, 0.25, 0.25, 0.5, 0.5, 1.05], y: [0, 0, 0.5, 0.5, 1, 1] });
  });

  it('fails naming --work when it does not exist', () => {
    const result = mmdisco('results', 'report', '--work', path.join(dir, 'absent'), '--out', path.join(dir, 'r2'));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--work: .*absent does not exist/);
  });
});
