#!/usr/bin/env bash
# Fills bench/out/gpu-fidelity/ (git-ignored) for bench/gpu/fidelity.sh: the random-checkpoint and export CLIs and the
# fidelity runner bundled from a clean checkout of COMMIT (default HEAD), onnxruntime-web's wasm files. Run from the
# repository root, together with `bash ../shared/gpu/stage.sh` (fills .gpu/: Node, Dawn, Vulkan loader):
#     bash bench/gpu/stage-fidelity.sh [COMMIT]
set -eu
cd "$(dirname "$0")/../.."
COMMIT=${1:-HEAD}
WT=$(mktemp -d)
git worktree add -f --detach "$WT" "$COMMIT" -q
ln -s "$PWD/node_modules" "$WT/node_modules"
(cd "$WT" && for entry in export/cli/random-checkpoint.ts export/cli/export.ts bench/gpu/fidelity.ts; do node bench/gpu/bundle.mjs "$entry"; done) > /dev/null
OUTDIR=bench/out/gpu-fidelity
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
cp "$WT/bench/out/gpu-bundle/random-checkpoint.mjs" "$WT/bench/out/gpu-bundle/export.mjs" "$WT/bench/out/gpu-bundle/fidelity.mjs" "$OUTDIR/"
git worktree remove --force "$WT"
cp node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs "$OUTDIR/"
xz -9 -T2 -c node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm > "$OUTDIR/ort-wasm-simd-threaded.asyncify.wasm.xz"
for f in export.mjs fidelity.mjs; do xz -9 "$OUTDIR/$f"; done
git rev-parse --short "$COMMIT" > "$OUTDIR/commit"
echo "$OUTDIR: $(du -sh "$OUTDIR" | cut -f1), commit $(cat "$OUTDIR/commit")"
