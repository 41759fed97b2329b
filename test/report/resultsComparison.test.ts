/**
 * `results compare` (ts/pipeline/resultsComparison.ts): the standard error of an alignment difference against its
 * closed form (per-pair scores of either side, the binomial form for class agreement, none for onset F1 without
 * scores), the verdicts on both sides of the noise bound, the sets only one table holds, and the command on a work
 * directory and a report's results.json, failing with the flag and file on bad input.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultsTable, Row } from '../../ts/pipeline/results';
import { compareResults, comparisonTable, verdictOf } from '../../ts/pipeline/resultsComparison';
import { mmdisco } from '../fixtures/cli';
import { resultsRow } from '../fixtures/resultsTable';

/** A row whose class agreement is the mean of its per-pair scores (kept on the row only when `keep`). */
function scored(name: string, agreements: number[], keep = true, frechet = 50): Row {
  const row = resultsRow(name, null, null, frechet, null, keep ? agreements : undefined);
  const classAgreement = agreements.reduce((a, b) => a + b, 0) / agreements.length;
  return { ...row, metrics: { ...row.metrics, pairs: agreements.length, classAgreement } };
}

const table = (rows: Row[]): ResultsTable => ({
  config: 'configs/results/synthetic.json', work: 'w', baseParameters: 1000, discriminators: {}, timings: {}, rows,
});

describe('results compare', () => {
  it('takes the standard error from per-pair scores, either side, or the binomial form, and judges against 2 SE', () => {
    const recorded = table([
      scored('real test', [1, 1, 0, 1]),
      scored('independent', [0, 1, 0, 1], false),
      scored('B λ=1', [0, 1, 0, 1], false),
      scored('B λ=4', [1, 1, 1, 1]),
      scored('only recorded', [1, 0, 1, 0]),
    ]);
    const reproduced = table([
      scored('real test', [1, 1, 0, 1]),
      scored('independent', [1, 1, 0, 1]),
      scored('B λ=1', [0, 1, 1, 1], false),
      scored('B λ=4', [0, 0, 0, 0]),
      scored('only reproduced', [1, 0, 1, 0]),
    ]);
    const comparison = compareResults(recorded, reproduced);
    assert.equal(comparison.alignment, 'class agreement');
    assert.deepEqual(comparison.onlyRecorded, ['only recorded']);
    assert.deepEqual(comparison.onlyReproduced, ['only reproduced']);
    const [real, independent, b1, b4] = comparison.rows;
    assert.equal(verdictOf(real), 'identical');

    // [1, 1, 0, 1]: sample variance 0.25, so each mean's variance 0.25 / 4; the recorded row borrows that spread.
    assert.ok(Math.abs(independent.alignment.difference - 0.25) < 1e-12);
    assert.ok(Math.abs(independent.alignment.stdErr! - Math.sqrt(2 * 0.0625)) < 1e-12);
    assert.equal(verdictOf(independent), 'within noise');

    // Neither side keeps scores: p(1 − p)/(n − 1) each, 0.25/3 and 0.1875/3.
    assert.ok(Math.abs(b1.alignment.stdErr! - Math.sqrt((0.25 + 0.1875) / 3)) < 1e-12);
    assert.equal(verdictOf(b1), 'within noise');
    // Taken the other way round, both Δ and Δ/SE print their sign with a real minus.
    const reversed = comparisonTable(compareResults(reproduced, recorded), 'b', 'a').rows.find((r) => r[0] === 'B λ=1')!;
    assert.deepEqual(reversed.slice(2, 4), ['−0.250', `−${(0.25 / Math.sqrt(0.4375 / 3)).toFixed(2)}`]);

    // Every pair agrees in one and none in the other: no spread, a difference of 1.
    assert.equal(b4.alignment.stdErr, 0);
    assert.equal(b4.alignment.difference, -1);
    assert.equal(verdictOf(b4), 'differs');

    // A fidelity metric moved alone: no longer identical, the alignment still decides.
    const moved = compareResults(table([scored('real test', [1, 1, 0, 1])]), table([scored('real test', [1, 1, 0, 1], true, 51)]));
    assert.deepEqual(moved.rows[0].frechet.audio, [50, 51]);
    assert.equal(verdictOf(moved.rows[0]), 'within noise');
  });

  it('gives onset F1 without per-pair scores no standard error', () => {
    const onset = (name: string, f1: number): Row => {
      const row = resultsRow(name, null, null, 50, null);
      return { ...row, metrics: { ...row.metrics, onsetF1: f1 } };
    };
    const comparison = compareResults(table([onset('independent', 0.5)]), table([onset('independent', 0.52)]));
    assert.equal(comparison.alignment, 'onset F1');
    assert.equal(comparison.rows[0].alignment.stdErr, null);
    assert.equal(verdictOf(comparison.rows[0]), 'no standard error');
  });

  describe('the command', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-results-compare-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("compares a work directory with a report's results.json and writes the Markdown", () => {
      const work = path.join(dir, 'work');
      mkdirSync(work);
      writeFileSync(path.join(work, 'results.json'), JSON.stringify(table([scored('real test', [1, 1, 0, 1]), scored('independent', [1, 1, 0, 1])])));
      const recorded = path.join(dir, 'report-results.json');
      writeFileSync(recorded, JSON.stringify({ work: 'w', missing: [], table: table([scored('real test', [1, 1, 0, 1]), scored('independent', [0, 0, 0, 0])]) }));
      const out = path.join(dir, 'comparison.md');
      const result = mmdisco('results', 'compare', '--tables', work, '--against', recorded, '--out', out);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /\| real test \| 0\.750 → 0\.750 \| \+0\.000 \| \+0\.00 \|.*\| identical \|/);
      assert.match(result.stdout, /\| independent \| 0\.000 → 0\.750 \| \+0\.750 \| \+3\.00 \|.*\| differs \|/);
      assert.match(result.stderr, /1 identical, 0 within noise, 1 differ, of 2 shared sets/);
      assert.equal(readFileSync(out, 'utf8').trim(), result.stdout.trim());
    });

    it('fails naming the flag and file on a missing file, a table without rows, or no shared set', () => {
      const missing = mmdisco('results', 'compare', '--tables', path.join(dir, 'work'), '--against', path.join(dir, 'absent.json'));
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /--against: .*absent\.json does not exist/);

      const partial = path.join(dir, 'partial.json');
      writeFileSync(partial, JSON.stringify({ work: 'w', missing: ['results.json'], table: null }));
      const noRows = mmdisco('results', 'compare', '--tables', partial, '--against', path.join(dir, 'work'));
      assert.equal(noRows.status, 1);
      assert.match(noRows.stderr, /--tables: .*partial\.json holds no results table/);

      const other = path.join(dir, 'other.json');
      writeFileSync(other, JSON.stringify(table([scored('elsewhere', [1, 0])])));
      const disjoint = mmdisco('results', 'compare', '--tables', other, '--against', path.join(dir, 'work'));
      assert.equal(disjoint.status, 1);
      assert.match(disjoint.stderr, /share no set/);
    });
  });
});
