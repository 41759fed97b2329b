import { VideoFrames } from '../ts/media/frames';
import { audioSamples, UnitSpec } from '../ts/core/unit';
import { DatasetDefinition, emptyVideo, mixInto, noiseFloor, paintMax } from './generator';
import { impactBank } from './sources/impacts';
import { MATERIALS } from '../ts/core/datasets';

/**
 * Bouncing ball with real impact sounds. A ball under gravity bounces off the side walls and a floor (drawn
 * as the bottom pixel row); at each contact the material's recorded sample is mixed in with gain
 * proportional to the impact speed. The material (8 classes) is visible as radius × brightness:
 * class m has radius BALL_RADIUS[m >> 2] and brightness BALL_BRIGHTNESS[m & 3].
 *
 * Units are pixels and seconds; pixel (row i, column j) covers [j, j+1) × [i, i+1), y grows downwards.
 * The floor surface is y = height − 1 (the top of the floor row). Motion is integrated exactly (ballistic
 * between contacts, contact times solved in closed form) in SUBSTEPS substeps per frame, so frames sample the
 * state exactly at t = k / fps.
 */
export const BALL_RADIUS = [0.1, 0.16] as const; // fraction of min(height, width)
export const BALL_BRIGHTNESS = [0.45, 0.63, 0.82, 1.0] as const;
export const FLOOR_LEVEL = 0.5;
export const RESTITUTION = [0.75, 0.9] as const;
export const SUBSTEPS = 50;
/** Gravity in frame heights per second squared: a drop of half the frame takes about 0.4 s. */
const GRAVITY_HEIGHTS = 6;
/** Floor impacts slower than this fraction of the full-height impact speed end the bouncing (ball rests). */
const REST_FRACTION = 0.05;
/** Impact gain = IMPACT_GAIN · min(1, speed / full-height impact speed); keeps overlapping impacts below clipping. */
const IMPACT_GAIN = 0.7;

export type Surface = 'floor' | 'left' | 'right';

export interface Contact {
  time: number;
  /** Normal speed at impact, px/s. */
  speed: number;
  surface: Surface;
}

export interface Trajectory {
  /** Ball centre at each frame time. */
  frames: { x: number; y: number }[];
  contacts: Contact[];
}

export interface BallParams {
  radius: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  restitution: number;
}

export function floorY(unit: UnitSpec): number {
  return unit.height - 1;
}

export function gravity(unit: UnitSpec): number {
  return GRAVITY_HEIGHTS * unit.height;
}

/** Speed of an impact after falling the whole frame height: the reference for gains and rest. */
export function fullHeightSpeed(unit: UnitSpec): number {
  return Math.sqrt(2 * gravity(unit) * unit.height);
}

/** Simulates until the end of the audio; frame positions are recorded for the video's frames. */
export function simulate(unit: UnitSpec, p: BallParams): Trajectory {
  const g = gravity(unit);
  const floor = floorY(unit) - p.radius;
  const left = p.radius;
  const right = unit.width - p.radius;
  const restSpeed = REST_FRACTION * fullHeightSpeed(unit);
  let { x, y, vx, vy } = p;
  let resting = false;
  const contacts: Contact[] = [];
  const frames: { x: number; y: number }[] = [];
  const dt = 1 / (unit.fps * SUBSTEPS);
  const totalSteps = Math.ceil(unit.durationS * unit.fps * SUBSTEPS - 1e-9);
  for (let step = 0; step < totalSteps; step++) {
    if (step % SUBSTEPS === 0 && frames.length < unit.frames) frames.push({ x, y });
    const stepStart = step * dt;
    let remaining = dt;
    // Advance through every contact inside this substep, in time order.
    for (;;) {
      const tWall = vx < 0 ? (left - x) / vx : vx > 0 ? (right - x) / vx : Infinity;
      const tFloor = resting ? Infinity : timeToReach(floor - y, vy, g);
      const tHit = Math.min(tWall, tFloor);
      if (tHit > remaining) break;
      const tau = Math.max(0, tHit);
      x += vx * tau;
      if (!resting) {
        y += vy * tau + 0.5 * g * tau * tau;
        vy += g * tau;
      }
      remaining -= tau;
      const time = stepStart + (dt - remaining);
      if (tWall <= tFloor) {
        contacts.push({ time, speed: Math.abs(vx), surface: vx < 0 ? 'left' : 'right' });
        x = vx < 0 ? left : right;
        vx = -p.restitution * vx;
      } else if (vy < restSpeed) {
        resting = true;
        y = floor;
        vy = 0;
      } else {
        contacts.push({ time, speed: vy, surface: 'floor' });
        y = floor;
        vy = -p.restitution * vy;
      }
    }
    x += vx * remaining;
    if (!resting) {
      y += vy * remaining + 0.5 * g * remaining * remaining;
      vy += g * remaining;
    }
  }
  return { frames, contacts: contacts.filter((c) => c.time < unit.durationS) };
}

