// Pure helpers for scripts/ensure-test-deps.mjs (plain JS: it runs before `npm ci`): reading apt's source lists
// (deb822 `.sources` files and one-line `.list` files) to add `<codename>-backports` from the same mirror with the
// same keyring as the machine's Debian entry, and reading Debian package versions.

/**
 * Every enabled entry in apt source files, as { types, uris, suites, components, signedBy } (arrays of words;
 * signedBy '' when unset). `files` maps a path to its text; paths ending in `.sources` are deb822, others one-line.
 */
export function parseAptSources(files) {
  const entries = [];
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith('.sources')) entries.push(...parseDeb822(text));
    else entries.push(...parseOneLine(text));
  }
  return entries;
}

function parseDeb822(text) {
  const entries = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = {};
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last) {
        fields[last] += `\n ${line.trim()}`; // kept as lines: Signed-By may be an inline key block
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1].toLowerCase();
      fields[last] = m[2].trim();
    }
    if (!fields.types || !fields.uris || !fields.suites) continue;
    if ((fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const words = (v) => (v ?? '').split(/\s+/).filter(Boolean);
    entries.push({
      types: words(fields.types),
      uris: words(fields.uris),
      suites: words(fields.suites),
      components: words(fields.components),
      signedBy: fields['signed-by'] ?? '',
    });
  }
  return entries;
}

function parseOneLine(text) {
  const entries = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signed = /(?:^|\s)signed-by=(\S+)/.exec(m[2] ?? '');
    entries.push({ types: [m[1]], uris: [m[3]], suites: [m[4]], components: m[5].split(/\s+/).filter(Boolean), signedBy: signed ? signed[1] : '' });
  }
  return entries;
}

/**
 * The deb822 stanza adding `<codename>-backports` (component main) from the mirror and keyring of the entry that
 * serves `<codename>` itself, or null when some entry already serves the backports suite. Throws when no entry
 * serves `<codename>` (then there is no mirror to copy).
 */
export function backportsStanza(entries, codename) {
  const suite = `${codename}-backports`;
  if (entries.some((e) => e.types.includes('deb') && e.suites.includes(suite))) return null;
  const base = entries.find((e) => e.types.includes('deb') && e.suites.includes(codename));
  if (!base) throw new Error(`no apt source serves the suite ${codename}: cannot tell which mirror ${suite} should come from`);
  return [
    'Types: deb',
    `URIs: ${base.uris[0]}`,
    `Suites: ${suite}`,
    'Components: main',
    ...(base.signedBy ? [`Signed-By: ${base.signedBy}`] : []),
    '',
  ].join('\n');
}

/** [major, minor] of a Debian version such as `25.0.7-2~bpo12+1` or `1:22.3.6-1`; null when unreadable. */
export function upstreamMajorMinor(version) {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}
