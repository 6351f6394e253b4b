/**
 * Saved conversations for `<sarashina-chat persist-key="…">`: the finished turns of one conversation (text, and
 * the pictures as the Blobs the user picked) in IndexedDB, one record per key, so that a reload shows them again
 * and later turns resend the pictures. Each key is its own record: two elements with different keys never see
 * each other's turns. A size cap keeps the record small: the oldest exchanges (a user turn and its answers) are
 * left out until the rest fits (`fitToCap`).
 *
 * IndexedDB rather than localStorage: it stores Blobs as they are (no base64, no 5 MB string limit) and is
 * asynchronous. Everything stays in this origin's storage; nothing is sent anywhere.
 */
import type { ContextTruncation, FinishReason } from '../protocol/api';
import type { Turn } from './conversation';

/** Database and object store names (one store, keyed by the element's persist-key). */
export const CONVERSATION_DB = 'sarashina-chat';
export const CONVERSATION_STORE = 'conversations';
const RECORD_VERSION = 1;

/** The cap when the page sets none: 20 MiB, room for dozens of photos and their chat. */
export const DEFAULT_PERSIST_MAX_BYTES = 20 * 1024 * 1024;

interface StoredRecord {
  readonly version: number;
  readonly savedAt: number;
  readonly turns: readonly StoredTurn[];
}

type StoredTurn =
  | { readonly role: 'user'; readonly text: string; readonly images: readonly Blob[] }
  | { readonly role: 'assistant'; readonly text: string; readonly finishReason: FinishReason; readonly truncation: ContextTruncation | null };

/** What saving kept: turns stored and turns left out by the cap. */
export interface SaveResult {
  readonly storedTurns: number;
  readonly droppedTurns: number;
}

/** Bytes a turn takes in the record as counted against the cap: its text as UTF-8 plus its pictures' bytes. */
export function turnBytes(turn: Turn): number {
  const text = new TextEncoder().encode(turn.text).byteLength;
  return turn.role === 'user' ? turn.images.reduce((n, image) => n + image.size, text) : text;
}

/**
 * The turns worth saving, newest kept: finished turns only (an answer still streaming and a question not yet
 * answered are not saved), then whole exchanges — a user turn with the answers after it — dropped from the oldest
 * until the rest is at most `maxBytes`. An exchange larger than `maxBytes` on its own is not kept.
 */
export function fitToCap(turns: readonly Turn[], maxBytes: number): Turn[] {
  const finished = [...turns];
  while (finished.length > 0) {
    const last = finished[finished.length - 1];
    if (last?.role === 'assistant' && last.finishReason !== null) break;
    finished.pop();
  }
  const exchanges: Turn[][] = [];
  for (const turn of finished) {
    if (turn.role === 'user' || exchanges.length === 0) exchanges.push([turn]);
    else exchanges[exchanges.length - 1]?.push(turn);
  }
  let total = exchanges.reduce((n, e) => n + e.reduce((m, t) => m + turnBytes(t), 0), 0);
  while (exchanges.length > 0 && total > maxBytes) {
    total -= (exchanges.shift() ?? []).reduce((m, t) => m + turnBytes(t), 0);
  }
  return exchanges.flat();
}

/** One conversation's record in IndexedDB. Every method throws a DOMException when IndexedDB refuses. */
export class ConversationStore {
  constructor(readonly key: string) {}

  /** The saved turns, oldest first; [] when nothing is saved under this key (or the record is of another version). */
  async load(): Promise<Turn[]> {
    const record = await this.request<StoredRecord | undefined>('readonly', (store) => store.get(this.key));
    if (!record || record.version !== RECORD_VERSION || !Array.isArray(record.turns)) return [];
    return record.turns.map((t): Turn => (t.role === 'user' ? { role: 'user', text: t.text, images: [...t.images] } : { ...t }));
  }

  /** Replaces the saved conversation with `fitToCap(turns, maxBytes)` (an empty result deletes the record). */
  async save(turns: readonly Turn[], maxBytes: number): Promise<SaveResult> {
    const kept = fitToCap(turns, maxBytes);
    const finished = fitToCap(turns, Number.POSITIVE_INFINITY).length;
    if (kept.length === 0) {
      await this.clear();
      return { storedTurns: 0, droppedTurns: finished };
    }
    const record: StoredRecord = {
      version: RECORD_VERSION,
      savedAt: Date.now(),
      turns: kept.map((t): StoredTurn =>
        t.role === 'user'
          ? { role: 'user', text: t.text, images: [...t.images] }
          : { role: 'assistant', text: t.text, finishReason: t.finishReason ?? 'stop', truncation: t.truncation },
      ),
    };
    await this.request('readwrite', (store) => store.put(record, this.key));
    return { storedTurns: kept.length, droppedTurns: finished - kept.length };
  }

  /** Deletes the saved conversation. */
  async clear(): Promise<void> {
    await this.request('readwrite', (store) => store.delete(this.key));
  }

  private async request<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await openDatabase();
    try {
      return await new Promise<T>((resolve, reject) => {
        const tx = db.transaction(CONVERSATION_STORE, mode);
        const req = run(tx.objectStore(CONVERSATION_STORE));
        let result: T;
        req.onsuccess = () => (result = req.result as T);
        // Resolved on commit, not on the request's success: a write is durable only then.
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error ?? req.error ?? new DOMException('IndexedDB transaction failed', 'UnknownError'));
        tx.onabort = () => reject(tx.error ?? new DOMException('IndexedDB transaction aborted', 'AbortError'));
      });
    } finally {
      db.close();
    }
  }
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new DOMException('IndexedDB is not available in this context', 'NotSupportedError'));
      return;
    }
    const open = indexedDB.open(CONVERSATION_DB, 1);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(CONVERSATION_STORE)) open.result.createObjectStore(CONVERSATION_STORE);
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new DOMException('IndexedDB could not be opened', 'UnknownError'));
    open.onblocked = () => reject(new DOMException('IndexedDB is blocked by another tab holding an older version', 'InvalidStateError'));
  });
}
