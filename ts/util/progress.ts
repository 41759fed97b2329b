/**
 * Progress bars for long phases (on stderr, with rate and ETA) and JSON-lines logs of what they did.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { isMainRank } from './ranks';

export interface Progress {
  /** Advances by `by` units and shows the given fields (e.g. the current loss). */
  update(by: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * A bar `label |████| done/total unit | rate unit/s | ETA` with optional extra fields shown after it.
 * Quiet when stderr is not a terminal and MMDISCO_PROGRESS is not set (CI logs stay readable), and on every rank of
 * a data-parallel group but the main one.
 */
export function startProgress(label: string, total: number, unit: string, fieldNames: string[] = []): Progress {
  const enabled = isMainRank() && (process.stderr.isTTY || process.env.MMDISCO_PROGRESS === '1');
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const extra = fieldNames.map((f) => ` | ${f} {${f}}`).join('');
  const bar = new SingleBar({
    format: `${label.padEnd(22)} |{bar}| {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}${extra}`,
    stream: process.stderr,
    hideCursor: false,
    etaBuffer: 50,
    barsize: 24,
    // Without a terminal, print a plain line every few seconds instead of redrawing one.
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 5000,
  });
  const started = Date.now();
  const initial = Object.fromEntries(fieldNames.map((f) => [f, '-']));
  bar.start(total, 0, { ...initial, rate: '-' });
  let done = 0;
  return {
    update(by, fields = {}) {
      done += by;
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? (done / seconds).toFixed(done / seconds >= 100 ? 0 : 1) : '-';
      const shown = Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [k, typeof v === 'number' ? formatNumber(v) : v]),
      );
      bar.update(done, { ...shown, rate });
    },
    stop() {
      bar.stop();
    },
  };
}

function formatNumber(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(4);
}

/** Appends one JSON object per line, each with a timestamp. */
export class JsonlLog {
  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  write(event: string, fields: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
  }
}

/** The entries of a JsonlLog file, in order; a line that is not JSON is named by the file and its line number. */
export function readJsonlLog(file: string): ({ event: string } & Record<string, unknown>)[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, index) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line)];
      } catch {
        throw new Error(`${file}: line ${index + 1} is not JSON`);
      }
    });
}

export type LoopPhase = 'data' | 'step' | 'other';

/**
 * Where a training loop's wall time goes, per logging window: each `lap(phase)` gives the time since the previous
 * lap to that phase. The loops lap `data` once the next batch is assembled (waiting for the readers included),
 * `step` after the native training step, and `other` after the bookkeeping (collectives of the losses, logs,
 * checkpoints). The train logs write each window as `msPerStep: { data, step, other }`; a data time near 0 means
 * the readers keep ahead of training.
 */
export class LoopTimes {
  private last: number;
  private sums = { data: 0, step: 0, other: 0 };
  private steps = 0;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.last = now();
  }

  lap(phase: LoopPhase): void {
    const now = this.now();
    this.sums[phase] += now - this.last;
    this.last = now;
    if (phase === 'step') this.steps++;
  }

  /** Milliseconds per step of each phase since the last flush, then starts a new window. */
  flush(): Record<LoopPhase, number> {
    const n = Math.max(this.steps, 1);
    const out = { data: this.sums.data / n, step: this.sums.step / n, other: this.sums.other / n };
    this.sums = { data: 0, step: 0, other: 0 };
    this.steps = 0;
    return out;
  }
}
