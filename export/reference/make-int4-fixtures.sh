#!/usr/bin/env bash
# The int4-exactness fixtures (issue 15, outcome 2): Hugging Face float32 on the int4 packages' own dequantized
# weights (export/reference/hf_package_reference.py), for the tiny and odd checkpoints, q4f32 and q4f16.
#
# 1. Here, from the repository root (exports the four packages with our exporter from the committed checkpoints,
#    ~8 MB, into the git-ignored bench/out/int4-packages; the tests export the same bytes and check their sha256):
#        bash export/reference/make-int4-fixtures.sh stage
# 2. On the GPU machine (device tool, CPU float32 is enough; ≈ 1–2 min including the start), carry
#    ["bench/out/int4-packages"], command:
#        bash export/reference/make-int4-fixtures.sh run
#    $OUT gets int4-fixtures.tar.gz (+ int4-fixtures.log).
# 3. Here: tar -xzf <files_at>/int4-fixtures.tar.gz -C export/reference/fixtures
#    → export/reference/fixtures/{tiny,odd}/{q4f32,q4f16}/ (package.json, versions.json, reference-log.txt,
#    <case>/case.json, step_logits.f32, image_features.f32), read by src/model/int4-exactness.test.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
PKGS=bench/out/int4-packages
case "${1:-}" in
  stage)
    rm -rf "$PKGS" && mkdir -p "$PKGS"
    for model in tiny odd; do
      for precision in q4f32 q4f16; do
        # The checkpoint path as the tests give it: the manifest records it (exporter.source).
        npx vite-node export/cli/export.ts -- "export/reference/fixtures/$model/checkpoint" --out "$PKGS/$model-$precision" --precision "$precision" | tail -1
      done
    done
    git rev-parse HEAD > "$PKGS/commit"
    du -sh "$PKGS"
    ;;
  run)
    work=$(mktemp -d)
    for model in tiny odd; do
      for precision in q4f32 q4f16; do
        out="$work/$model/$precision"
        mkdir -p "$out"
        echo "== $model $precision"
        PYTHONUNBUFFERED=1 python3 export/reference/hf_package_reference.py "export/reference/fixtures/$model/checkpoint" "$PKGS/$model-$precision" \
          "export/reference/fixtures/$model" "$out" 2>&1 | tee "$out/reference-log.txt"
      done
    done 2>&1 | tee "$OUT/int4-fixtures.log"
    tar -czf "$OUT/int4-fixtures.tar.gz" -C "$work" tiny odd
    ls -la "$OUT"
    ;;
  *)
    echo "usage: bash export/reference/make-int4-fixtures.sh stage|run" >&2
    exit 2
    ;;
esac
