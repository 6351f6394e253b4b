/**
 * Opening a model by its location, the same in the browser and in Node: the variant index (variants.json) when
 * the model has one, the chosen variant's manifest.json (checked against its index entry: size and sha256), or
 * the location's own manifest.json for a plain package. Only these small files are read; the platform downloads
 * or opens the package's files afterwards, once the chooser accepted its manifest.
 */
import { SarashinaError } from '../protocol/errors';
import { MANIFEST_FILE_NAME, type PackageManifest, parseManifest } from '../protocol/manifest';
import { parseVariantIndex, VARIANT_INDEX_FILE_NAME, type VariantEntry, type VariantIndex } from '../protocol/variant-index';
import { sha256Hex } from './sha256';

/** The engine's decisions, asked as soon as their input is read (so a model this GPU cannot run costs nothing). */
export interface PackageChooser {
  /**
   * Picks the variant of a model published in several (throws typed errors when none fits). `estimated`: the index
   * describes the packages a checkpoint would convert into (src/convert/checkpoint-variants.ts), so the chosen
   * package's manifest is checked as a package of its own, not against the estimate.
   */
  chooseVariant(index: VariantIndex, estimated?: boolean): VariantEntry;
  /** Runs on the package's manifest before anything large is downloaded. */
  checkManifest(manifest: PackageManifest): void;
}

/** Reads a model's small files where they are: HTTP (browser) or a directory (Node). */
export interface ModelFileReader {
  /** Where the model is, for messages. */
  readonly location: string;
  /** variants.json's bytes, or null when the location has none (a plain package). */
  readIndex(): Promise<Uint8Array | null>;
  /** manifest.json of the variant in `folder`, or of the location itself when `folder` is null. */
  readManifest(folder: string | null): Promise<Uint8Array>;
}

export interface OpenedModel {
  /** The chosen entry of the index, or null for a plain package. */
  readonly variant: VariantEntry | null;
  readonly manifest: PackageManifest;
  /** manifest.json as read (served to the package source as is). */
  readonly manifestBytes: Uint8Array;
}

/**
 * Reads the index (if any), lets `chooser` pick a variant, reads and verifies that variant's manifest (or the plain
 * package's), and lets `chooser` check it. Throws the chooser's errors, 'invalid-model' for bad JSON,
 * 'integrity-mismatch' for a manifest that is not the one the index names, and the reader's errors.
 */
export async function openModel(reader: ModelFileReader, chooser: PackageChooser): Promise<OpenedModel> {
  const indexBytes = await reader.readIndex();
  let variant: VariantEntry | null = null;
  if (indexBytes) {
    const index = parseVariantIndex(parseJson(indexBytes, `${reader.location}/${VARIANT_INDEX_FILE_NAME}`));
    variant = chooser.chooseVariant(index);
  }
  const manifestBytes = await reader.readManifest(variant ? variant.path : null);
  const where = `${reader.location}/${variant ? variant.manifest.path : MANIFEST_FILE_NAME}`;
  if (variant) {
    const sha256 = sha256Hex(manifestBytes);
    if (manifestBytes.byteLength !== variant.manifest.sizeBytes || sha256 !== variant.manifest.sha256) {
      throw new SarashinaError(
        'integrity-mismatch',
        `${where} is not the manifest ${VARIANT_INDEX_FILE_NAME} names (${manifestBytes.byteLength} bytes, sha256 ${sha256}; the index says ${variant.manifest.sizeBytes} bytes, ${variant.manifest.sha256}). ` +
          'Publish the index and its variant folders from one export.',
        { path: variant.manifest.path, expectedSha256: variant.manifest.sha256, expectedBytes: variant.manifest.sizeBytes, actualSha256: sha256 },
      );
    }
  }
  const manifest = parseManifest(parseJson(manifestBytes, where));
  chooser.checkManifest(manifest);
  return { variant, manifest, manifestBytes };
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (cause) {
    throw new SarashinaError('invalid-model', `${where} is not valid JSON. Re-export the model.`, { path: where }, { cause });
  }
}
