/**
 * The README's picture of a results report (docs/report.png): index.html of `results report` opened from file:// in
 * Debian's chromium (driven by playwright-core, as test/report/reportBrowser.test.ts does), 1280 CSS pixels wide at
 * --scale device pixels each, from the top down to --below pixels under the "Sample sets" heading (the tables and
 * every plot, the start of the gallery), reduced by ffmpeg to a 64-colour palette to keep the file small.
 *
 *   node dist/bench/reportScreenshot.js --report runs/quick-spoken-mnist/report --out docs/report.png
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const CHROMIUM = '/usr/bin/chromium';

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .usage('$0 --report DIR --out FILE.png\n\nA screenshot of a results report from its top to the start of its gallery.')
    .option('report', { type: 'string', demandOption: true, describe: 'directory written by `mmdisco results report`' })
    .option('out', { type: 'string', demandOption: true, describe: 'PNG to write' })
    .option('scale', { type: 'number', default: 0.6, describe: 'device pixels per CSS pixel' })
    .option('below', { type: 'number', default: 360, describe: 'CSS pixels kept under the "Sample sets" heading' })
    .strict()
    .parse();
  const index = path.join(args.report, 'index.html');
  if (!existsSync(index)) throw new Error(`--report: no index.html in ${args.report}`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run ./setup.sh --install-only (it installs Debian's chromium)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-screenshot-'));
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: args.scale });
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    // A string: it runs in the page, and the bench compiles without the DOM's types.
    const gallery: number = await page.evaluate(
      "(() => { const h = [...document.querySelectorAll('h2')].find((e) => e.textContent === 'Sample sets'); return h ? h.getBoundingClientRect().top + window.scrollY : document.body.scrollHeight; })()",
    );
    const full = path.join(scratch, 'report.png');
    await page.screenshot({ path: full, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: gallery + args.below } });
    const ffmpeg = spawnSync('ffmpeg', [
      '-loglevel', 'error', '-y', '-i', full, '-vf', 'split[a][b];[a]palettegen=max_colors=64[p];[b][p]paletteuse=dither=none', args.out,
    ], { encoding: 'utf8' });
    if (ffmpeg.status !== 0) throw new Error(`ffmpeg (./setup.sh --install-only installs it): ${ffmpeg.error ?? ffmpeg.stderr}`);
    console.log(`→ ${args.out}`);
  } finally {
    await browser.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
