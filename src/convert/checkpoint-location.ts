/** Which model strings name a Hugging Face Hub checkpoint (the rest are package or checkpoint folders, or paths). */

/**
 * True for a Hub model id (`org/name`, `org/name@revision`: one slash, no leading `/` or `.`, no trailing `/`) or a
 * URL on the Hub's origin (default https://huggingface.co). A relative folder like `models/foo` reads as an id too:
 * pass folders with a trailing slash or as URLs, and in Node an existing directory wins (node-platform.ts).
 */
export function isHubModel(model: string, hubEndpoint = 'https://huggingface.co'): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(model)) {
    try {
      const url = new URL(model);
      const hub = new URL(hubEndpoint);
      // The Hub's short host hf.co is the same Hub.
      return url.origin === hub.origin || (hub.hostname === 'huggingface.co' && url.protocol === 'https:' && url.hostname === 'hf.co');
    } catch {
      return false;
    }
  }
  return /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*(@[\w./-]+)?$/.test(model) && !model.endsWith('/');
}
