/**
 * The images of a chat request: `image_url` parts → Blobs or ImageBitmaps (URLs fetched) → decoded pixels.
 * Decoding is injected (browser: createImageBitmap + WebGL; Node: the JS PNG/JPEG decoders), so this file
 * runs anywhere.
 */
import type { ChatMessage, ContentPart, ImageSource } from '../protocol/api';
import { SarashinaError } from '../protocol/errors';
import type { DecodedImage } from '../processor/image/decoded-image';

/** A fetched or given image, ready to decode (and to transfer to a worker). */
export type ImageData = Blob | ImageBitmap;

/** Decodes one image; `index` is its position in the request, named in errors. */
export type ImageDecoder = (image: ImageData, index: number) => Promise<DecodedImage>;

const URL_SCHEMES = ['data:', 'http:', 'https:', 'blob:'];

/** The image sources of all `image_url` parts, in order of appearance (user messages only; others are rejected later). */
export function imageSources(messages: readonly ChatMessage[]): ImageSource[] {
  const out: ImageSource[] = [];
  if (!Array.isArray(messages)) return out;
  messages.forEach((message, m) => {
    const content: unknown = typeof message === 'object' && message !== null ? message.content : undefined;
    if (!Array.isArray(content)) return;
    (content as readonly ContentPart[]).forEach((part, p) => {
      if (typeof part !== 'object' || part === null || part.type !== 'image_url') return;
      const value: unknown = part.image_url;
      const source = isPlainObject(value) ? (value as { url?: unknown }).url : value;
      if (!isImageSource(source)) {
        throw new SarashinaError(
          'invalid-request',
          `messages[${m}].content[${p}].image_url must be {url} with a data:/http(s):/blob: URL, a Blob or an ImageBitmap; got ${describe(source)}.`,
          { field: `messages[${m}].content[${p}].image_url`, actual: describe(source) },
        );
      }
      out.push(source);
    });
  });
  return out;
}

/**
 * A Blob or ImageBitmap for `image`: URLs are fetched (data: URLs too; relative ones in a page). Throws `invalid-request` naming
 * the image for an unsupported scheme, a failed fetch or an HTTP error.
 */
export async function resolveImageSource(image: ImageSource, index: number, fetchFn: typeof fetch = fetch): Promise<ImageData> {
  if (typeof image !== 'string') return image;
  const source = absoluteUrl(image);
  const shown = source.length > 80 ? `${source.slice(0, 77)}...` : source;
  if (!URL_SCHEMES.some((s) => source.startsWith(s))) {
    throw new SarashinaError('invalid-request', `image ${index}: "${shown}" is not a data:, http(s): or blob: URL. Pass a URL, a Blob or an ImageBitmap.`, {
      index,
      url: shown,
    });
  }
  let response: Response;
  try {
    response = await fetchFn(source);
  } catch (e) {
    throw new SarashinaError(
      'invalid-request',
      `image ${index}: fetching "${shown}" failed (${e instanceof Error ? e.message : String(e)}). Check the URL and that the server allows cross-origin requests (CORS).`,
      { index, url: shown },
    );
  }
  if (!response.ok) {
    throw new SarashinaError('invalid-request', `image ${index}: "${shown}" answered HTTP ${response.status}. Check the URL.`, { index, url: shown, status: response.status });
  }
  return response.blob();
}

/** Fetches and decodes every image of `messages`, in order. */
export async function decodeRequestImages(messages: readonly ChatMessage[], decode: ImageDecoder, fetchFn?: typeof fetch): Promise<DecodedImage[]> {
  const sources = imageSources(messages);
  const data = await Promise.all(sources.map((s, i) => resolveImageSource(s, i, fetchFn)));
  return Promise.all(data.map((d, i) => decode(d, i)));
}

/** In a page or worker, a relative URL ("/img.png") is resolved against the page's address, as fetch would. */
function absoluteUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  if (base === undefined || URL_SCHEMES.some((s) => url.startsWith(s)) || /^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !(typeof Blob !== 'undefined' && value instanceof Blob) && !isBitmap(value);
}

function isBitmap(value: unknown): value is ImageBitmap {
  return typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap;
}

function isImageSource(value: unknown): value is ImageSource {
  return typeof value === 'string' || (typeof Blob !== 'undefined' && value instanceof Blob) || isBitmap(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value;
}
