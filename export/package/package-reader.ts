/** Reads a package from a directory (Node): the validated manifest and any weight's bytes. Tests and tools. */
import { readFile } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { SarashinaError } from '../../src/protocol/errors';
import { MANIFEST_FILE_NAME, type PackageManifest, parseManifest } from '../../src/protocol/manifest';

export async function readPackageManifest(dir: string): Promise<PackageManifest> {
  const text = await readFile(join(dir, MANIFEST_FILE_NAME), 'utf8');
  return parseManifest(JSON.parse(text));
}

/**
 * The bytes of weight `name` (its shard ranges concatenated); a weight stored as row parts (manifest weightSplits)
 * is its parts' bytes concatenated in row order, i.e. the whole weight.
 */
export async function readPackageWeight(dir: string, manifest: PackageManifest, name: string): Promise<Uint8Array> {
  const split = manifest.weightSplits[name];
  if (split) {
    const parts = await Promise.all(split.parts.map((part) => readPackageWeight(dir, manifest, part)));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
  const entry = manifest.weights[name];
  if (!entry) throw new SarashinaError('invalid-model', `The package has no weight ${name}.`, { weight: name });
  const out = new Uint8Array(entry.sizeBytes);
  let at = 0;
  for (const part of entry.parts) {
    const handle = await open(join(dir, part.shard), 'r');
    try {
      const { bytesRead } = await handle.read(out, at, part.sizeBytes, part.byteOffset);
      if (bytesRead !== part.sizeBytes) throw new SarashinaError('invalid-model', `${part.shard} ended early while reading weight ${name}.`, { weight: name, shard: part.shard });
    } finally {
      await handle.close();
    }
    at += part.sizeBytes;
  }
  return out;
}
