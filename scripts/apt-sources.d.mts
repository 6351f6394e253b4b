/** Types of scripts/apt-sources.mjs (plain JS: ensure-test-deps runs before `npm ci`). */
export interface AptSourceEntry {
  readonly types: string[];
  readonly uris: string[];
  readonly suites: string[];
  readonly components: string[];
  /** The keyring path (or inline key block); '' when the entry has none. */
  readonly signedBy: string;
}
export function parseAptSources(files: Readonly<Record<string, string>>): AptSourceEntry[];
export function backportsStanza(entries: readonly AptSourceEntry[], codename: string): string | null;
export function upstreamMajorMinor(version: string): [number, number] | null;
