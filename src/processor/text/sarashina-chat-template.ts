/**
 * The chat template of sbintuitions/sarashina2-vision-8b/14b (`chat_template.json`), reconstructed in
 * ../shared/reference/sarashina2-vision-architecture.md §1.6: wrapped as `{"chat_template": …}` with Python's
 * default JSON separators and a trailing newline it is exactly the 533 bytes of the real file. Used when a
 * package ships no chat_template.json, and by the random-checkpoint generator.
 *
 * Shape of its output: `<s><|prefix|><|file|><|suffix|>A chat between … questions.\n\n` then
 * `### Human: {user}\n` / `### Assistant: {assistant}\n` per turn, then `### Assistant:` when the last turn
 * is the user's. It ignores system messages and always emits one image block at the very start.
 */
export const SARASHINA_CHAT_TEMPLATE =
  "{{ bos_token + '<|prefix|><|file|><|suffix|>A chat between a curious human and an artificial intelligence " +
  "assistant. The assistant gives helpful, detailed, and polite answers to the human\\'s questions.\\n\\n' }}" +
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '### Human: ' + message['content'] + '\\n' }}" +
  "{% elif message['role'] == 'assistant' %}{{ '### Assistant: ' + message['content'] + '\\n' }}{% endif %}" +
  "{% endfor %}{% if messages[-1]['role'] == 'user' %}{{ '### Assistant:' }}{% endif %}";

/** The image block the template emits once; the processor repeats it once per image (see chat-prompt.ts). */
export const SARASHINA_IMAGE_BLOCK = '<|prefix|><|file|><|suffix|>';

/** Text of a `chat_template.json` holding `template`, serialized like Python's `json.dumps(…) + "\n"`. */
export function chatTemplateJsonText(template: string): string {
  return `{"chat_template": ${JSON.stringify(template)}}\n`;
}
