/**
 * Renders assistant text as DOM nodes built one by one with textContent: model output never goes through
 * innerHTML, so `<img onerror>` or `<script>` in an answer is shown as text and no element is created from it.
 */
import { type MarkdownBlock, type MarkdownInline, parseMarkdown, safeHttpUrl } from './markdown';

/** A fragment holding `source` rendered (see markdown.ts for the subset). `doc` is the owner document. */
export function renderMarkdown(source: string, doc: Document = document): DocumentFragment {
  const fragment = doc.createDocumentFragment();
  for (const block of parseMarkdown(source)) fragment.append(renderBlock(block, doc));
  return fragment;
}

function renderBlock(block: MarkdownBlock, doc: Document): HTMLElement {
  switch (block.kind) {
    case 'paragraph': {
      const p = doc.createElement('p');
      appendInline(p, block.children, doc);
      return p;
    }
    case 'heading': {
      // Headings inside a chat bubble stay small: h3..h6, never a page-level h1.
      const h = doc.createElement(`h${Math.min(6, block.level + 2)}`);
      appendInline(h, block.children, doc);
      return h;
    }
    case 'code-block': {
      const pre = doc.createElement('pre');
      const code = doc.createElement('code');
      if (/^[\w+-]+$/.test(block.language)) code.dataset.language = block.language;
      code.textContent = block.text;
      pre.append(code);
      return pre;
    }
    case 'list': {
      const list = doc.createElement(block.ordered ? 'ol' : 'ul');
      if (block.ordered && block.start !== 1) list.setAttribute('start', String(block.start));
      for (const item of block.items) {
        const li = doc.createElement('li');
        appendInline(li, item, doc);
        list.append(li);
      }
      return list;
    }
  }
}

function appendInline(parent: HTMLElement, nodes: readonly MarkdownInline[], doc: Document): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        parent.append(doc.createTextNode(node.text));
        break;
      case 'break':
        parent.append(doc.createElement('br'));
        break;
      case 'code': {
        const code = doc.createElement('code');
        code.textContent = node.text;
        parent.append(code);
        break;
      }
      case 'strong':
      case 'em': {
        const el = doc.createElement(node.kind);
        appendInline(el, node.children, doc);
        parent.append(el);
        break;
      }
      case 'link': {
        // Checked again here: the renderer must be safe even for a tree built by someone else.
        if (!safeHttpUrl(node.href)) {
          appendInline(parent, node.children, doc);
          break;
        }
        const a = doc.createElement('a');
        a.href = node.href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        appendInline(a, node.children, doc);
        parent.append(a);
        break;
      }
    }
  }
}
