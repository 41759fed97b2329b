import assert from 'node:assert/strict';
import { LoopTimes } from '../../ts/util/progress';

describe('LoopTimes', () => {
  it("gives each lap's time to its phase and reports milliseconds per step, window by window", () => {
    let clock = 100;
    const times = new LoopTimes(() => clock);
    // Two steps: 3 ms waiting for data, 40 ms in the step, 1 ms of bookkeeping; then 5, 60, 9.
    for (const [data, step, other] of [[3, 40, 1], [5, 60, 9]]) {
      clock += data;
      times.lap('data');
      clock += step;
      times.lap('step');
      clock += other;
      times.lap('other');
    }
    assert.deepEqual(times.flush(), { data: 4, step: 50, other: 5 });
    // A new window starts at the flush; time before its first lap goes to that lap's phase.
    clock += 7;
    times.lap('data');
    clock += 30;
    times.lap('step');
    assert.deepEqual(times.flush(), { data: 7, step: 30, other: 0 });
    assert.deepEqual(times.flush(), { data: 0, step: 0, other: 0 }, 'an empty window reports zeros');
  });
});
