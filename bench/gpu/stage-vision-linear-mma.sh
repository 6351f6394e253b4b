#!/usr/bin/env bash
# Fills bench/out/gpu-mma/ (git-ignored, ~80 KB) with the GPU check of the subgroup-matrix dense kernel
# (bench/vision-linear-mma.bench.ts, bundled), built from a clean checkout of COMMIT (default HEAD), in the checkout
# it is run from. It needs no onnxruntime-web. Then, with .gpu staged (../shared/gpu/stage.sh), the device command
# (≈ 60–90 s on an H200; give it 300):
#   carry [".gpu", "bench/out/gpu-mma"]
#   source .gpu/env.sh && "$NODE" bench/out/gpu-mma/vision-linear-mma.mjs --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia --out $OUT/vision-linear-mma.json 2>&1 | tee $OUT/vision-linear-mma.log | tail -80
# Usage (from the project root, or piped from another branch: git show h14a:bench/gpu/stage-vision-linear-mma.sh | bash -s -- h14a)
set -eu
cd "$(git rev-parse --show-toplevel)"
COMMIT=${1:-HEAD}
WT=$(mktemp -d)
git worktree add -f --detach "$WT" "$COMMIT" -q
ln -s "$PWD/node_modules" "$WT/node_modules"
(cd "$WT" && node bench/gpu/bundle.mjs bench/vision-linear-mma.bench.ts) > /dev/null
OUTDIR=bench/out/gpu-mma
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
cp "$WT/bench/out/gpu-bundle/vision-linear-mma.mjs" "$OUTDIR/"
git worktree remove --force "$WT"
echo "$OUTDIR: $(du -sh "$OUTDIR" | cut -f1), commit $(git rev-parse --short "$COMMIT")"
