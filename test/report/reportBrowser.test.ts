/**
 * The page of `results report` opened from file:// in a headless browser (Debian's chromium driven by playwright-core,
 * which downloads no browser): on a synthetic work directory (a results table with each pair's class agreement, one
 * variant's training log and probe, contact sheets, an H.264/AAC mp4), its tables hold the table's rows, every image decodes, every video loads its metadata,
 * no request leaves file:// and nothing is logged as an error. Debian's chromium decodes H.264/AAC (with its bundled
 * ffmpeg), so the videos are loaded, not only asked canPlayType.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { contactSheetPng } from '../../ts/media/png';
import type { ProbeRecord, ResultsTable } from '../../ts/pipeline/results';
import { mmdisco } from '../fixtures/cli';
import { resultsRow as row } from '../fixtures/resultsTable';

const CHROMIUM = '/usr/bin/chromium';

/** A clip of `frames` grey ramps as a contact sheet PNG. */
function sheet(frames: number): Buffer {
  const [height, width] = [8, 12];
  const data = new Uint8Array(frames * height * width).map((_, i) => (i * 7) % 256);
  return contactSheetPng([{ frames, channels: 1, height, width, data }], { scale: 2 });
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(12, 16).toString('ascii'), 'IHDR', `${file} is a PNG`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('results report in a browser', function () {
  // Starting the browser takes seconds, more than mocha's default allows.
  this.timeout(60_000);
  let dir: string;
  let browser: Browser;
  const rows = [
    row('real test', null, null, 10, null, [1, 1, 1, 0]),
    row('independent', null, null, 60, 'independent-media', [0, 0, 1, 0]),
    row('B λ=1', 'B', 1, 55, 'sample-B-1', [1, 0, 1, 0]),
    row('B λ=4', 'B', 4, 50, 'sample-B-4', [1, 1, 1, 0]),
    row('B-bce λ=1', 'B-bce', 1, 57, 'sample-B-bce-1', [0, 1, 0, 0]),
  ];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run ./setup.sh --install-only (it installs Debian's chromium)`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-report-browser-'));
    const work = path.join(dir, 'work');
    const results: ResultsTable = {
      config: 'configs/results/synthetic.json',
      work,
      baseParameters: 1000,
      discriminators: { B: { parameters: 100, fractionOfBases: 0.1 }, 'B-bce': { parameters: 100, fractionOfBases: 0.1 } },
      timings: { independent: 1 },
      rows,
    };
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, 'results.json'), JSON.stringify(results));
    writeFileSync(path.join(work, 'results.md'), '# synthetic\n');
    // B has a training log; B-bce has none, which the page names as missing.
    mkdirSync(path.join(work, 'guidance-B'));
    writeFileSync(
      path.join(work, 'guidance-B', 'log.jsonl'),
      [{ event: 'start', step: 0 }, ...[10, 20, 30].map((step) => ({ event: 'train', step, bce: 1.4 - step / 100, denoising: 0.1, dReal: 0.5 + step / 100, dFake: 0.5 - step / 100 }))]
        .map((entry) => JSON.stringify(entry))
        .join('\n') + '\n',
    );
    // B is probed; B-bce is not, which the page names as missing.
    const probe: ProbeRecord = { guidance: 'guidance-B', data: 'real-test', pairs: 4, timesteps: [50, 300, 600], meanLogit: { matched: [2, 1, 0.5], shuffled: [-1, 0, 0.4] } };
    writeFileSync(path.join(work, 'probe-B.json'), JSON.stringify(probe));
    for (const media of ['independent-media', 'sample-B-1', 'sample-B-4', 'sample-B-bce-1']) {
      mkdirSync(path.join(work, media));
      writeFileSync(path.join(work, media, 'contact.png'), sheet(3));
    }
    // One second of H.264 video with AAC sound, like guided sampling's media (ts/media/mp4.ts).
    const ffmpeg = spawnSync('ffmpeg', [
      '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', path.join(work, 'sample-B-1', 'sample-000.mp4'),
    ], { encoding: 'utf8' });
    assert.equal(ffmpeg.status, 0, `ffmpeg (./setup.sh --install-only installs it): ${ffmpeg.error ?? ffmpeg.stderr}`);

    const report = mmdisco('results', 'report', '--work', work, '--out', path.join(dir, 'report'));
    assert.equal(report.status, 0, report.stderr);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the tables, decodes every plot and sheet, loads every video, fetches nothing outside file:// and logs no error', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
    page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
    await page.goto(pathToFileURL(path.join(dir, 'report', 'index.html')).href, { waitUntil: 'load' });

    const tableSets = await page.$$eval('.wide table tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    assert.deepEqual(tableSets, rows.map((r) => r.name));
    // The paper's tables (ts/pipeline/resultsTables.ts): each with its rows, none with an empty cell.
    const paperTables = await page.$$eval('div.paper', (divs) =>
      divs.map((div) => ({
        title: div.getAttribute('data-title'),
        sets: [...div.querySelectorAll('tbody tr')].map((tr) => tr.querySelector('td')?.textContent),
        emptyCells: [...div.querySelectorAll('td')].filter((td) => !td.textContent?.trim()).length,
      })),
    );
    assert.deepEqual(paperTables.map((t) => [t.title, t.sets]), [
      ['Main', ['real test', 'independent', 'B λ=1', 'B-bce λ=1']],
      ['Variants at λ=1', ['independent', 'B λ=1', 'B-bce λ=1']],
      ['B: λ', ['independent', 'B λ=1', 'B λ=4']],
      ['Cost', ['base models (audio + video)', 'discriminator B', 'discriminator B-bce']],
    ]);
    for (const t of paperTables) assert.equal(t.emptyCells, 0, `${t.title} has empty cells`);
    const missing = await page.$$eval('h2 + ul li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.ok(missing.some((m) => m.startsWith('guidance-B-bce/log.jsonl')), `missing: ${JSON.stringify(missing)}`);
    assert.ok(missing.some((m) => m.startsWith('probe-B-bce.json')), `missing: ${JSON.stringify(missing)}`);
    assert.ok(!missing.some((m) => m.startsWith('probe-B.json') || m.startsWith('per-pair')), `missing: ${JSON.stringify(missing)}`);

    const images = await page.$$eval('img', (imgs) => imgs.map((img) => ({ src: img.getAttribute('src') ?? '', width: img.naturalWidth })));
    for (const image of images) assert.ok(image.width > 0, `${image.src} does not decode`);
    const sources = images.map((image) => image.src);
    // A sweep plot per metric of the table (all but the pair count and the null ones: 5 per modality and class agreement), four training curves, a sheet per set.
    assert.equal(sources.filter((src) => src.startsWith('plots/sweep-')).length, 11);
    assert.deepEqual(sources.filter((src) => src.startsWith('plots/training-')).sort(), ['bce', 'dFake', 'dReal', 'denoising'].map((k) => `plots/training-${k}.png`));
    assert.equal(sources.filter((src) => src.endsWith('/contact.png')).length, 4);
    // The per-pair distribution of the real, independent and each variant's best set, and the probe of B.
    assert.deepEqual(sources.filter((src) => src.startsWith('plots/per-pair-') || src.startsWith('plots/probe-')), ['plots/per-pair-classAgreement.png', 'plots/probe-logit-drop.png']);

    // A string: it runs in the page, and the tests compile without the DOM's types.
    await page.waitForFunction("[...document.querySelectorAll('video')].every((video) => video.readyState >= 1 || video.error)", null, { timeout: 20_000 });
    const videos = await page.$$eval('video', (vs) =>
      vs.map((video) => ({ src: video.getAttribute('src'), readyState: video.readyState, duration: video.duration, error: video.error ? `MediaError ${video.error.code} ${video.error.message}` : null, label: video.closest('figure')?.textContent })),
    );
    assert.deepEqual(videos.map((v) => [v.src, v.label]), [['assets/sample-B-1/sample-000.mp4', 'B λ=1: pair 0']]);
    for (const video of videos) {
      assert.equal(video.error, null, `${video.src}: ${video.error}`);
      assert.ok(video.readyState >= 1 && Number.isFinite(video.duration) && video.duration > 0, `${video.src}: ${JSON.stringify(video)}`);
    }

    assert.ok(requests.length > 0);
    assert.deepEqual(requests.filter((url) => !url.startsWith('file://')), []);
    assert.deepEqual(errors, []);

    const screenshot = path.join(dir, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    const size = pngSize(screenshot);
    assert.equal(size.width, 1280);
    assert.ok(size.height > 800, `a full-page screenshot taller than the viewport, got ${size.height}`);
    assert.ok(statSync(screenshot).size > 10_000, `screenshot of ${statSync(screenshot).size} bytes`);
    await page.close();
  });
});
