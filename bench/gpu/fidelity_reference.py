"""Hugging Face float32 on the GPU for bench/gpu/fidelity.sh (issue 15, outcomes 1 and 2 at full width).

    PYTHONUNBUFFERED=1 python3 bench/gpu/fidelity_reference.py CHECKPOINT_DIR OUT_ROOT [PACKAGE_DIR:VARIANT ...]

The model is export/reference/hf_reference.py's (Qwen2-VL vision classes + LlamaForCausalLM composed as
Sarashina2-Vision does, eager attention), in float32 on CUDA with TF32 off (matmul and cuDNN), so the reference is
float32 arithmetic. Prompts: the checkpoint's chat template and tokenizer, an image + question and a text-only
question, pixels by Qwen2VLImageProcessorPil with the checkpoint's preprocessor_config (as hf_reference.py).

Weights, one variant after the other on the same model:
  fp32           the checkpoint's (bf16, exact in float32) — what the fp32 package holds;
  VARIANT        each PACKAGE_DIR's own weights, int4 decoded per MatMulNBits and f16 widened
                 (export/reference/hf_package_reference.py), e.g. /tmp/pkg/q4f32:q4f32.

Writes, in the layout src/testing/int4-fixtures.ts reads (the engine side, bench/gpu/fidelity.ts, uses it):
  OUT_ROOT/<case>/case.json, pixel_values.f32.gz, first_logits.f32   the prompt (fp32 fixture layout);
  OUT_ROOT/<variant>/<case>/case.json, step_logits.f32, image_features.f32   per variant: logits at the last prompt
      position and after each of that variant's own greedy tokens (STEPS), top-2 margins, image features;
  OUT_ROOT/<variant>/package.json (package variants), OUT_ROOT/versions.json.
"""

import gzip
import hashlib
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "export", "reference"))
from hf_reference import PROMPTS, ImageProcessor, Sarashina2VisionReference, build_prompt, f32_bytes, load_weights, make_images  # noqa: E402
from hf_package_reference import PackageWeights, greedy_steps, load_package_weights, sha256_file  # noqa: E402

CASES = [
    {"name": "image-en", "images": ["waves-box-520x400.png"], "prompt": "en"},
    {"name": "text-ja", "images": [], "prompt": "ja"},
]
# The head of a text prompt, for the engine run that feeds every prompt token through the decode step.
HEADS = {"text-ja-head16": ("text-ja", 16)}
STEPS = 8


def prepare_inputs(ckpt_dir, out_root):
    """Ids and pixel values of every case (CPU), written in the fp32 fixture layout."""
    tok_class = json.load(open(os.path.join(ckpt_dir, "tokenizer_config.json"))).get("tokenizer_class", "PreTrainedTokenizerFast")
    tok = getattr(transformers, tok_class).from_pretrained(ckpt_dir)
    template = json.load(open(os.path.join(ckpt_dir, "chat_template.json")))["chat_template"]
    pre = json.load(open(os.path.join(ckpt_dir, "preprocessor_config.json")))
    keys = ["do_resize", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
            "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size"]
    proc = ImageProcessor(**{k: pre[k] for k in keys if k in pre})
    img_dir = os.path.join(out_root, "images")
    make_images(img_dir)
    from PIL import Image
    inputs = {}
    for case in CASES:
        cdir = os.path.join(out_root, case["name"])
        os.makedirs(cdir, exist_ok=True)
        rec = {"name": case["name"], "images": case["images"], "prompt": PROMPTS[case["prompt"]], "grids": []}
        pv = grid = None
        if case["images"]:
            enc = proc(images=[Image.open(os.path.join(img_dir, f)) for f in case["images"]], return_tensors="pt")
            pv, grid = enc["pixel_values"].to(torch.float32), enc["image_grid_thw"]
            raw = f32_bytes(pv)
            with gzip.open(os.path.join(cdir, "pixel_values.f32.gz"), "wb", compresslevel=1) as f:
                f.write(raw)
            rec["grids"] = grid.tolist()
            rec["pixelValues"] = {"shape": list(pv.shape), "file": "pixel_values.f32.gz", "sha256": hashlib.sha256(raw).hexdigest()}
        _, text = build_prompt(tok, template, rec["prompt"], rec["grids"], pre.get("merge_size", 2))
        rec["inputIds"] = tok(text, add_special_tokens=False)["input_ids"]
        inputs[case["name"]] = (rec, pv, grid)
    return inputs


