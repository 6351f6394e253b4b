/**
 * A small Markdown subset for assistant answers, parsed into a tree (no HTML anywhere): paragraphs with
 * line breaks, **bold**, *italic*, `code`, fenced code blocks, bullet and numbered lists, # headings and
 * [links](https://…). Raw HTML is plain text. Streaming-friendly: an unclosed fence runs to the end of the
 * text, an unclosed `**` or `*` stays literal, so a half-written answer renders sensibly at every token.
 */

export type MarkdownInline =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'code'; readonly text: string }
  | { readonly kind: 'strong'; readonly children: readonly MarkdownInline[] }
  | { readonly kind: 'em'; readonly children: readonly MarkdownInline[] }
  | { readonly kind: 'link'; readonly href: string; readonly children: readonly MarkdownInline[] }
  | { readonly kind: 'break' };

export type MarkdownBlock =
  | { readonly kind: 'paragraph'; readonly children: readonly MarkdownInline[] }
  | { readonly kind: 'heading'; readonly level: number; readonly children: readonly MarkdownInline[] }
  | { readonly kind: 'code-block'; readonly language: string; readonly text: string }
  | { readonly kind: 'list'; readonly ordered: boolean; readonly start: number; readonly items: readonly (readonly MarkdownInline[])[] };

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;

/** Parses `source` into blocks. Never throws; any input renders as something (worst case: literal text). */
export function parseMarkdown(source: string): MarkdownBlock[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: MarkdownBlock[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', children: parseInline(paragraph.join('\n')) });
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const marker = fence[1] ?? '```';
      const body: string[] = [];
      i++;
      while (i < lines.length && !isClosingFence(lines[i] ?? '', marker)) body.push(lines[i++] ?? '');
      i++; // the closing fence (or past the end while it is still streaming)
      blocks.push({ kind: 'code-block', language: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    if (line.trim() === '') {
      flush();
      i++;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'heading', level: (heading[1] ?? '#').length, children: parseInline(heading[2] ?? '') });
      i++;
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = NUMBERED.exec(line);
    if (bullet || numbered) {
      flush();
      const ordered = numbered !== null;
      const items: MarkdownInline[][] = [];
      const start = numbered ? Number(numbered[1]) : 1;
      while (i < lines.length) {
        const l = lines[i] ?? '';
        const m = ordered ? NUMBERED.exec(l) : BULLET.exec(l);
        if (m) {
          items.push(parseInline((ordered ? m[2] : m[1]) ?? ''));
        } else if (l.trim() !== '' && /^\s+/.test(l) && items.length > 0) {
          // An indented continuation line belongs to the item above.
          const last = items[items.length - 1] ?? [];
          last.push({ kind: 'break' }, ...parseInline(l.trim()));
        } else {
          break;
        }
        i++;
      }
      blocks.push({ kind: 'list', ordered, start, items });
      continue;
    }
    paragraph.push(line);
    i++;
  }
  flush();
  return blocks;
}

function isClosingFence(line: string, marker: string): boolean {
  const t = line.trim();
  return t.length >= marker.length && t[0] === marker[0] && /^(`+|~+)$/.test(t);
}

/** Parses inline markup; unmatched markers stay as text. */
export function parseInline(text: string): MarkdownInline[] {
  const out: MarkdownInline[] = [];
  let plain = '';
  const pushText = (): void => {
    if (plain) out.push({ kind: 'text', text: plain });
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length && /[\\`*_[\]()#+\-.!<>]/.test(text[i + 1] ?? '')) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      pushText();
      out.push({ kind: 'break' });
      i++;
      continue;
    }
    if (c === '`') {
      const run = /^`+/.exec(text.slice(i))?.[0] ?? '`';
      const end = text.indexOf(run, i + run.length);
      if (end > i) {
        pushText();
        out.push({ kind: 'code', text: text.slice(i + run.length, end) });
        i = end + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    if (c === '*' || c === '_') {
      const double = text[i + 1] === c;
      const marker = double ? c + c : c;
      const end = closingEmphasis(text, i + marker.length, marker);
      if (end !== -1) {
        pushText();
        const children = parseInline(text.slice(i + marker.length, end));
        out.push(double ? { kind: 'strong', children } : { kind: 'em', children });
        i = end + marker.length;
        continue;
      }
      plain += marker;
      i += marker.length;
      continue;
    }
    if (c === '[') {
      const link = linkAt(text, i);
      if (link) {
        pushText();
        out.push({ kind: 'link', href: link.href, children: parseInline(link.label) });
        i = link.end;
        continue;
      }
    }
    plain += c;
    i++;
  }
  pushText();
  return out;
}

/** Index of the closing emphasis marker, or -1: the content must not start or end with a space. */
function closingEmphasis(text: string, from: number, marker: string): number {
  if (from >= text.length || /\s/.test(text[from] ?? '')) return -1;
  // `_` inside words (snake_case) is not emphasis.
  if (marker[0] === '_' && from - marker.length > 0 && /\w/.test(text[from - marker.length - 1] ?? '')) return -1;
  let j = from;
  for (;;) {
    const end = text.indexOf(marker, j);
    if (end === -1) return -1;
    // For a single `*`, skip a `**` inside (it is nested bold).
    if (marker.length === 1 && text[end + 1] === marker) {
      j = end + 2;
      continue;
    }
    if (end > from && !/\s/.test(text[end - 1] ?? '')) {
      // `**b *c***`: the bold closes on the last two stars of the run, after the italic.
      let last = end;
      while (marker.length === 2 && text[last + 2] === marker[0]) last++;
      return last;
    }
    j = end + 1;
  }
}

/** `[label](href)` at `start` with an http(s) href; other schemes (javascript:, data:) are not links. */
function linkAt(text: string, start: number): { label: string; href: string; end: number } | null {
  const close = text.indexOf('](', start + 1);
  if (close === -1 || text.slice(start + 1, close).includes('\n')) return null;
  const end = text.indexOf(')', close + 2);
  if (end === -1) return null;
  const href = text.slice(close + 2, end).trim();
  if (!safeHttpUrl(href)) return null;
  return { label: text.slice(start + 1, close), href, end: end + 1 };
}

/** True for absolute http: and https: URLs only. */
export function safeHttpUrl(href: string): boolean {
  if (!/^https?:\/\//i.test(href) || /\s/.test(href)) return false;
  try {
    const url = new URL(href);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
