"""Hugging Face reference for a Sarashina2-Vision checkpoint in the HF layout (issue 3).

Runs on the GPU machine (PyTorch 2.11, transformers 5.17; no internet):

    PYTHONUNBUFFERED=1 python3 export/reference/hf_reference.py CHECKPOINT_DIR OUT_DIR

The remote-code Sarashina2VisionForCausalLM is not available, so the model is composed from Hugging Face's
own classes exactly as Sarashina2-Vision does (../shared/reference/sarashina2-vision-architecture.md §1.4-1.5):
  visual = Qwen2VisionTransformerPretrainedModel(Qwen2VLVisionConfig(**config["vision_config"]))
  norm   = nn.LayerNorm(text hidden, eps=1e-5)
  llm    = LlamaForCausalLM(LlamaConfig(**config["text_config"]))
Both configs are built from the checkpoint's diff-format dicts, so transformers fills in its own defaults; the
effective values are written to hf-spec.json for the TS config parser to be checked against. The weights are
loaded strictly (every checkpoint tensor used, every parameter set) and everything runs in float32 on the CPU
(the bf16 weights are exact in f32), eager attention. Image features replace the embeddings at <|file|> positions
in order; the decoder gets plain 1-D positions 0..L-1 (no M-RoPE).

Prompt convention: the chat template renders one `<|prefix|><|file|><|suffix|>` block; it is repeated once per
image with each `<|file|>` expanded to t*h*w/4 copies, or removed when there is no image. The text is then
tokenized without adding special tokens (the template already starts with <s>).

Outputs under OUT_DIR: versions.json, hf-spec.json, images/*.png (inputs, generated here deterministically),
<case>/case.json + float32 little-endian binaries (pixel_values.f32.gz, image_features.f32,
merger_output.f32, first_logits.f32), bf16.json (how far a bf16 run is from the fp32 reference).
"""

import gzip
import hashlib
import json
import os
import platform
import sys

import numpy as np
import torch
import transformers
from PIL import Image
from safetensors.torch import load_file
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.qwen2_vl import modeling_qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig

try:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as ImageProcessor
except ImportError:  # older layout: the slow processor is the PIL one
    from transformers import Qwen2VLImageProcessor as ImageProcessor

GREEDY_STEPS = 32
IMAGE_BLOCK = "<|prefix|><|file|><|suffix|>"
PROMPTS = {
    "en": "Describe this picture in detail. What colours and shapes do you see?",
    "ja": "この画像について詳しく説明してください。何色の図形が見えますか？",
    "en_two": "Compare the two pictures. Which one has more stripes?",
}