def run_variant(model, variant, inputs, out_root, device):
    vdir = os.path.join(out_root, variant)
    rows = []
    runs = [(name, name, None) for name in inputs] + [(name, src, head) for name, (src, head) in HEADS.items()]
    for name, source, head in runs:
        rec, pv, grid = inputs[source]
        ids = rec["inputIds"][:head] if head else rec["inputIds"]
        cdir = os.path.join(vdir, name)
        os.makedirs(cdir, exist_ok=True)
        out = {"name": name, "source": source, "inputIds": ids, "grids": rec["grids"] if not head else [], "images": rec["images"] if not head else []}
        t0 = time.time()
        with torch.no_grad():
            feats = None
            if pv is not None and not head:
                feats = model.norm(model.merged_features(pv.to(device), grid.to(device)))
                open(os.path.join(cdir, "image_features.f32"), "wb").write(f32_bytes(feats))
                out["imageFeatures"] = {"shape": list(feats.shape), "file": "image_features.f32"}
            emb = model.embeddings(torch.tensor([ids], device=device), feats)
            logits, tokens, top2, margins = greedy_steps(model, emb, STEPS)
        open(os.path.join(cdir, "step_logits.f32"), "wb").write(f32_bytes(logits))
        out["stepLogits"] = {"shape": list(logits.shape), "file": "step_logits.f32"}
        out["greedy"] = {"tokens": tokens, "top2": top2, "margins": margins, "minMargin": min(margins)}
        out["firstLogitsStd"] = float(logits[0].std())
        json.dump(out, open(os.path.join(cdir, "case.json"), "w"), ensure_ascii=False, indent=1)
        if variant == "fp32" and not head:
            # The prompt's own folder (fp32 fixture layout, read by loadCase): the fp32 reference's first logits.
            src = dict(rec, greedy={"tokens": tokens, "margins": margins})
            json.dump(src, open(os.path.join(out_root, source, "case.json"), "w"), ensure_ascii=False, indent=1)
            open(os.path.join(out_root, source, "first_logits.f32"), "wb").write(f32_bytes(logits[0]))
        rows.append((name, len(ids), tokens, min(margins), time.time() - t0))
        print(f"{variant:6s} {name:16s} ids={len(ids):4d} tokens={tokens} minMargin={min(margins):.4f} ({time.time() - t0:.1f} s)")
    return rows


def main():
    ckpt_dir, out_root = sys.argv[1], sys.argv[2]
    packages = [a.rsplit(":", 1) for a in sys.argv[3:]]
    os.makedirs(out_root, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    config = json.load(open(os.path.join(ckpt_dir, "config.json")))
    inputs = prepare_inputs(ckpt_dir, out_root)
    try:  # random init straight on the GPU (seconds, where the CPU takes minutes at full width)
        with torch.device(device):
            model = Sarashina2VisionReference(config).eval()
    except Exception as e:  # noqa: BLE001
        print(f"building the model on {device} failed ({e}); building it on the CPU")
        model = Sarashina2VisionReference(config).eval().to(device)
    versions = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
                "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "dtype": "float32", "tf32": False, "attention": "eager",
                "text": {k: getattr(model.tcfg, k) for k in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"]},
                "vision": {k: getattr(model.vcfg, k) for k in ["depth", "embed_dim", "num_heads", "hidden_size"]}, "variants": {}}
    print(versions)
    versions["variants"]["fp32"] = load_weights(model, ckpt_dir)
    print(f"fp32 weights loaded ({time.time() - t0:.0f} s)")
    run_variant(model, "fp32", inputs, out_root, device)
    for pkg_dir, variant in packages:
        t1 = time.time()
        pkg = PackageWeights(pkg_dir)
        versions["variants"][variant] = load_package_weights(model, pkg)
        m = pkg.manifest
        os.makedirs(os.path.join(out_root, variant), exist_ok=True)
        json.dump({"precision": m["precision"], "exporter": m["exporter"], "manifestSha256": sha256_file(os.path.join(pkg_dir, "manifest.json")),
                   "shards": [{"path": s["path"], "sha256": s["sha256"]} for s in m["shards"]]}, open(os.path.join(out_root, variant, "package.json"), "w"), indent=1)
        print(f"{variant} weights loaded from {pkg_dir} ({time.time() - t1:.0f} s)")
        run_variant(model, variant, inputs, out_root, device)
    versions["seconds"] = round(time.time() - t0, 1)
    json.dump(versions, open(os.path.join(out_root, "versions.json"), "w"), indent=1)
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
