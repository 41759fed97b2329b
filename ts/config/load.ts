/**
 * Config files: JSON validated by one zod schema per config kind, with command-line overrides
 * (`--set path.to.key=value`) applied before validation, so every error names the file and the field
 * and nothing runs on a bad config.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Applies `key.path=value` overrides; values parse as JSON when they can (numbers, booleans, arrays), else strings. */
export function applyOverrides(config: unknown, overrides: string[], source: string): unknown {
  const root = structuredClone(config) as Record<string, unknown>;
  for (const override of overrides) {
    const eq = override.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: --set expects key=value, got '${override}'`);
    const keys = override.slice(0, eq).split('.');
    const raw = override.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node: Record<string, unknown> = root;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new ConfigError(`${source}: --set ${override}: '${key}' is not a section of the config`);
      }
      node = next as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return root;
}

/**
 * Validates `value` with `schema`; the error lists every problem as `source: field.path: message`, followed by
 * `(from --set key=value)` where an override set (or added) the field.
 */
export function validateConfig<S extends z.ZodTypeAny>(schema: S, value: unknown, source: string, overrides: string[] = []): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const override = overrideBehind(issue, overrides);
      return `${source}: ${field}: ${issue.message}${override ? ` (from --set ${override})` : ''}`;
    });
    throw new ConfigError(problems.join('\n'));
  }
  return result.data;
}

/** The override that set the field of `issue` (or the unknown key it reports), if one did. */
function overrideBehind(issue: z.ZodIssue, overrides: string[]): string | undefined {
  const fields = issue.code === z.ZodIssueCode.unrecognized_keys ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
  const names = fields.map((field) => field.join('.'));
  return overrides.find((override) => {
    const key = override.slice(0, override.indexOf('='));
    return names.some((name) => key === name || key.startsWith(`${name}.`) || name.startsWith(`${key}.`));
  });
}

/** Reads a JSON config file, applies overrides and validates it. */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, file: string, overrides: string[] = []): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read config (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return validateConfig(schema, applyOverrides(parsed, overrides, file), file, overrides);
}

/** Common field schemas. */
export const positiveInt = z.number().int().positive();
export const nonNegativeInt = z.number().int().nonnegative();
export const positiveNumber = z.number().positive();
/** [tMin, tMax]: two diffusion steps, inclusive (that they lie below the schedule's T is checked against the models). */
export const timestepRange = z.tuple([nonNegativeInt, nonNegativeInt]).refine(([lo, hi]) => lo <= hi, 'tMin must not exceed tMax');

/** AdamW settings shared by the training configs (spread into their `training` objects). */
export const adamWFields = {
  lr: positiveNumber,
  weightDecay: z.number().nonnegative(),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  /** Maximum global gradient norm; 0 disables clipping. */
  gradClip: z.number().nonnegative(),
};
