#!/usr/bin/env bash
# Fills bench/out/gpu-vision-attention-mma/ (git-ignored) for the GPU check of the subgroup-matrix vision attention
# (bench/gpu/vision-attention-mma.ts), bundled from a clean checkout of COMMIT (default HEAD). Run from the repository
# root, together with `bash ../shared/gpu/stage.sh` (fills .gpu/: Node, Dawn, Vulkan loader):
#     bash bench/gpu/stage-vision-attention-mma.sh [COMMIT]
# Then, on the GPU machine (carry .gpu and bench/out/gpu-vision-attention-mma), ≲ 90 s:
#     source .gpu/env.sh && xz -dkf bench/out/gpu-vision-attention-mma/vision-attention-mma.mjs.xz && \
#       "$NODE" bench/out/gpu-vision-attention-mma/vision-attention-mma.mjs \
#       --dawn-flags allow_unsafe_apis,vulkan_enable_f16_on_nvidia --out $OUT 2>&1 | tee $OUT/log.txt
set -eu
cd "$(dirname "$0")/../.."
COMMIT=${1:-HEAD}
WT=$(mktemp -d)
git worktree add -f --detach "$WT" "$COMMIT" -q
ln -s "$PWD/node_modules" "$WT/node_modules"
(cd "$WT" && node bench/gpu/bundle.mjs bench/gpu/vision-attention-mma.ts) > /dev/null
OUTDIR=bench/out/gpu-vision-attention-mma
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
cp "$WT/bench/out/gpu-bundle/vision-attention-mma.mjs" "$OUTDIR/"
git worktree remove --force "$WT"
xz -9 "$OUTDIR/vision-attention-mma.mjs"
git rev-parse --short "$COMMIT" > "$OUTDIR/commit"
echo "$OUTDIR: $(du -sh "$OUTDIR" | cut -f1), commit $(cat "$OUTDIR/commit")"
