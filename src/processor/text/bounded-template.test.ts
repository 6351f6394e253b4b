import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { renderChatPrompt, type ChatPromptOptions } from './chat-prompt';
import { DEFAULT_TEMPLATE_LIMITS, renderBounded, TemplateLimitError } from './bounded-template';
import { SARASHINA_CHAT_TEMPLATE, SARASHINA_IMAGE_BLOCK } from './sarashina-chat-template';

const OPTIONS: ChatPromptOptions = {
  template: SARASHINA_CHAT_TEMPLATE,
  templateTokens: { bos_token: '<s>', eos_token: '</s>' },
  imageBlock: SARASHINA_IMAGE_BLOCK,
  imageToken: '<|file|>',
};
const chat = (n: number) => Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `message ${i}` }));
const withTemplate = (template: string): ChatPromptOptions => ({ ...OPTIONS, template: `${SARASHINA_IMAGE_BLOCK}${template}` });

describe('renderBounded', () => {
  it('renders as @huggingface/jinja does: Sarashina, loops, filters, namespaces, raise_exception, strftime_now', () => {
    const templates = [
      SARASHINA_CHAT_TEMPLATE,
      '{% for i in range(2, 11, 3) %}{{ i }},{% endfor %}{% for i in range(3) %}{{ loop.index }}{% endfor %}{{ range(5, 0, -2) | join("-") }}',
      '{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content | length %}{% endfor %}{{ ns.n }} {{ messages | map(attribute="role") | join(",") | upper }}',
      '{% if messages[0].role != "user" %}{{ raise_exception("first must be user") }}{% endif %}{{ true }} {{ None is none }}',
    ];
    const items = { bos_token: '<s>', messages: chat(5), add_generation_prompt: true };
    for (const t of templates) expect(renderBounded(new Template(t), items), t).toBe(new Template(t).render(items));
    const date = renderBounded(new Template('{{ strftime_now("%Y-%m-%d") }}'), {});
    expect(date).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(() => renderBounded(new Template('{{ raise_exception("no") }}'), {})).toThrow('no');
  });

  it("renders a 2,000-message Sarashina chat within the limits (the template needs few steps per message)", () => {
    const steps = { ...DEFAULT_TEMPLATE_LIMITS, maxSteps: 2_000 * 40 };
    const messages = chat(2_000);
    expect(renderBounded(new Template(SARASHINA_CHAT_TEMPLATE), { bos_token: '<s>', messages }, steps)).toContain('message 1999');
  });

  it('stops a template that loops, nests loops or grows a value, with TemplateLimitError', () => {
    const runaway = [
      '{% for i in range(10 ** 9) %}x{% endfor %}',
      '{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}',
      '{% set ns = namespace(s="ab") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}',
      '{% for i in range(150000) %}{% endfor %}',
    ];
    for (const t of runaway) expect(() => renderBounded(new Template(t), {}), t).toThrow(TemplateLimitError);
  });
});

describe('renderChatPrompt with a hostile template', () => {
  it('refuses loops as invalid-model naming chat_template, without hanging', () => {
    for (const t of ['{% for i in range(10 ** 9) %}{% endfor %}', '{% for a in range(3000) %}{% for b in range(3000) %}{{ b }}{% endfor %}{% endfor %}']) {
      expect(() => renderChatPrompt([{ role: 'user', content: 'hi' }], withTemplate(t)), t).toThrow(
        expect.objectContaining({ code: 'invalid-model', details: expect.objectContaining({ field: 'chat_template' }) }),
      );
    }
  });

  it('gives a template no way out to JavaScript: constructors, prototypes and functions read as undefined', () => {
    const probes = [
      "{{ ''.constructor }}",
      '{{ messages.constructor }}',
      '{{ messages[0].__proto__ }}',
      "{{ messages[0]['constructor'] }}",
      '{{ raise_exception.constructor }}',
      '{{ messages.__class__ }}',
      '{{ (messages | first).hasOwnProperty }}',
    ];
    for (const p of probes) expect(renderChatPrompt([{ role: 'user', content: 'hi' }], withTemplate(p)).text, p).toBe('');
    for (const call of ["{{ ''.constructor.constructor('return globalThis')() }}", "{{ range.constructor('return process')() }}"]) {
      expect(() => renderChatPrompt([{ role: 'user', content: 'hi' }], withTemplate(call)), call).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    }
  });
});
