/**
 * Op profiles of a training step, native (the trainers' profileSteps) and reference (torch.profiler, in
 * bench/reference/discriminator_step.py's top_ops), in one shape: the top ops per step, printed side by side.
 */
import { tensor, type OpTime, type Tensor } from '../ts/native';

/** Steps each profile covers, after a warm-up step. */
export const PROFILE_STEPS = 3;
const TOP_OPS = 12;

export interface TopOp {
  name: string;
  selfMsPerStep: number;
  /** Of the profile's total self time. */
  share: number;
  calls: number;
}

/** The largest ops of a profile of `steps` steps, per step. */
export function topOps(ops: OpTime[], steps = PROFILE_STEPS): TopOp[] {
  const total = ops.reduce((sum, op) => sum + op.selfMs, 0) || 1;
  return ops.slice(0, TOP_OPS).map((op) => ({ name: op.name, selfMsPerStep: op.selfMs / steps, share: op.selfMs / total, calls: Math.round(op.calls / steps) }));
}

/** `k` copies of t's rows, one after the other: the data of k training steps on the same batch. */
export function repeatRows<T extends Tensor>(t: T, k = PROFILE_STEPS): T {
  const data = new Float32Array(t.data.length * k);
  for (let i = 0; i < k; i++) data.set(t.data, i * t.data.length);
  return tensor(data, [t.shape[0] * k, ...t.shape.slice(1)]) as T;
}

export function printTopOps(title: string, native: TopOp[], reference: TopOp[]): void {
  console.log(`\n${title}, ms per step:`);
  const side = (op?: TopOp) => (op ? `${op.selfMsPerStep.toFixed(2).padStart(9)}  ${op.name}` : '').padEnd(58);
  for (let i = 0; i < Math.max(native.length, reference.length); i++) console.log(`${side(native[i])}  ${side(reference[i])}`);
}
