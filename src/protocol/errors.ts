/**
 * The one error type the engine throws. Every failure a user can meet has a stable `code`, a message
 * that says what happened (with the value), what to do, and a docs anchor. `SarashinaError.fromJSON`
 * rebuilds it on the far side of a worker boundary, so the code and details survive the trip.
 */

export const ERROR_CODES = [
  'webgpu-unavailable',
  'worker-unavailable',
  'gpu-feature-missing',
  'gpu-limits-too-low',
  'device-lost',
  'out-of-memory',
  'storage-quota-exceeded',
  'download-failed',
  'integrity-mismatch',
  'invalid-request',
  'invalid-model',
  'image-too-large',
  'context-overflow',
  'aborted',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** JSON-safe details: values that explain the failure (the field, the expected and the actual value). */
export type ErrorDetails = Record<string, string | number | boolean | null | readonly (string | number)[]>;

export interface SerializedError {
  readonly name: 'SarashinaError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

const DOCS_BASE = 'https://github.com/sarashina-webgpu/sarashina-webgpu/blob/main/docs/errors.md';

export class SarashinaError extends Error {
  override readonly name = 'SarashinaError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** Where to read more about this code. */
  get docsUrl(): string {
    return `${DOCS_BASE}#${this.code}`;
  }

  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: SerializedError): SarashinaError {
    return new SarashinaError(data.code, data.message, data.details);
  }

  static isSerialized(value: unknown): value is SerializedError {
    if (typeof value !== 'object' || value === null) return false;
    const v = value as Partial<SerializedError>;
    return v.name === 'SarashinaError' && typeof v.message === 'string' && ERROR_CODES.includes(v.code as ErrorCode);
  }
}

/** Narrowing helper for catch blocks. */
export function isSarashinaError(e: unknown, code?: ErrorCode): e is SarashinaError {
  return e instanceof SarashinaError && (code === undefined || e.code === code);
}
