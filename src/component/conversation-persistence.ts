/**
 * The element's side of saved conversations: which persist-key the conversation in memory belongs to, restoring
 * it once per key, and saving after each change — one save after another, and none before the restore of that key
 * has finished (a save then would overwrite the saved conversation with an empty one).
 */
import type { ChatErrorDetail } from './chat-events';
import type { Turn } from './conversation';
import { ConversationStore } from './conversation-store';

export class ConversationPersistence {
  /** The key last restored from (undefined: none yet). */
  private restoredKey: string | null | undefined = undefined;
  /** The key whose saved conversation is in memory: saves go there (null: none). */
  private savingKey: string | null = null;
  private saving: Promise<void> = Promise.resolve();

  /** `onError` gets a typed error when IndexedDB refuses (the chat works on without saving). */
  constructor(private readonly onError: (detail: ChatErrorDetail) => void) {}

  /**
   * The turns saved under `key`, when `key` differs from the last one restored; null when there is nothing to
   * replace (the same key again, no key, a failed read, or `currentKey()` no longer `key` once read).
   */
  async restore(key: string | null, currentKey: () => string | null): Promise<Turn[] | null> {
    if (key === this.restoredKey) return null;
    this.restoredKey = key;
    this.savingKey = null;
    if (key === null) return null;
    let turns: Turn[] | null = null;
    try {
      turns = await new ConversationStore(key).load();
    } catch (e) {
      this.onError(storageError('could not be read', e));
    }
    if (currentKey() !== key) return null;
    this.savingKey = key;
    return turns;
  }

  /** Saves `turns` under `key` (capped at `maxBytes`) once the restore of `key` has finished; else does nothing. */
  save(key: string | null, turns: readonly Turn[], maxBytes: number): void {
    if (key === null || key !== this.savingKey) return;
    const snapshot = [...turns];
    this.saving = this.saving.then(async () => {
      try {
        await new ConversationStore(key).save(snapshot, maxBytes);
      } catch (e) {
        this.onError(storageError('could not be saved', e));
      }
    });
  }
}

function storageError(what: string, e: unknown): ChatErrorDetail {
  const quota = e instanceof DOMException && e.name === 'QuotaExceededError';
  const reason = e instanceof Error ? [e.name, e.message].filter((t) => t !== '').join(': ') : String(e);
  const message =
    `The conversation ${what} in this browser's storage (IndexedDB: ${reason}). ` +
    (quota ? 'Free storage for this site or lower persist-max-bytes.' : 'The chat works on, without saving.');
  return { code: quota ? 'storage-quota-exceeded' : 'internal', message };
}