/** Smallest τ > 0 with vy·τ + ½gτ² = distance (the floor below, distance ≥ 0), or Infinity. */
function timeToReach(distance: number, vy: number, g: number): number {
  if (distance <= 0 && vy > 0) return 0;
  const disc = vy * vy + 2 * g * distance;
  if (disc < 0) return Infinity;
  return (-vy + Math.sqrt(disc)) / g;
}

export const bouncingBall: DatasetDefinition = {
  name: 'bouncing-ball',
  meta: [
    { name: 'material', type: 'utf8' },
    { name: 'material_index', type: 'int32' },
    { name: 'radius_px', type: 'float32' },
    { name: 'restitution', type: 'float32' },
    { name: 'contact_times', type: 'json' },
    { name: 'contact_speeds', type: 'json' },
    { name: 'contact_surfaces', type: 'json' },
  ],
  async prepare(unit, _split, cacheDir, onBankBuild) {
    // The split only changes the seed stream: the physics and the 8 recorded samples are shared.
    const bank = await impactBank(unit.sampleRate, cacheDir, onBankBuild);
    const minSide = Math.min(unit.height, unit.width);
    const samples = audioSamples(unit);
    const refSpeed = fullHeightSpeed(unit);
    return {
      sources: { impactBank: { dir: bank.dir, digest: bank.manifest.digest, toolVersions: bank.manifest.toolVersions } },
      render(rng) {
        const material = rng.int(MATERIALS.length);
        const radius = BALL_RADIUS[material >> 2] * minSide;
        const params: BallParams = {
          radius,
          x: rng.range(radius, unit.width - radius),
          y: rng.range(radius + 0.05 * unit.height, 0.5 * unit.height),
          vx: (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.3, 1.0) * unit.width,
          vy: rng.range(-0.5, 0.5) * unit.height,
          restitution: rng.range(RESTITUTION[0], RESTITUTION[1]),
        };
        const trajectory = simulate(unit, params);
        const wave = noiseFloor(samples, rng);
        const sample = bank.audio.get(MATERIALS[material])!;
        for (const c of trajectory.contacts) {
          mixInto(wave, sample, Math.round(c.time * unit.sampleRate), IMPACT_GAIN * Math.min(1, c.speed / refSpeed));
        }
        const video = emptyVideo(unit);
        const colour = new Array<number>(unit.channels).fill(1);
        trajectory.frames.forEach((pos, t) => {
          drawFloor(video, t, colour);
          drawBall(video, t, pos.x, pos.y, radius, BALL_BRIGHTNESS[material & 3], colour);
        });
        return {
          video,
          wave,
          meta: {
            material: MATERIALS[material],
            material_index: material,
            radius_px: radius,
            restitution: params.restitution,
            contact_times: trajectory.contacts.map((c) => c.time),
            contact_speeds: trajectory.contacts.map((c) => c.speed),
            contact_surfaces: trajectory.contacts.map((c) => c.surface),
          },
        };
      },
    };
  },
};

function drawFloor(video: VideoFrames, t: number, colour: readonly number[]): void {
  for (let x = 0; x < video.width; x++) paintMax(video, t, video.height - 1, x, FLOOR_LEVEL, colour);
}

/** Anti-aliased disk: coverage of each pixel approximated by its centre's distance to the rim. */
function drawBall(video: VideoFrames, t: number, cx: number, cy: number, r: number, level: number, colour: readonly number[]): void {
  for (let y = Math.max(0, Math.floor(cy - r - 1)); y < Math.min(video.height, Math.ceil(cy + r + 1)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r - 1)); x < Math.min(video.width, Math.ceil(cx + r + 1)); x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      const coverage = Math.min(1, Math.max(0, r + 0.5 - d));
      if (coverage > 0) paintMax(video, t, y, x, coverage * level, colour);
    }
  }
}
