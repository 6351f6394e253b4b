/**
 * In-place OPFS writes that can be made durable without closing the file (a resumable conversion journals after
 * every few MB, and a journal may name only bytes that survive a reload). OPFS's writable stream commits nothing
 * until it closes, and reopening it with keepExistingData copies the whole file in Chromium; a
 * FileSystemSyncAccessHandle writes in place and `flush()` persists, but exists only in dedicated workers. So: in a
 * worker (the engine's) the handle is used directly; on a page a tiny worker made from `syncWriterWorker`'s own
 * source (a Blob URL: nothing to bundle or serve) holds it. Where neither works (no sync handles, a page whose CSP
 * refuses blob: workers) the caller gets a writable stream without `flush` and journals at closes only.
 */
import type { StoreFileWriter } from './model-store';

/** The part of FileSystemSyncAccessHandle we use (TypeScript's DOM library does not declare it). */
interface SyncAccessHandle {
  write(bytes: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}
type SyncCapableHandle = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> };

/** Opens `file` for writing from byte `at` (what follows is dropped), durable with flush where the browser allows. */
export async function openOpfsWriter(file: FileSystemFileHandle, at: number): Promise<StoreFileWriter> {
  if (inDedicatedWorker() && typeof (file as Partial<SyncCapableHandle>).createSyncAccessHandle === 'function') {
    return syncWriter(await (file as SyncCapableHandle).createSyncAccessHandle(), at);
  }
  const viaWorker = await workerWriter(file, at).catch(() => null);
  return viaWorker ?? streamWriter(file, at);
}

function inDedicatedWorker(): boolean {
  return typeof (globalThis as { DedicatedWorkerGlobalScope?: unknown }).DedicatedWorkerGlobalScope === 'function' && globalThis instanceof (globalThis as unknown as { DedicatedWorkerGlobalScope: new () => object }).DedicatedWorkerGlobalScope;
}

function syncWriter(handle: SyncAccessHandle, at: number): StoreFileWriter {
  handle.truncate(at);
  let position = at;
  return {
    write(chunk) {
      let off = 0;
      while (off < chunk.byteLength) off += handle.write(chunk.subarray(off), { at: position + off });
      position += chunk.byteLength;
      return Promise.resolve();
    },
    flush() {
      handle.flush();
      return Promise.resolve();
    },
    close() {
      handle.flush();
      handle.close();
      return Promise.resolve();
    },
  };
}

/** A writable stream: committed only by close (no flush). */
async function streamWriter(file: FileSystemFileHandle, at: number): Promise<StoreFileWriter> {
  const writable = await file.createWritable({ keepExistingData: at > 0 });
  await writable.truncate(at);
  if (at > 0) await writable.seek(at);
  return {
    async write(chunk) {
      await writable.write(chunk as Uint8Array<ArrayBuffer>);
    },
    async close() {
      await writable.close();
    },
  };
}

/** A worker holding the sync handle; one request at a time, each answered before the next is sent. */
async function workerWriter(file: FileSystemFileHandle, at: number): Promise<StoreFileWriter> {
  const url = URL.createObjectURL(new Blob([`(${syncWriterWorker.toString()})()`], { type: 'text/javascript' }));
  let worker: Worker;
  try {
    worker = new Worker(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const request = (message: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ ok: boolean; name?: string; message?: string }>) => {
        if (e.data.ok) resolve();
        else reject(Object.assign(new Error(e.data.message ?? 'OPFS write failed'), { name: e.data.name ?? 'Error' }));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`the OPFS writer worker failed: ${e.message}`));
      };
      worker.postMessage(message);
    });
  try {
    await request({ op: 'open', file, at });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return {
    write: (chunk) => request({ op: 'write', bytes: chunk }),
    flush: () => request({ op: 'flush' }),
    async close() {
      try {
        await request({ op: 'close' });
      } finally {
        worker.terminate();
      }
    },
  };
}

/**
 * The writer worker's whole program, run from its own source text: it must not refer to anything outside itself.
 * Messages: open {file, at} (truncates to `at`), write {bytes}, flush, close; each answered {ok} or {ok:false, name, message}.
 */
function syncWriterWorker(): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
  let handle: SyncAccessHandle | null = null;
  let position = 0;
  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as { op: string; file?: SyncCapableHandle; at?: number; bytes?: Uint8Array };
    const run = async (): Promise<void> => {
      if (m.op === 'open') {
        handle = await (m.file as SyncCapableHandle).createSyncAccessHandle();
        position = m.at ?? 0;
        handle.truncate(position);
        return;
      }
      if (!handle) throw new Error('OPFS writer: no file open');
      if (m.op === 'write') {
        const bytes = m.bytes as Uint8Array;
        let off = 0;
        while (off < bytes.byteLength) off += handle.write(bytes.subarray(off), { at: position + off });
        position += bytes.byteLength;
      } else if (m.op === 'flush') handle.flush();
      else if (m.op === 'close') {
        handle.flush();
        handle.close();
        handle = null;
      }
    };
    run().then(
      () => scope.postMessage({ ok: true }),
      (err: unknown) => scope.postMessage({ ok: false, name: (err as { name?: string }).name, message: String((err as { message?: string }).message ?? err) }),
    );
  };
}
