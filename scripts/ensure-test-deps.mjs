// Runs before `npm test` (and first in .ci/run, before `npm ci`: plain Node, no dependencies). The tests run on real
// WebGPU on two CPU adapters (DESIGN.md §8): SwiftShader, which Debian's Chromium ships (browser tests, and Dawn in
// Node through Vulkan), and Mesa's lavapipe, which needs Mesa ≥ 25 (Debian 12's own 22.3 is too old for Dawn; 25
// comes from bookworm-backports). Installs what is missing when we are root on Debian/Ubuntu; otherwise prints the
// exact commands. Never lets the tests start without both adapters.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backportsStanza, parseAptSources, upstreamMajorMinor } from './apt-sources.mjs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
const MESA_PACKAGE = 'mesa-vulkan-drivers';
/** The oldest Mesa whose lavapipe Dawn was seen to use (25.0.7); bookworm's 22.3 gives no adapter. */
const MIN_MESA = [25, 0];

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function missingBase() {
  const hasChromium = existsSync('/usr/bin/chromium') || Boolean(process.env.CHROMIUM_PATH);
  const hasVulkan = spawnSync('sh', ['-c', 'ldconfig -p | grep -q libvulkan.so.1']).status === 0;
  return [!hasChromium && 'chromium', !existsSync(SWIFTSHADER_ICD) && SWIFTSHADER_ICD, !hasVulkan && 'libvulkan.so.1'].filter(Boolean);
}

const newEnough = (version) => {
  const v = version ? upstreamMajorMinor(version) : null;
  return v !== null && (v[0] > MIN_MESA[0] || (v[0] === MIN_MESA[0] && v[1] >= MIN_MESA[1]));
};

/** What is wrong with lavapipe here ('' when it is usable): its driver file and its Mesa version. */
function lavapipeProblem() {
  if (!existsSync(LAVAPIPE_ICD)) return `${LAVAPIPE_ICD} is missing`;
  const q = spawnSync('dpkg-query', ['-W', '-f=${Version}\\n', MESA_PACKAGE], { encoding: 'utf8' });
  if (q.status !== 0) return ''; // not a dpkg system: trust the driver file
  const version = q.stdout.split('\n')[0] ?? '';
  return newEnough(version) ? '' : `${MESA_PACKAGE} ${version} is older than Mesa ${MIN_MESA.join('.')}`;
}

/** Whether a suite other than a backports one offers a new enough `pkg` (`apt-cache madison`: pkg | version | source). */
function distributionHasNewEnough(pkg) {
  const q = spawnSync('apt-cache', ['madison', pkg], { encoding: 'utf8' });
  return (q.stdout ?? '')
    .split('\n')
    .map((line) => line.split('|').map((f) => f.trim()))
    .some(([, version, source]) => version && source && !/-backports\//.test(source) && newEnough(version));
}

function osCodename() {
  const release = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=["']?([a-z]+)/m.exec(release)?.[1] ?? '';
}

function aptSourceFiles() {
  const files = {};
  if (existsSync('/etc/apt/sources.list')) files['/etc/apt/sources.list'] = readFileSync('/etc/apt/sources.list', 'utf8');
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) if (/\.(list|sources)$/.test(name)) files[join(dir, name)] = readFileSync(join(dir, name), 'utf8');
  }
  return files;
}

/**
 * How to get a new enough lavapipe: the suite to install from ('' = the distribution's own) and the deb822 stanza to
 * add first (null when none is needed or backports is already configured).
 */
function lavapipePlan() {
  if (distributionHasNewEnough(MESA_PACKAGE)) return { suite: '', stanza: null, file: '' };
  const codename = osCodename();
  if (!codename) throw new Error(`cannot read VERSION_CODENAME from /etc/os-release to find the ${MESA_PACKAGE} backport`);
  return { suite: `${codename}-backports`, stanza: backportsStanza(parseAptSources(aptSourceFiles()), codename), file: `/etc/apt/sources.list.d/${codename}-backports.sources` };
}

const apt = (...args) => execFileSync('apt-get', args, { stdio: 'inherit', env: aptEnv });
const installArgs = (suite) => ['install', '-y', '-qq', '--no-install-recommends', ...(suite ? ['-t', suite] : []), MESA_PACKAGE];

let base = missingBase();
let lavapipe = lavapipeProblem();
if (base.length === 0 && !lavapipe) process.exit(0);

try {
  if (isRoot && hasApt) install();
  else explain();
} catch (e) {
  console.error(`ensure-test-deps: ${e instanceof Error ? e.message : String(e)}`);
}
process.exit(1);

function install() {
  apt('update', '-qq');
  if (base.length > 0) {
    console.log(`tests need chromium and libvulkan1 (missing: ${base.join(', ')}); installing them with apt-get…`);
    apt('install', '-y', '-qq', '--no-install-recommends', 'chromium', 'libvulkan1');
  }
  if (lavapipe) {
    const plan = lavapipePlan();
    console.log(`tests need Mesa's lavapipe ≥ ${MIN_MESA.join('.')} (${lavapipe}); installing ${MESA_PACKAGE}${plan.suite ? ` from ${plan.suite}` : ''}…`);
    if (plan.stanza) {
      console.log(`adding ${plan.file}:\n${plan.stanza}`);
      writeFileSync(plan.file, plan.stanza);
      apt('update', '-qq');
    }
    apt(...installArgs(plan.suite));
  }
  base = missingBase();
  lavapipe = lavapipeProblem();
  if (base.length === 0 && !lavapipe) process.exit(0);
  console.error(`Installed, but still missing: ${[...base, lavapipe].filter(Boolean).join(', ')}`);
}

function explain() {
  const lines = ['The tests run on real WebGPU without a GPU, on SwiftShader (Chromium) and Mesa lavapipe, through the Vulkan loader.'];
  if (base.length > 0) lines.push(`Missing: ${base.join(', ')}. Install:  sudo apt-get install -y chromium libvulkan1   (Debian/Ubuntu; elsewhere: Chromium and libvulkan)`);
  if (lavapipe) {
    lines.push(`lavapipe: ${lavapipe}.`);
    if (hasApt) {
      const plan = lavapipePlan();
      if (plan.stanza) lines.push(`Add ${plan.suite} (same mirror and keyring as your Debian entry):`, `  sudo tee ${plan.file} <<'EOF'\n${plan.stanza}EOF`);
      lines.push('  sudo apt-get update', `  sudo apt-get install -y ${plan.suite ? `-t ${plan.suite} ` : ''}${MESA_PACKAGE}`);
    } else {
      lines.push(`Install Mesa ≥ ${MIN_MESA.join('.')} with its lavapipe Vulkan driver (Debian/Ubuntu: ${MESA_PACKAGE}; Fedora: mesa-vulkan-drivers; Arch: vulkan-swrast).`);
    }
  }
  console.error(lines.join('\n'));
}
