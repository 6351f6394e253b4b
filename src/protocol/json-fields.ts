/**
 * Field validators for the JSON files the engine reads (manifest.json, variants.json): each failure is one
 * 'invalid-model' SarashinaError naming the file, the field, the expected and the actual value.
 */
import { SarashinaError } from './errors';

export type Json = Record<string, unknown>;

export interface JsonFields {
  invalid(field: string, expected: string, actual: unknown): never;
  obj(v: unknown, field: string): Json;
  arr(v: unknown, field: string): unknown[];
  str(v: unknown, field: string): string;
  num(v: unknown, field: string, opts?: { int?: boolean; min?: number; positive?: boolean }): number;
  bool(v: unknown, field: string): boolean;
  oneOf<T extends string>(v: unknown, field: string, options: readonly T[]): T;
  numbers<K extends string>(o: Json, field: string, keys: readonly K[], opts?: { int?: boolean; positive?: boolean }): Record<K, number>;
}

/** Validators whose errors name `file` (e.g. 'manifest.json'). */
export function jsonFields(file: string): JsonFields {
  const invalid = (field: string, expected: string, actual: unknown): never => {
    const shown = JSON.stringify(actual)?.slice(0, 120) ?? String(actual);
    throw new SarashinaError(
      'invalid-model',
      `${file}: ${field} must be ${expected}, but it is ${shown}. The package is damaged or from an incompatible exporter; export it again.`,
      { file, field, expected, actual: shown },
    );
  };
  const num = (v: unknown, field: string, opts: { int?: boolean; min?: number; positive?: boolean } = {}): number => {
    const ok =
      typeof v === 'number' && Number.isFinite(v) && (!opts.int || Number.isInteger(v)) && (opts.min === undefined || v >= opts.min) && (!opts.positive || v > 0);
    if (!ok) invalid(field, `a finite${opts.int ? ' integer' : ' number'}${opts.positive ? ' > 0' : opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`, v);
    return v as number;
  };
  return {
    invalid,
    obj: (v, field) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(field, 'an object', v);
      return v as Json;
    },
    arr: (v, field) => {
      if (!Array.isArray(v)) invalid(field, 'an array', v);
      return v as unknown[];
    },
    str: (v, field) => {
      if (typeof v !== 'string' || v.length === 0) invalid(field, 'a non-empty string', v);
      return v as string;
    },
    num,
    bool: (v, field) => {
      if (typeof v !== 'boolean') invalid(field, 'true or false', v);
      return v as boolean;
    },
    oneOf: <T extends string>(v: unknown, field: string, options: readonly T[]): T => {
      if (!options.includes(v as T)) invalid(field, `one of ${options.join(', ')}`, v);
      return v as T;
    },
    numbers: <K extends string>(o: Json, field: string, keys: readonly K[], opts: { int?: boolean; positive?: boolean } = {}): Record<K, number> => {
      const out = {} as Record<K, number>;
      for (const k of keys) out[k] = num(o[k], `${field}.${k}`, opts);
      return out;
    },
  };
}
