import { downloadPackage, type PackageFileRef } from '../../src/loader/download-package';
import type { DownloadProgress } from '../../src/loader/download-progress';
import { OpfsStore } from '../../src/loader/opfs-store';

declare global {
  interface Window {
    loaderRun: (baseUrl: string, files: PackageFileRef[]) => Promise<unknown>;
  }
}

window.loaderRun = async (baseUrl, files) => {
  const store = new OpfsStore();
  await store.deleteModel('e2e');
  const events: DownloadProgress[] = [];
  await downloadPackage({ baseUrl, modelId: 'e2e', files, store, onProgress: (p) => events.push(p) });
  const verified = await Promise.all(files.map((f) => store.verifiedSha256('e2e', f.path)));
  let fetches = 0;
  const counting: typeof fetch = (...args) => {
    fetches++;
    return fetch(...args);
  };
  await downloadPackage({ baseUrl, modelId: 'e2e', files, store, fetch: counting });
  const listed = await store.list();
  const bad = await downloadPackage({
    baseUrl,
    modelId: 'e2e-bad',
    files: files.map((f) => ({ ...f, sha256: '0'.repeat(64) })),
    store,
  }).then(
    () => 'no error',
    (e: { code?: string }) => e.code,
  );
  const badCached = await store.verifiedSha256('e2e-bad', files[0]?.path ?? '');
  await store.deleteModel('e2e');
  await store.deleteModel('e2e-bad');
  return { verified, last: events[events.length - 1], fetchesOnSecondLoad: fetches, listed, bad, badCached, afterDelete: await store.list() };
};
