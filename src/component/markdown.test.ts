import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHttpUrl } from './markdown';

describe('parseMarkdown', () => {
  it('splits paragraphs on blank lines and keeps single newlines as breaks', () => {
    expect(parseMarkdown('一行目\n二行目\n\n次の段落')).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: '一行目' }, { kind: 'break' }, { kind: 'text', text: '二行目' }] },
      { kind: 'paragraph', children: [{ kind: 'text', text: '次の段落' }] },
    ]);
  });

  it('parses bold, italic, code and nested emphasis', () => {
    expect(parseInline('a **b *c*** `d*e*` f')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'strong', children: [{ kind: 'text', text: 'b ' }, { kind: 'em', children: [{ kind: 'text', text: 'c' }] }] },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: 'd*e*' },
      { kind: 'text', text: ' f' },
    ]);
  });

  it('leaves unmatched markers, snake_case and spaced stars as text', () => {
    expect(parseInline('**open and 2 * 3 * 4 snake_case_name')).toEqual([{ kind: 'text', text: '**open and 2 * 3 * 4 snake_case_name' }]);
  });

  it('fenced code keeps its text verbatim, and an unclosed fence runs to the end (streaming)', () => {
    expect(parseMarkdown('前\n```ts\nconst a = **1**;\n<b>\n```\n後')).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: '前' }] },
      { kind: 'code-block', language: 'ts', text: 'const a = **1**;\n<b>' },
      { kind: 'paragraph', children: [{ kind: 'text', text: '後' }] },
    ]);
    expect(parseMarkdown('```\nstill typing')).toEqual([{ kind: 'code-block', language: '', text: 'still typing' }]);
  });

  it('parses bullet and numbered lists with their start number and continuation lines', () => {
    expect(parseMarkdown('- one\n- **two**\n  more\n\n3. c\n4. d')).toEqual([
      {
        kind: 'list',
        ordered: false,
        start: 1,
        items: [[{ kind: 'text', text: 'one' }], [{ kind: 'strong', children: [{ kind: 'text', text: 'two' }] }, { kind: 'break' }, { kind: 'text', text: 'more' }]],
      },
      { kind: 'list', ordered: true, start: 3, items: [[{ kind: 'text', text: 'c' }], [{ kind: 'text', text: 'd' }]] },
    ]);
  });

  it('headings', () => {
    expect(parseMarkdown('## 見出し ##')).toEqual([{ kind: 'heading', level: 2, children: [{ kind: 'text', text: '見出し' }] }]);
  });

  it('links only for http(s); javascript:, data: and relative targets stay text', () => {
    expect(parseInline('[ok](https://example.org/a?b=1)')).toEqual([{ kind: 'link', href: 'https://example.org/a?b=1', children: [{ kind: 'text', text: 'ok' }] }]);
    for (const bad of ['[x](javascript:alert(1))', '[x](data:text/html,<script>)', '[x](/relative)', '[x](JAVASCRIPT:alert(1))']) {
      const nodes = parseInline(bad);
      expect(nodes.some((n) => n.kind === 'link'), bad).toBe(false);
      expect(nodes.map((n) => (n.kind === 'text' ? n.text : '')).join(''), bad).toBe(bad);
    }
    expect(safeHttpUrl('http://x.test/')).toBe(true);
    expect(safeHttpUrl('https://a b')).toBe(false);
  });

  it('HTML in the text is plain text', () => {
    expect(parseMarkdown('<img src=x onerror=alert(1)> <script>alert(1)</script>')).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: '<img src=x onerror=alert(1)> <script>alert(1)</script>' }] },
    ]);
  });

  it('backslash escapes make markers literal', () => {
    expect(parseInline('\\*not em\\*')).toEqual([{ kind: 'text', text: '*not em*' }]);
  });
});
