// Runs before `npm test`: the tests need Debian's Chromium (browser tests, and its SwiftShader
// Vulkan driver for Dawn in Node) and the Vulkan loader. Installs them when we are root on Debian/Ubuntu;
// otherwise says exactly what to install. Never lets the tests start without WebGPU.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const hasChromium = existsSync('/usr/bin/chromium') || Boolean(process.env.CHROMIUM_PATH);
const hasIcd = existsSync(ICD);
const hasVulkan = spawnSync('sh', ['-c', 'ldconfig -p | grep -q libvulkan.so.1']).status === 0;

if (hasChromium && hasIcd && hasVulkan) process.exit(0);

const packages = 'chromium libvulkan1';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && existsSync('/usr/bin/apt-get')) {
  console.log(`tests need ${packages}; installing them with apt-get…`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages.split(' ')], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  process.exit(0);
}
console.error(
  `The tests run on real WebGPU without a GPU through SwiftShader and need Chromium and the Vulkan loader.\n` +
    `Install them:  sudo apt-get install -y ${packages}   (Debian/Ubuntu; other systems: Chromium plus libvulkan)\n` +
    `Missing: ${[!hasChromium && 'chromium', !hasIcd && ICD, !hasVulkan && 'libvulkan.so.1'].filter(Boolean).join(', ')}`,
);
process.exit(1);