def make_images(out_dir):
    """Deterministic test pictures: gradients, a disc, stripes, a grey checker. Sizes exercise every
    smart_resize branch (round, floor above max_pixels, ceil below min_pixels)."""
    os.makedirs(out_dir, exist_ok=True)
    specs = {}
    yy, xx = np.mgrid[0:60, 0:90].astype(np.float64)
    a = np.stack([xx / 89 * 255, yy / 59 * 255, 128 + 100 * np.sin(xx / 7)], -1)
    a[(yy - 30) ** 2 + (xx - 45) ** 2 < 18 ** 2] = [250, 40, 30]
    specs["gradient-disc-90x60.png"] = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    yy, xx = np.mgrid[0:100, 0:150].astype(np.float64)
    b = np.stack([((xx // 10) % 2) * 200 + 30, yy * 2.5, 255 - xx * 1.5], -1)
    specs["stripes-150x100.png"] = Image.fromarray(np.clip(b, 0, 255).astype(np.uint8), "RGB")
    yy, xx = np.mgrid[0:400, 0:520].astype(np.float64)
    c = np.stack([128 + 127 * np.sin(xx / 23 + yy / 41), 128 + 127 * np.cos(yy / 17), (xx + yy) / 920 * 255], -1)
    c[(np.abs(xx - 260) < 60) & (np.abs(yy - 200) < 40)] = [20, 220, 60]
    specs["waves-box-520x400.png"] = Image.fromarray(np.clip(c, 0, 255).astype(np.uint8), "RGB")
    yy, xx = np.mgrid[0:30, 0:40]
    d = (((yy // 5) + (xx // 5)) % 2 * 180 + 40).astype(np.uint8)
    specs["checker-gray-40x30.png"] = Image.fromarray(d, "L")
    for name, im in specs.items():
        im.save(os.path.join(out_dir, name))
    return list(specs)


CASES = [
    {"name": "text-en", "images": [], "prompt": "en"},
    {"name": "text-ja", "images": [], "prompt": "ja"},
    {"name": "image-ja", "images": ["gradient-disc-90x60.png"], "prompt": "ja"},
    {"name": "image-large-en", "images": ["waves-box-520x400.png"], "prompt": "en"},
    {"name": "two-images-en", "images": ["stripes-150x100.png", "checker-gray-40x30.png"], "prompt": "en_two"},
]


def f32_bytes(t):
    return t.detach().to(torch.float32).cpu().contiguous().numpy().astype("<f4").tobytes()


class Sarashina2VisionReference(nn.Module):
    def __init__(self, config):
        super().__init__()
        # model_type is a class attribute of the config classes, not an init argument.
        vcfg = Qwen2VLVisionConfig(**{k: v for k, v in config["vision_config"].items() if k != "model_type"})
        tcfg = LlamaConfig(**{k: v for k, v in config["text_config"].items() if k != "model_type"})
        self.visual = modeling_qwen2_vl.Qwen2VisionTransformerPretrainedModel._from_config(vcfg, attn_implementation="eager").float()
        self.norm = nn.LayerNorm(tcfg.hidden_size, eps=1e-5)
        self.llm = LlamaForCausalLM._from_config(tcfg, attn_implementation="eager").float()
        self.image_token_id = config.get("image_token_index", 14)
        self.vcfg, self.tcfg = vcfg, tcfg

    def merged_features(self, pixel_values, grid_thw):
        """Qwen2-VL tower + PatchMerger output, whatever container this transformers version returns it in."""
        out = self.visual(pixel_values, grid_thw=grid_thw)
        n_merged = int((grid_thw.prod(-1)).sum().item()) // (self.vcfg.spatial_merge_size ** 2)
        candidates = [out] if torch.is_tensor(out) else [v for v in (getattr(out, "pooler_output", None), getattr(out, "last_hidden_state", None)) if v is not None]
        for v in candidates:
            if v.shape[0] == n_merged and v.shape[-1] == self.tcfg.hidden_size:
                return v
        raise RuntimeError(f"vision output has no [{n_merged}, {self.tcfg.hidden_size}] tensor: {[tuple(v.shape) for v in candidates]}")

    def embeddings(self, input_ids, image_features):
        emb = self.llm.get_input_embeddings()(input_ids)
        mask = input_ids == self.image_token_id
        if int(mask.sum()) != (0 if image_features is None else image_features.shape[0]):
            raise RuntimeError(f"{int(mask.sum())} <|file|> tokens but {0 if image_features is None else image_features.shape[0]} image features")
        if image_features is not None:
            emb = emb.clone()
            emb[mask] = image_features.to(emb.dtype)
        return emb

    def logits(self, inputs_embeds):
        positions = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device)[None]
        return self.llm(inputs_embeds=inputs_embeds, position_ids=positions, use_cache=False).logits


def load_weights(model, ckpt_dir):
    index = os.path.join(ckpt_dir, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    state = {}
    for f in files:
        state.update(load_file(os.path.join(ckpt_dir, f)))
    dtypes = sorted({str(v.dtype) for v in state.values()})
    state = {k: v.to(torch.float32) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Non-persistent buffers (rotary inv_freq) are not in a checkpoint; anything else must match exactly.
    missing = [k for k in missing if not k.endswith("inv_freq")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit: missing {missing[:10]}, unexpected {unexpected[:10]}")
    return {"files": files, "tensors": len(state), "checkpointDtypes": dtypes}


def build_prompt(tok, template, text, grids, merge):
    rendered = tok.apply_chat_template([{"role": "user", "content": text}], chat_template=template, tokenize=False, add_generation_prompt=False)
    if rendered.count(IMAGE_BLOCK) != 1:
        raise RuntimeError(f"template rendered {rendered.count(IMAGE_BLOCK)} image blocks: {rendered!r}")
    blocks = "".join("<|prefix|>" + "<|file|>" * (int(np.prod(g)) // (merge * merge)) + "<|suffix|>" for g in grids)
    return rendered, rendered.replace(IMAGE_BLOCK, blocks)


def greedy(model, inputs_embeds, steps):
    tokens, margins, top2 = [], [], []
    emb = inputs_embeds
    first = None
    for _ in range(steps):
        logits = model.logits(emb)[0, -1]
        if first is None:
            first = logits.clone()
        v, i = torch.topk(logits, 2)
        tokens.append(int(i[0]))
        top2.append([int(i[0]), int(i[1])])
        margins.append(float(v[0] - v[1]))
        nxt = model.llm.get_input_embeddings()(i[:1])[None]
        emb = torch.cat([emb, nxt], 1)
    return first, tokens, margins, top2


def run_case(case, model, tok, template, proc, img_dir, out_dir, merge):
    cdir = os.path.join(out_dir, case["name"])
    os.makedirs(cdir, exist_ok=True)
    images = [Image.open(os.path.join(img_dir, f)) for f in case["images"]]
    rec = {"name": case["name"], "images": case["images"], "prompt": PROMPTS[case["prompt"]]}
    feats = None
    grids = []
    if images:
        enc = proc(images=images, return_tensors="pt")
        pv, grid = enc["pixel_values"].to(torch.float32), enc["image_grid_thw"]
        grids = grid.tolist()
        pv_bytes = f32_bytes(pv)
        with gzip.open(os.path.join(cdir, "pixel_values.f32.gz"), "wb", compresslevel=9) as f:
            f.write(pv_bytes)
        rec["pixelValues"] = {"shape": list(pv.shape), "file": "pixel_values.f32.gz", "sha256": hashlib.sha256(pv_bytes).hexdigest(),
                              "firstRows": pv[:2, :16].tolist()}
        with torch.no_grad():
            merged = model.merged_features(pv, grid)
            feats = model.norm(merged)
        open(os.path.join(cdir, "merger_output.f32"), "wb").write(f32_bytes(merged))
        open(os.path.join(cdir, "image_features.f32"), "wb").write(f32_bytes(feats))
        rec["mergerOutput"] = {"shape": list(merged.shape), "file": "merger_output.f32"}
        rec["imageFeatures"] = {"shape": list(feats.shape), "file": "image_features.f32", "absMean": float(feats.abs().mean())}
    rec["grids"] = grids
    rendered, text = build_prompt(tok, template, rec["prompt"], grids, merge)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    rec["renderedTemplate"] = rendered
    rec["promptText"] = text if len(text) < 4000 else None
    rec["inputIds"] = ids
    rec["defaultEncodeAddsNothing"] = tok(text)["input_ids"] == ids
    input_ids = torch.tensor([ids])
    with torch.no_grad():
        emb = model.embeddings(input_ids, feats)
        first, tokens, margins, top2 = greedy(model, emb, GREEDY_STEPS)
    open(os.path.join(cdir, "first_logits.f32"), "wb").write(f32_bytes(first))
    rec["firstLogits"] = {"shape": [int(first.shape[0])], "file": "first_logits.f32", "std": float(first.std())}
    rec["greedy"] = {"tokens": tokens, "top2": top2, "margins": margins, "minMargin": min(margins), "text": tok.decode(tokens, skip_special_tokens=True)}
    json.dump(rec, open(os.path.join(cdir, "case.json"), "w"), ensure_ascii=False, indent=1)
    print(f"{case['name']:16s} ids={len(ids)} grids={grids} first={tokens[:8]} minMargin={min(margins):.4f}")
    return rec, emb, first, tokens


def main():
    ckpt_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    versions = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                "numpy": np.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                "referenceDevice": "cpu", "referenceDtype": "float32", "attention": "eager",
                "imageProcessor": f"{ImageProcessor.__module__}.{ImageProcessor.__name__}",
                "visionClass": "transformers.models.qwen2_vl.modeling_qwen2_vl.Qwen2VisionTransformerPretrainedModel"}
    print(versions)
    config = json.load(open(os.path.join(ckpt_dir, "config.json")))
    model = Sarashina2VisionReference(config).eval()
    versions["weights"] = load_weights(model, ckpt_dir)
    versions["paramDtypes"] = sorted({str(p.dtype) for p in model.parameters()})
    json.dump(versions, open(os.path.join(out_dir, "versions.json"), "w"), indent=1)

    pre = json.load(open(os.path.join(ckpt_dir, "preprocessor_config.json")))
    keys = ["do_resize", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
            "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size"]
    proc_kwargs = {k: pre[k] for k in keys if k in pre}
    proc = ImageProcessor(**proc_kwargs)
    v, t = model.vcfg, model.tcfg
    spec = {
        "vision": {k: getattr(v, k, None) for k in ["depth", "embed_dim", "hidden_size", "mlp_ratio", "num_heads", "in_channels", "patch_size",
                                                     "spatial_merge_size", "temporal_patch_size", "hidden_act"]},
        "text": {k: getattr(t, k, None) for k in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                                                   "head_dim", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_parameters",
                                                   "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "hidden_act"]},
        "norm": {"eps": model.norm.eps},
        "imageProcessorKwargs": proc_kwargs,
        "imageProcessorEffective": {k: (getattr(proc, k, None) if not isinstance(getattr(proc, k, None), dict) else dict(getattr(proc, k)))
                                    for k in ["min_pixels", "max_pixels", "size", "resample", "image_mean", "image_std", "rescale_factor"]},
    }
    json.dump(spec, open(os.path.join(out_dir, "hf-spec.json"), "w"), indent=1, default=str)

    # The class tokenizer_config.json names; AutoTokenizer would first read config.json, whose auto_map asks to run
    # remote code we do not have.
    tok_class = json.load(open(os.path.join(ckpt_dir, "tokenizer_config.json"))).get("tokenizer_class", "PreTrainedTokenizerFast")
    tok = getattr(transformers, tok_class).from_pretrained(ckpt_dir)
    versions["tokenizerClass"] = type(tok).__name__
    json.dump(versions, open(os.path.join(out_dir, "versions.json"), "w"), indent=1)
    template = json.load(open(os.path.join(ckpt_dir, "chat_template.json")))["chat_template"]
    img_dir = os.path.join(out_dir, "images")
    make_images(img_dir)
    merge = v.spatial_merge_size
    results = {}
    for case in CASES:
        results[case["name"]] = run_case(case, model, tok, template, proc, img_dir, out_dir, merge)

    # The bf16 question: the reference above is float32 (bf16 weights are exact in f32). How far is a bf16 run?
    _, emb32, first32, tokens32 = results["image-ja"]
    bf = {"case": "image-ja"}
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        for dtype in [torch.float32, torch.bfloat16]:
            if device == "cpu" and dtype == torch.float32:
                continue
            m = Sarashina2VisionReference(config).eval()
            load_weights(m, ckpt_dir)
            m = m.to(device=device, dtype=dtype)
            with torch.no_grad():
                first, tokens, margins, _ = greedy(m, emb32.to(device=device, dtype=dtype), GREEDY_STEPS)
            d = (first.float().cpu() - first32).abs()
            key = f"{device}-{str(dtype).replace('torch.', '')}"
            bf[key] = {"firstLogitsMaxAbsDiff": float(d.max()), "firstLogitsMaxAbs": float(first32.abs().max()),
                       "greedyAgreePrefix": next((i for i, (a, b) in enumerate(zip(tokens, tokens32)) if a != b), GREEDY_STEPS)}
            print(key, bf[key])
    json.dump(bf, open(os.path.join(out_dir, "bf16.json"), "w"), indent=1)
    print("done")


if __name__ == "__main__":
    main()
