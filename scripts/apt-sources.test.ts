/**
 * ensure-test-deps' apt source handling: bookworm-backports is added from the same mirror and keyring as the
 * machine's Debian entry (deb822 as in Debian 12's images, or a one-line sources.list), never twice.
 * The inputs are the files as Debian ships them (debian.sources below is this CI machine's).
 */
import { describe, expect, it } from 'vitest';
import { backportsStanza, parseAptSources, upstreamMajorMinor } from './apt-sources.mjs';

const DEBIAN_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const NODESOURCE = `Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
Signed-By: /usr/share/keyrings/nodesource.gpg
`;

describe('backportsStanza', () => {
  it('copies the mirror and keyring of the deb822 entry that serves the codename', () => {
    const entries = parseAptSources({ '/etc/apt/sources.list.d/nodesource.sources': NODESOURCE, '/etc/apt/sources.list.d/debian.sources': DEBIAN_SOURCES });
    expect(backportsStanza(entries, 'bookworm')).toBe(
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n',
    );
  });

  it('reads one-line sources.list entries, with and without signed-by', () => {
    const signed = parseAptSources({ '/etc/apt/sources.list': '# mirror\ndeb [arch=amd64 signed-by=/etc/apt/keyrings/deb.gpg] http://ftp.jp.debian.org/debian bookworm main contrib\n' });
    expect(backportsStanza(signed, 'bookworm')).toContain('URIs: http://ftp.jp.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /etc/apt/keyrings/deb.gpg\n');
    const plain = parseAptSources({ '/etc/apt/sources.list': 'deb http://deb.debian.org/debian bookworm main\ndeb-src http://deb.debian.org/debian bookworm main\n' });
    expect(backportsStanza(plain, 'bookworm')).toBe('Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\n');
  });

  it('adds nothing when backports is already configured (deb822 or one-line), however the file is named', () => {
    const byHand = 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n';
    expect(backportsStanza(parseAptSources({ 'a/debian.sources': DEBIAN_SOURCES, 'a/backports.sources': byHand }), 'bookworm')).toBeNull();
    expect(backportsStanza(parseAptSources({ 'a/debian.sources': DEBIAN_SOURCES, 'a/x.list': 'deb http://deb.debian.org/debian bookworm-backports main\n' }), 'bookworm')).toBeNull();
  });

  it('ignores disabled and commented-out backports entries', () => {
    const disabled = 'Enabled: no\nTypes: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\n';
    expect(backportsStanza(parseAptSources({ 'a/debian.sources': DEBIAN_SOURCES, 'a/b.sources': disabled }), 'bookworm')).not.toBeNull();
    expect(backportsStanza(parseAptSources({ 'a/debian.sources': DEBIAN_SOURCES, 'a/b.list': '# deb http://deb.debian.org/debian bookworm-backports main\n' }), 'bookworm')).not.toBeNull();
  });

  it('throws when no entry serves the codename', () => {
    expect(() => backportsStanza(parseAptSources({ 'a/n.sources': NODESOURCE }), 'bookworm')).toThrow(/no apt source serves the suite bookworm/);
  });
});

describe('upstreamMajorMinor', () => {
  it("reads Debian's mesa versions: bookworm 22.3, bookworm-backports 25.0, with an epoch", () => {
    expect(upstreamMajorMinor('22.3.6-1+deb12u2')).toEqual([22, 3]);
    expect(upstreamMajorMinor('25.0.7-2~bpo12+1')).toEqual([25, 0]);
    expect(upstreamMajorMinor('1:24.2.8-1')).toEqual([24, 2]);
    expect(upstreamMajorMinor('')).toBeNull();
  });
});
