/**
 * Non-finite values stop work where they appear instead of spreading into checkpoints, weights and samples:
 * one NaN in a loss turns every parameter NaN within a step, and such weights sample black video and silence.
 */

interface Values {
  data: ArrayLike<number>;
}

/** The index of the first non-finite value, or −1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}

/** Throws unless every tensor holds finite values only, naming `what` and the first tensor that does not. */
export function requireFiniteTensors(what: string, tensors: Record<string, Values>): void {
  for (const [name, tensor] of Object.entries(tensors)) {
    const at = firstNonFinite(tensor.data);
    if (at < 0) continue;
    let count = 0;
    for (let i = at; i < tensor.data.length; i++) if (!Number.isFinite(tensor.data[i])) count++;
    throw new Error(`${what}: tensor '${name}' holds ${count} non-finite value(s) of ${tensor.data.length} (element ${at} is ${tensor.data[at]})`);
  }
}

/**
 * Throws at the first non-finite training quantity of `step`, naming it; the caller has not yet written that
 * step's checkpoint, so the last one on disk is intact and a run can resume from it (e.g. with a lower lr).
 */
export function requireFiniteStep(command: string, step: number, quantities: Record<string, number | Values>): void {
  for (const [name, value] of Object.entries(quantities)) {
    const data = typeof value === 'number' ? [value] : value.data;
    const at = firstNonFinite(data);
    if (at >= 0) {
      throw new Error(
        `${command}: step ${step}: ${name} is ${data[at]}; stopped before writing it, the last checkpoint is intact ` +
          '(a lower training.lr or a training.gradClip usually helps)',
      );
    }
  }
}

/**
 * Awaits a native training step of `command`. The addon stops a step at a non-finite loss term or gradient before
 * the optimiser moves a weight (MMDISCO_NON_FINITE, naming the step and the quantity); this says so as the
 * command's error, like requireFiniteStep.
 */
export async function nativeTrainingStep<T>(command: string, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MMDISCO_NON_FINITE') throw error;
    throw new Error(`${command}: ${(error as Error).message}; the last checkpoint is intact (a lower training.lr or a training.gradClip usually helps)`);
  }
}
