// Runs every Hugging Face image-processor parity case in the browser: decode with createImageBitmap/WebGL,
// preprocess in TypeScript, compare with the fixture bit for bit (sha256 of the float32 array).
import { parseImageProcessorConfig } from '../../src/convert/hf-config';
import { decodeImageBlob } from '../../src/processor/image/decode-image-browser';
import { preprocessImages } from '../../src/processor/image/preprocess-images';

const FIXTURES = '/export/reference/fixtures/processor-image/';

interface FixtureCase {
  name: string;
  inputs: string[];
  hfKwargs: Record<string, unknown>;
  grids: number[][];
  sha256Float32: string;
}

export interface CaseResult {
  name: string;
  exact: boolean;
  gridsEqual: boolean;
}

declare global {
  interface Window {
    runProcessorCases: () => Promise<CaseResult[]>;
  }
}

async function sha256Hex(data: Float32Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

window.runProcessorCases = async () => {
  const { cases } = (await (await fetch(`${FIXTURES}cases.json`)).json()) as { cases: FixtureCase[] };
  const results: CaseResult[] = [];
  for (const c of cases) {
    const images = await Promise.all(c.inputs.map(async (file, i) => decodeImageBlob(await (await fetch(`${FIXTURES}inputs/${file}`)).blob(), i)));
    const out = preprocessImages(images, parseImageProcessorConfig(c.hfKwargs));
    results.push({
      name: c.name,
      exact: (await sha256Hex(out.pixelValues as Float32Array<ArrayBuffer>)) === c.sha256Float32,
      gridsEqual: JSON.stringify(out.grids.map((g) => [g.t, g.h, g.w])) === JSON.stringify(c.grids),
    });
  }
  return results;
};
