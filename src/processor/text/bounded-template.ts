/**
 * Renders a chat template with bounded work. A model package is downloaded from anywhere, so its
 * chat_template.json is untrusted input: `@huggingface/jinja` already keeps templates away from JavaScript
 * objects (attribute access reads only the values it was given, `''.constructor` is undefined), but it has no
 * bound on work — `{% for i in range(10**9) %}` builds a billion-element array, nested loops or a value doubled in
 * a loop run for minutes or exhaust memory, and all of it would freeze the engine's worker with no error.
 *
 * Here every evaluated node counts one step and every evaluated list one step per item (so nested loops count
 * their iterations), `range()` refuses long ranges before building them, and no string or list a template builds
 * may pass a length cap. Past a limit → `TemplateLimitError`, which the caller reports as
 * `invalid-model` (the package's template is at fault, not the request). The limits are far above what a chat
 * template needs: Sarashina's renders a 2,000-message chat in under 80,000 steps (bounded-template.test.ts), and the
 * worst a template can do within them costs about a second of CPU.
 */
import { Environment, Interpreter, type Template } from '@huggingface/jinja';

export interface TemplateLimits {
  /** Nodes evaluated per render at most. */
  readonly maxSteps: number;
  /** Longest string or list a template may build (characters / items). */
  readonly maxValueLength: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = { maxSteps: 100_000, maxValueLength: 1024 * 1024 };

/** A template went past `TemplateLimits` (a loop too long, a value too large). */
export class TemplateLimitError extends Error {
  override readonly name = 'TemplateLimitError';
}

type Statement = Parameters<Interpreter['evaluate']>[0];
type RuntimeValue = ReturnType<Interpreter['evaluate']>;

class BoundedInterpreter extends Interpreter {
  private steps = 0;

  constructor(
    env: Environment,
    private readonly limits: TemplateLimits,
  ) {
    super(env);
  }

  override evaluate(statement: Statement, environment: Environment): RuntimeValue {
    this.charge(1);
    const result = super.evaluate(statement, environment);
    const value: unknown = result.value;
    const length = typeof value === 'string' || Array.isArray(value) ? value.length : 0;
    if (length > this.limits.maxValueLength) {
      throw new TemplateLimitError(`it built a value of ${length} characters or items (at most ${this.limits.maxValueLength})`);
    }
    // A list costs a step per item each time it is evaluated: a `for` loop evaluates its list once and then iterates it
    // without evaluating anything when its body is empty, so nested loops over long lists cost no steps otherwise.
    if (Array.isArray(value)) this.charge(value.length);
    return result;
  }

  private charge(steps: number): void {
    this.steps += steps;
    if (this.steps > this.limits.maxSteps) {
      throw new TemplateLimitError(`it ran past ${this.limits.maxSteps} steps (a loop that does not end, or one far longer than a chat needs)`);
    }
  }
}

/**
 * Renders `template` with `items` as its variables, within `limits`. The globals are Jinja's usual ones
 * (`true`/`True`, `none`/`None`, `raise_exception`, `range`, `strftime_now`); `range` refuses more than
 * `maxValueLength` items. Throws `TemplateLimitError` past a limit, and whatever the template raises otherwise.
 */
export function renderBounded(template: Template, items: Readonly<Record<string, unknown>>, limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS): string {
  const env = new Environment();
  env.set('false', false);
  env.set('true', true);
  env.set('none', null);
  env.set('False', false);
  env.set('True', true);
  env.set('None', null);
  env.set('raise_exception', (message: unknown) => {
    throw new Error(String(message));
  });
  env.set('range', (start: number, stop?: number, step = 1) => boundedRange(start, stop, step, limits.maxValueLength));
  env.set('strftime_now', (format: string) => strftimeNow(String(format)));
  for (const [key, value] of Object.entries(items)) env.set(key, value);
  const result: unknown = new BoundedInterpreter(env, limits).run(template.parsed).value;
  return typeof result === 'string' ? result : String(result);
}

/** Python's range(start, stop, step) as a list, refusing one longer than `maxLength` before building it. */
function boundedRange(start: number, stop: number | undefined, step: number, maxLength: number): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (![from, to, step].every(Number.isInteger)) throw new Error(`range() takes integers, got (${from}, ${to}, ${step})`);
  if (step === 0) throw new Error('range() step must not be zero');
  const length = Math.max(0, Math.ceil((to - from) / step));
  if (length > maxLength) throw new TemplateLimitError(`it asked for range() of ${length} items (at most ${maxLength})`);
  return Array.from({ length }, (_, i) => from + i * step);
}

const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The date directives chat templates use (Llama 3's "%d %b %Y"): %Y %m %d %b %B %H %M %S %%. */
function strftimeNow(format: string): string {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const month = MONTHS_LONG[now.getMonth()] ?? '';
  const directives: Record<string, string> = {
    '%Y': String(now.getFullYear()),
    '%m': pad(now.getMonth() + 1),
    '%d': pad(now.getDate()),
    '%b': month.slice(0, 3),
    '%B': month,
    '%H': pad(now.getHours()),
    '%M': pad(now.getMinutes()),
    '%S': pad(now.getSeconds()),
    '%%': '%',
  };
  return format.replace(/%[YmdbBHMS%]/g, (d) => directives[d] ?? d);
}
