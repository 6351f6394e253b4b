#!/usr/bin/env bash
# The whole-model benchmark on the GPU machine (device tool), from the repository root, with
# carry [".gpu", "bench/out/gpu-model"] (filled by bench/gpu/stage-model-bench.sh): writes the random 8B q4f32
# package to local disk, runs bench/model.bench.ts once per path (our kernels, then the ORT-only paths) and
# then ../shared/gpu/reference_baseline.py (Hugging Face, bf16) on the same card, sampling nvidia-smi's memory
# use throughout. Everything lands in $OUT. Environment: COMMIT (recorded), PRESET (8b), PATHS, BENCH_ARGS,
# PROFILE_LOAD (a CPU profile of loading), BUNDLE (default bench/out/gpu-model) and TAG (suffix of the result files,
# for two bundles measured in one call, e.g. before and after a change), REFERENCE=0 (skip Hugging Face),
# PRECISION (q4f32), DAWN_FLAGS (Dawn toggles, e.g. the f16 ones; passed as --dawn-flags), LOAD_ONLY=0 (skip the separate --liftoff-only load timing). The 14B shape (issue 15,
# outcome 3; the Sarashina2-13B guess of export/random/random-presets.ts, q4f32 ≈ 13 GB of package on disk):
#   PRESET=14b PRECISION=q4f32 TAG=14b-q4f32 bash bench/gpu/run-model-bench.sh
#   PRESET=14b PRECISION=q4f16 DAWN_FLAGS=allow_unsafe_apis,vulkan_enable_f16_on_nvidia TAG=14b-q4f16 REFERENCE=0 bash bench/gpu/run-model-bench.sh Loading is timed in a process of its own with --liftoff-only (as the CLI
# runs): with V8's defaults Node spends tens of seconds optimizing onnxruntime-web's 27 MB wasm before the first
# session exists, which a browser does not (Chrome starts on baseline code, tiers up in the background and caches
# it). The speed runs use V8's defaults, i.e. optimized ORT code as a browser has once warm; their load time
# includes that compile.
set -u
source .gpu/env.sh
B=${BUNDLE:-bench/out/gpu-model}
T=${TAG:+-$TAG}
for f in "$B"/*.xz; do xz -dkf "$f"; done
# (At most 8 files come back from the device: keep the card's description in the memory log.)
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$OUT/gpu-memory$T.log"
# Sampled every 2 s: querying nvidia-smi more often was suspected of stalling decode steps.
(while true; do echo "$(date +%T.%N | cut -c1-12) $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits)"; sleep 2; done) >> "$OUT/gpu-memory$T.log" 2>&1 &
SMI=$!
PKG=/tmp/pkg-${PRESET:-8b}-${PRECISION:-q4f32}$T
if [ ! -f "$PKG/manifest.json" ]; then
  "$NODE" "$B/random-package.mjs" --preset "${PRESET:-8b}" --precision "${PRECISION:-q4f32}" --seed 1 --max-pixels 2408448 --out "$PKG" > "$OUT/random-package$T.log" 2>&1
  tail -1 "$OUT/random-package$T.log"
fi
if [ -n "${PROFILE_LOAD:-}" ]; then
  "$NODE" --liftoff-only --cpu-prof --cpu-prof-dir="$OUT/prof" "$B/model.mjs" --package "$PKG" --paths kernels --load-only 2>&1 | grep -v XDG_RUNTIME | tail -1 | tee "$OUT/load-profile.txt"
  "$NODE" bench/gpu/summarize-cpuprofile.mjs "$OUT"/prof/*.cpuprofile 40 >> "$OUT/load-profile.txt" && rm -rf "$OUT/prof"
  head -12 "$OUT/load-profile.txt"
elif [ "${LOAD_ONLY:-1}" != 0 ]; then
  "$NODE" --liftoff-only "$B/model.mjs" --package "$PKG" --paths kernels --load-only 2>&1 | grep -v XDG_RUNTIME | tail -1 | tee "$OUT/load-profile$T.txt"
fi
for p in ${PATHS:-kernels ort-baseline}; do
  echo "== $p $(date +%T)" >> "$OUT/gpu-memory$T.log"
  BENCH_COMMIT="${COMMIT:-unknown}" timeout "${BENCH_TIMEOUT:-240}" "$NODE" "$B/model.mjs" --package "$PKG" --paths "$p" --out "$OUT/model-$p$T.json" ${DAWN_FLAGS:+--dawn-flags "$DAWN_FLAGS"} ${BENCH_ARGS:-} 2>&1 | grep -v XDG_RUNTIME | tee "$OUT/model-$p$T.log" | tail -3
done
if [ "${REFERENCE:-1}" != 0 ]; then
  echo "== reference $(date +%T)" >> "$OUT/gpu-memory$T.log"
  PYTHONUNBUFFERED=1 timeout "${REF_TIMEOUT:-200}" python3 "$B/reference_baseline.py" 2>&1 | tee "$OUT/reference.log" | tail -2
fi
kill $SMI
