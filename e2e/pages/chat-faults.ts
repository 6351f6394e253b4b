/**
 * e2e page for <sarashina-chat> persistence and fault cases: mounts any number of elements (by id) and records each
 * one's events, reads a saved conversation straight from IndexedDB (as stored, not through the element), and lists
 * the model cache.
 */
import { listCachedModels, type StoredModel } from '../../src/api/model-cache';
import type { ChatErrorDetail, ChatMessageDetail } from '../../src/component/index';
import { CONVERSATION_DB, CONVERSATION_STORE } from '../../src/component/conversation-store';

export interface ElementEvents {
  ready: boolean;
  tokens: string[];
  messages: ChatMessageDetail[];
  errors: ChatErrorDetail[];
}

/** A saved turn as IndexedDB holds it: text, and for user turns the pictures' sizes and types. */
export interface SavedTurn {
  role: string;
  text: string;
  images: { size: number; type: string }[];
}

declare global {
  interface Window {
    chatMount: (id: string, attributes: Record<string, string>) => void;
    chatEvents: (id: string) => ElementEvents;
    savedTurns: (key: string) => Promise<SavedTurn[] | null>;
    cachedModels: () => Promise<StoredModel[]>;
    pwned: number;
  }
}

const events = new Map<string, ElementEvents>();
window.pwned = 0;

window.chatMount = (id, attributes) => {
  document.getElementById(id)?.remove();
  const el = document.createElement('sarashina-chat');
  el.id = id;
  const rec: ElementEvents = { ready: false, tokens: [], messages: [], errors: [] };
  events.set(id, rec);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  el.addEventListener('ready', () => (rec.ready = true));
  el.addEventListener('token', (e) => rec.tokens.push(e.detail.delta));
  el.addEventListener('message', (e) => rec.messages.push(e.detail));
  el.addEventListener('error', (e) => rec.errors.push(e.detail));
  document.body.append(el);
};

window.chatEvents = (id) => JSON.parse(JSON.stringify(events.get(id) ?? null)) as ElementEvents;

window.savedTurns = (key) =>
  new Promise((resolve, reject) => {
    const open = indexedDB.open(CONVERSATION_DB);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(CONVERSATION_STORE)) {
        db.close();
        resolve(null);
        return;
      }
      const req = db.transaction(CONVERSATION_STORE).objectStore(CONVERSATION_STORE).get(key);
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        db.close();
        const record = req.result as { turns: { role: string; text: string; images?: Blob[] }[] } | undefined;
        resolve(record ? record.turns.map((t) => ({ role: t.role, text: t.text, images: (t.images ?? []).map((b) => ({ size: b.size, type: b.type })) })) : null);
      };
    };
  });

window.cachedModels = () => listCachedModels();
