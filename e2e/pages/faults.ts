// e2e page: loading a package through the worker engine from a server that misbehaves, and the cache API.
import { deleteCachedModel, listCachedModels, type StoredModel } from '../../src/api/model-cache';
import { SarashinaError } from '../../src/protocol/errors';
import { createWorkerEngine } from '../../workers/engine-client';

export interface FaultLoadResult {
  readonly code: string | null;
  readonly answer: string | null;
  readonly progressEvents: number;
}

declare global {
  interface Window {
    faultLoad: (model: string) => Promise<FaultLoadResult>;
    faultCache: () => Promise<StoredModel[]>;
    faultDelete: (idOrUrl: string) => Promise<StoredModel[]>;
  }
}

window.faultLoad = async (model) => {
  let progressEvents = 0;
  try {
    const engine = await createWorkerEngine({ model, contextTokens: 256, onProgress: () => progressEvents++ });
    const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'こんにちは' }], max_tokens: 3 });
    await engine.dispose();
    return { code: null, answer: reply.choices[0].message.content, progressEvents };
  } catch (e) {
    return { code: e instanceof SarashinaError ? e.code : `not a SarashinaError: ${String(e)}`, answer: null, progressEvents };
  }
};

window.faultCache = () => listCachedModels();

window.faultDelete = async (idOrUrl) => {
  await deleteCachedModel(idOrUrl);
  return listCachedModels();
};
