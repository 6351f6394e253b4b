#!/usr/bin/env bash
# Fills bench/out/gpu-model/ (git-ignored) for bench/gpu/run-model-bench.sh: the bundled model bench and random
# package writer built from a clean checkout of COMMIT (default HEAD; other engineers' uncommitted edits stay
# out), onnxruntime-web's wasm files and the reference baseline script. About 4 MB with xz.
set -eu
cd "$(dirname "$0")/../.."
COMMIT=${1:-HEAD}
WT=$(mktemp -d)
git worktree add -f --detach "$WT" "$COMMIT" -q
ln -s "$PWD/node_modules" "$WT/node_modules"
(cd "$WT" && node bench/gpu/bundle.mjs bench/model.bench.ts && node bench/gpu/bundle.mjs export/cli/random-package.ts) > /dev/null
OUTDIR=bench/out/gpu-model
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
cp "$WT/bench/out/gpu-bundle/model.mjs" "$WT/bench/out/gpu-bundle/random-package.mjs" "$OUTDIR/"
git worktree remove --force "$WT"
cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs "$OUTDIR/"
xz -9 -T2 -c node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm > "$OUTDIR/ort-wasm-simd-threaded.asyncify.wasm.xz"
xz -9 "$OUTDIR/model.mjs"
cp ../shared/gpu/reference_baseline.py "$OUTDIR/"
echo "$OUTDIR: $(du -sh "$OUTDIR" | cut -f1), commit $(git rev-parse --short "$COMMIT")"
