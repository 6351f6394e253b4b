import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../protocol/api';
import { imageSources, resolveImageSource } from './image-input';

describe('imageSources', () => {
  it('collects image parts in order, {url} or bare', () => {
    const blob = new Blob([new Uint8Array([1])]);
    const messages: ChatMessage[] = [
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://a/1.png' } }, { type: 'text', text: 'x' }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'image_url', image_url: blob }] },
    ];
    expect(imageSources(messages)).toEqual(['https://a/1.png', blob]);
  });

  it('names the part holding something that is no image source', () => {
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 42 } }] }] as unknown as ChatMessage[];
    expect(() => imageSources(messages)).toThrow(/messages\[0\]\.content\[1\]\.image_url/);
  });
});

describe('resolveImageSource', () => {
  it('fetches URLs and passes Blobs through', async () => {
    const blob = new Blob([new Uint8Array([1, 2])]);
    expect(await resolveImageSource(blob, 0)).toBe(blob);
    const fetched = await resolveImageSource('data:application/octet-stream;base64,AQID', 0);
    expect(new Uint8Array(await (fetched as Blob).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('rejects other schemes, failed fetches and HTTP errors as invalid-request naming the image', async () => {
    await expect(resolveImageSource('ftp://x/y.png', 2)).rejects.toMatchObject({ code: 'invalid-request', details: { index: 2 } });
    const failing: typeof fetch = () => Promise.reject(new TypeError('network down'));
    await expect(resolveImageSource('https://x/y.png', 1, failing)).rejects.toThrow(/image 1: fetching "https:\/\/x\/y.png" failed \(network down\)/);
    const notFound: typeof fetch = () => Promise.resolve(new Response('no', { status: 404 }));
    await expect(resolveImageSource('https://x/y.png', 0, notFound)).rejects.toMatchObject({ code: 'invalid-request', details: { status: 404 } });
  });
});
