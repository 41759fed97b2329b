/**
 * A joint base model directory's joint.json: one external ε-model of both modalities (e.g. MM-Diffusion's U-Net
 * exported to TorchScript) with what this project needs to sample from it: the module's argument order, the
 * per-sample shapes, the schedule it was trained with and how its outputs become media.
 */
import { z } from 'zod';
import { positiveInt, positiveNumber } from './load';
import { ScheduleSchema } from './baseModel';

const shape = z.array(positiveInt).min(1);

export const JointBaseSchema = z
  .object({
    /** The TorchScript file, relative to the directory: forward(x_a, x_b, t) → (ε_a, ε_b). */
    module: z.string().min(1),
    /** The modalities in the module's input (and output) order. */
    arguments: z
      .tuple([z.enum(['audio', 'video']), z.enum(['audio', 'video'])])
      .refine(([a, b]) => a !== b, 'must name audio and video once each'),
    /** Per-sample shapes: audio (channels, samples) waveform, video (frames, 3, height, width). */
    shapes: z.object({ audio: shape, video: shape.length(4) }).strict(),
    /** The batch size a traced module is specialised to (every sampler call then uses it); absent: any. */
    batch: positiveInt.optional(),
    schedule: ScheduleSchema,
    dtype: z.enum(['float32', 'float64']).default('float32'),
    /** Data range [−1, 1] for both; the audio is a waveform at this rate, the video plays at this frame rate. */
    media: z.object({ sampleRate: positiveInt, fps: positiveNumber }).strict(),
  })
  .strict();

export type JointBaseConfig = z.infer<typeof JointBaseSchema>;
export const JOINT_BASE_FILE = 'joint.json';
