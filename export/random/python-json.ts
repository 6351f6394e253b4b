/**
 * JSON text the way Hugging Face writes config files (`json.dumps(d, indent=2, sort_keys=True) + "\n"`):
 * sorted keys, two-space indent, arrays one item per line, non-integer numbers in Python's float
 * repr (`1e-05`, not `0.00001`). Lets the generator reproduce the real files byte for byte.
 */

/** Python's repr of a non-integer float: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  const [mantissa = '0', exponentText = '0'] = x.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    const text = x.toString();
    return text.includes('.') || text.includes('e') ? text : `${text}.0`;
  }
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function encode(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + encode(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${encode(k, inner)}: ${encode(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** `value` as Hugging Face's config JSON text, with the trailing newline. */
export function toPythonJson(value: unknown): string {
  return `${encode(value, '')}\n`;
}
