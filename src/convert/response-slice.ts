/** Reading one slice of an HTTP response body, for the range readers (http-folder-source.ts, hub-requester.ts). */

/**
 * `length` bytes of `response`'s body after skipping its first `skip` bytes (a server that answered a range request
 * with the whole file: 200 instead of 206), or null when the body ends first. `onChunk` runs at every chunk received
 * (a stall watchdog's tick). The body is cancelled once the slice is read.
 */
export async function readBodySlice(response: Response, skip: number, length: number, onChunk?: () => void): Promise<Uint8Array | null> {
  if (!response.body) return null;
  const out = new Uint8Array(length);
  const reader = response.body.getReader();
  let position = 0;
  let filled = 0;
  try {
    while (filled < length) {
      const { done, value } = await reader.read();
      if (done) return null;
      onChunk?.();
      const start = Math.max(0, skip - position);
      position += value.byteLength;
      if (start >= value.byteLength) continue;
      const take = Math.min(value.byteLength - start, length - filled);
      out.set(value.subarray(start, start + take), filled);
      filled += take;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return out;
}
