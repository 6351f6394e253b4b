"""How Hugging Face transformers reads a checkpoint's real files: fixtures for the tokenizer_config, chat-template and
image-processor variants (issue 15, outcome 4). GPU machine, one command (Python 3, transformers 5.17, tokenizers,
Pillow, numpy, torch; no internet, no Node):

    PYTHONUNBUFFERED=1 python3 export/reference/real_files.py --out $OUT/real-files

then copy $OUT/real-files/ to export/reference/fixtures/real-files/ and commit it (about 2 MB). Read by
src/processor/text/tokenizer-config.test.ts (tokenizer and chat-template parts) and
src/processor/image/sarashina22-resize.test.ts (image parts).

What it writes (deterministic: no randomness, no clock):
- tokenizer-variants.json: the tiny and full-size generated tokenizers (fixtures/processor-text/) loaded through
  AutoTokenizer under many tokenizer_config.json variants (add_bos_token / add_eos_token true, false or absent,
  tokenizer_class PreTrainedTokenizerFast or LlamaTokenizer, legacy, clean_up_tokenization_spaces,
  split_special_tokens, no tokenizer_config.json at all, a tokenizer.json whose post-processor adds <s>): for each,
  the class transformers picked, its backend model and post-processor, tokenizer(text) ids with and without special
  tokens, the chat prompt's ids, and decode() with its defaults, with skip_special_tokens and with
  clean_up_tokenization_spaces. A variant transformers refuses is recorded with its error.
- chat-template-sources.json: where the chat template lives (chat_template.jinja, chat_template.json,
  tokenizer_config.json's chat_template, several at once, none) and which text AutoTokenizer and a processor
  (ProcessorMixin.from_pretrained) end up with, byte for byte.
- image-processor-types.json: which class AutoImageProcessor builds for each preprocessor_config.json type
  (Qwen2VLImageProcessor, ...Fast, ...Pil, Sarashina2VisionImageProcessor via auto_map without its code, an unknown
  name), and how far its pixel_values are from the PIL processor's.
- sarashina22/cases.json + sarashina22/<case>.f32.gz: the Sarashina2.2-Vision family's own image preprocessing.
  Its Python source (processing_sarashina2_vision.py of sbintuitions/sarashina2.2-vision-3b) is not installed
  here, so this script writes its documented algorithm (shared/reference/sarashina2-vision-real-files.md §2.3):
  RGB uint8 -> rescale (float64 * factor, cast to float32) -> normalize ((x - mean) / std in float32) -> torch
  F.interpolate(mode="bicubic", align_corners=False, antialias=False) on CPU in float32 to transformers'
  smart_resize size (the `resample` key is ignored) -> the Qwen2-VL patch layout. These are facts about the
  algorithm, not a copy of that file.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TEXT_FIXTURES = FIXTURES / "processor-text"
IMAGE_INPUTS = FIXTURES / "processor-image" / "inputs"
IMAGE_BLOCK = "<|prefix|><|file|><|suffix|>"

ENCODE_TEXTS = [
    "この写真に写っているもので、最も有名と考えられる建築物は何でどこに写っていますか？",
    "Hello world",
    " leading space",
    "<s>テキスト中の</s>特殊トークン<|user|>と<|code|>",
    "<|prefix|><|file|><|suffix|>画像",
    "text then <s> bos",
    "a , b . c ! d ? e 's f n't g 'm h 've i 're j",
    "\n\nnewlines\nin between\n",
    "",
]

CHAT_MESSAGES = [{"role": "user", "content": "この写真について説明してください。"}]


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:600]


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- tokenizer_config.json variants
def llama_style_config(base: dict) -> dict:
    """The likely 8B file: the Sarashina2.2-3B layout (add_*_token false, no dummy prefix) with class LlamaTokenizer."""
    config = {
        "add_bos_token": False,
        "add_dummy_prefix_space": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": base["added_tokens_decoder"],
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "cls_token": "<cls>",
        "do_lower_case": False,
        "eos_token": "</s>",
        "extra_ids": 0,
        "keep_accents": True,
        "legacy": False,
        "mask_token": "<mask>",
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>",
        "padding_side": "right",
        "sep_token": "<sep>",
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    return config


def without(config: dict, *keys: str) -> dict:
    return {k: v for k, v in config.items() if k not in keys}


def with_(config: dict, **values) -> dict:
    out = dict(config)
    out.update(values)
    return out


def bos_post_processor() -> dict:
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    }


def tokenizer_variants(base_config: dict):
    """(name, tokenizer_config or None, tokenizer.json edit or None, keep special_tokens_map.json)."""
    fast = base_config
    llama = llama_style_config(base_config)
    return [
        ("fast-as-generated", fast, None, True),
        ("fast-no-add-flags", without(fast, "add_bos_token", "add_eos_token"), None, True),
        ("fast-add-bos-true", with_(fast, add_bos_token=True), None, True),
        ("fast-add-bos-eos-true", with_(fast, add_bos_token=True, add_eos_token=True), None, True),
        ("fast-add-eos-true", with_(fast, add_eos_token=True), None, True),
        ("fast-cleanup-true", with_(fast, clean_up_tokenization_spaces=True), None, True),
        ("fast-cleanup-absent", without(fast, "clean_up_tokenization_spaces"), None, True),
        ("fast-split-special-true", with_(fast, split_special_tokens=True), None, True),
        ("llama-likely-8b", llama, None, True),
        ("llama-no-add-flags", without(llama, "add_bos_token", "add_eos_token"), None, True),
        ("llama-add-bos-true", with_(llama, add_bos_token=True), None, True),
        ("llama-legacy-true", with_(llama, legacy=True), None, True),
        ("llama-add-prefix-space-true", with_(llama, add_prefix_space=True), None, True),
        ("llama-cleanup-true", with_(llama, clean_up_tokenization_spaces=True), None, True),
        ("no-tokenizer-config", None, None, True),
        ("no-config-no-special-map", None, None, False),
        ("postproc-bos-no-add-flags", without(fast, "add_bos_token", "add_eos_token"), "bos", True),
        ("postproc-bos-add-bos-false", fast, "bos", True),
        ("postproc-bos-add-eos-true", without(with_(fast, add_eos_token=True), "add_bos_token"), "bos", True),
        ("postproc-bos-llama-no-flags", without(llama, "add_bos_token", "add_eos_token"), "bos", True),
    ]


def backend_facts(tokenizer) -> dict:
    facts = {"class": type(tokenizer).__name__}
    for key in ("add_bos_token", "add_eos_token", "clean_up_tokenization_spaces", "split_special_tokens", "legacy",
                "add_prefix_space", "bos_token_id", "eos_token_id", "unk_token_id", "pad_token_id"):
        try:
            value = getattr(tokenizer, key)
            facts[key] = value if isinstance(value, (bool, int, str, type(None))) else repr(value)
        except Exception as error:  # noqa: BLE001 - the fact is that it failed
            facts[key] = f"error {describe_error(error)}"
    try:
        backend = json.loads(tokenizer.backend_tokenizer.to_str())
        facts["backendModel"] = backend["model"]["type"]
        facts["backendVocabSize"] = tokenizer.backend_tokenizer.get_vocab_size(with_added_tokens=True)
        facts["postProcessor"] = backend.get("post_processor")
        facts["preTokenizer"] = backend.get("pre_tokenizer")
        facts["normalizer"] = backend.get("normalizer")
        facts["decoder"] = backend.get("decoder")
    except Exception as error:  # noqa: BLE001
        facts["backend"] = f"error {describe_error(error)}"
    try:
        facts["allSpecialIds"] = sorted(int(i) for i in tokenizer.all_special_ids)
    except Exception as error:  # noqa: BLE001
        facts["allSpecialIds"] = f"error {describe_error(error)}"
    return facts


def run_tokenizer_variant(source: Path, name: str, config, post: str | None, keep_map: bool, template: str) -> dict:
    from transformers import AutoTokenizer

    entry = {"name": name, "tokenizer": source.name, "tokenizerConfig": config, "tokenizerJsonPostProcessor": post,
             "specialTokensMap": keep_map}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokenizer_json = read_json(source / "tokenizer.json")
        if post == "bos":
            tokenizer_json["post_processor"] = bos_post_processor()
        (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
        if config is not None:
            write_json(folder / "tokenizer_config.json", config)
        if keep_map:
            shutil.copy(source / "special_tokens_map.json", folder / "special_tokens_map.json")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except Exception as error:  # noqa: BLE001
            entry["error"] = describe_error(error)
            print(f"  {name}: load FAILED {entry['error']}", flush=True)
            return entry
        entry["facts"] = backend_facts(tokenizer)
        encode = []
        for text in ENCODE_TEXTS:
            case = {"text": text}
            try:
                case["ids"] = list(tokenizer(text)["input_ids"])
                case["idsNoSpecial"] = list(tokenizer(text, add_special_tokens=False)["input_ids"])
                case["tokens"] = tokenizer.convert_ids_to_tokens(case["ids"])
            except Exception as error:  # noqa: BLE001
                case["error"] = describe_error(error)
            encode.append(case)
        entry["encode"] = encode
        try:
            rendered = tokenizer.apply_chat_template(CHAT_MESSAGES, chat_template=template, tokenize=False,
                                                     add_generation_prompt=True)
            entry["chat"] = {"messages": CHAT_MESSAGES, "text": rendered, "ids": list(tokenizer(rendered)["input_ids"]),
                             "idsNoSpecial": list(tokenizer(rendered, add_special_tokens=False)["input_ids"])}
        except Exception as error:  # noqa: BLE001
            entry["chat"] = {"error": describe_error(error)}
        decode = []
        for case in encode:
            if "ids" not in case:
                continue
            for ids in (case["ids"], case["idsNoSpecial"]):
                one = {"ids": ids}
                for key, kwargs in (("default", {}), ("skipSpecial", {"skip_special_tokens": True}),
                                    ("cleanUp", {"clean_up_tokenization_spaces": True}),
                                    ("noCleanUp", {"clean_up_tokenization_spaces": False}),
                                    ("skipSpecialCleanUp", {"skip_special_tokens": True,
                                                            "clean_up_tokenization_spaces": True})):
                    try:
                        one[key] = tokenizer.decode(ids, **kwargs)
                    except Exception as error:  # noqa: BLE001
                        one[key] = f"error {describe_error(error)}"
                decode.append(one)
        entry["decode"] = decode
        print(f"  {name}: {entry['facts']['class']} model {entry['facts'].get('backendModel')} "
              f"bos {entry['facts'].get('add_bos_token')} eos {entry['facts'].get('add_eos_token')} "
              f"'Hello world' -> {encode[1].get('ids')} chat[:4] {entry['chat'].get('ids', [])[:4]}", flush=True)
    return entry


def tokenizer_fixtures(out: Path) -> None:
    import tokenizers
    import transformers

    result = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "variants": []}
    for folder_name, only in (("tokenizer-tiny", None), ("tokenizer-102400", {"fast-as-generated", "llama-likely-8b",
                                                                             "llama-no-add-flags", "fast-no-add-flags"})):
        source = TEXT_FIXTURES / folder_name
        base = read_json(source / "tokenizer_config.json")
        template = read_json(source / "chat_template.json")["chat_template"]
        print(f"{folder_name}", flush=True)
        for name, config, post, keep_map in tokenizer_variants(base):
            if only is not None and name not in only:
                continue
            try:
                result["variants"].append(run_tokenizer_variant(source, name, copy.deepcopy(config), post, keep_map,
                                                                template))
            except Exception as error:  # noqa: BLE001 - keep going: one run should show every problem
                traceback.print_exc()
                result["variants"].append({"name": name, "tokenizer": folder_name, "error": describe_error(error)})
    write_json(out / "tokenizer-variants.json", result)


# ---------------------------------------------------------------- chat template sources
TEMPLATES = {
    "json": "{{ bos_token }}FROM chat_template.json{% for m in messages %}[{{ m['content'] }}]{% endfor %}\n",
    "jinja": "{{ bos_token }}FROM chat_template.jinja{% for m in messages %}<{{ m['content'] }}>{% endfor %}\n",
    "config": "{{ bos_token }}FROM tokenizer_config.json{% for m in messages %}({{ m['content'] }}){% endfor %}\n",
}


def make_text_only_processor_class():
    from transformers import ProcessorMixin

    class TextOnlyProcessor(ProcessorMixin):
        attributes = ["tokenizer"]
        tokenizer_class = "AutoTokenizer"

        def __init__(self, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(tokenizer, chat_template=chat_template)

    return TextOnlyProcessor


def chat_template_fixtures(out: Path) -> None:
    import transformers
    from transformers import AutoTokenizer

    source = TEXT_FIXTURES / "tokenizer-tiny"
    base = read_json(source / "tokenizer_config.json")
    layouts = [
        ("json-only", {"json"}),
        ("config-only", {"config"}),
        ("jinja-only", {"jinja"}),
        ("json-and-config", {"json", "config"}),
        ("jinja-and-json", {"jinja", "json"}),
        ("jinja-and-config", {"jinja", "config"}),
        ("all-three", {"jinja", "json", "config"}),
        ("none", set()),
    ]
    processor_class = None
    try:
        processor_class = make_text_only_processor_class()
    except Exception as error:  # noqa: BLE001
        print(f"text-only processor class unavailable: {describe_error(error)}", flush=True)
    result = {"transformers": transformers.__version__, "templates": TEMPLATES, "layouts": []}
    for name, present in layouts:
        entry = {"name": name, "files": sorted(present)}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            shutil.copy(source / "tokenizer.json", folder / "tokenizer.json")
            shutil.copy(source / "special_tokens_map.json", folder / "special_tokens_map.json")
            config = dict(base)
            if "config" in present:
                config["chat_template"] = TEMPLATES["config"]
            write_json(folder / "tokenizer_config.json", config)
            if "json" in present:
                # transformers' own writer: json.dumps({"chat_template": ...}, indent=2, sort_keys=True) + "\n"
                (folder / "chat_template.json").write_text(
                    json.dumps({"chat_template": TEMPLATES["json"]}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            if "jinja" in present:
                (folder / "chat_template.jinja").write_text(TEMPLATES["jinja"], encoding="utf-8")
            for loader, load in (("tokenizer", lambda: AutoTokenizer.from_pretrained(str(folder))),
                                 ("processor", (lambda: processor_class.from_pretrained(str(folder)))
                                  if processor_class is not None else None)):
                if load is None:
                    entry[loader] = {"error": "no processor class"}
                    continue
                try:
                    loaded = load()
                    template = getattr(loaded, "chat_template", None)
                    which = next((k for k, v in TEMPLATES.items() if v == template), None)
                    entry[loader] = {"class": type(loaded).__name__, "chatTemplate": template, "source": which}
                    if isinstance(template, dict):
                        entry[loader]["chatTemplate"] = {k: v for k, v in template.items()}
                except Exception as error:  # noqa: BLE001
                    entry[loader] = {"error": describe_error(error)}
        print(f"  chat template {name}: tokenizer {entry['tokenizer'].get('source', entry['tokenizer'].get('error'))} "
              f"processor {entry['processor'].get('source', entry['processor'].get('error'))}", flush=True)
        result["layouts"].append(entry)
    write_json(out / "chat-template-sources.json", result)


# ---------------------------------------------------------------- image processors
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def patchify(image_chw, patch: int, temporal: int, merge: int):
    """Qwen2-VL layout: (grid_t*grid_h*grid_w, C*T*P*P), one image repeated to fill the temporal patch."""
    import numpy as np

    frames = np.stack([image_chw] * temporal)  # (T, C, H, W)
    channels, height, width = image_chw.shape
    grid_t, grid_h, grid_w = 1, height // patch, width // patch
    x = frames.reshape(grid_t, temporal, channels, grid_h // merge, merge, patch, grid_w // merge, merge, patch)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return np.ascontiguousarray(x.reshape(grid_t * grid_h * grid_w, channels * temporal * patch * patch)), [grid_t, grid_h, grid_w]


def sarashina22_preprocess(path: Path, settings: dict):
    """The Sarashina2.2-Vision processor's documented algorithm (see the module docstring)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from transformers.models.qwen2_vl import image_processing_qwen2_vl as ipq

    patch, temporal, merge = settings["patch_size"], settings["temporal_patch_size"], settings["merge_size"]
    image = Image.open(path).convert("RGB")
    pixels = np.asarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    resized_h, resized_w = ipq.smart_resize(height, width, factor=patch * merge, min_pixels=settings["min_pixels"],
                                            max_pixels=settings["max_pixels"])
    x = (pixels.astype(np.float64) * settings["rescale_factor"]).astype(np.float32)
    mean = np.array(settings["image_mean"], dtype=np.float32)
    std = np.array(settings["image_std"], dtype=np.float32)
    x = ((x - mean) / std).astype(np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        resized = F.interpolate(tensor, size=(int(resized_h), int(resized_w)), mode="bicubic", align_corners=False,
                                antialias=False)
    chw = resized[0].numpy().astype(np.float32)
    flat, grid = patchify(chw, patch, temporal, merge)
    return flat, grid, [height, width], [int(resized_h), int(resized_w)]


def sarashina22_fixtures(out: Path) -> None:
    import numpy as np
    import torch
    import transformers

    root = out / "sarashina22"
    root.mkdir(parents=True, exist_ok=True)
    base = {"min_pixels": 3136, "max_pixels": 28 * 28 * 24, "patch_size": 14, "temporal_patch_size": 2,
            "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "rescale_factor": 1 / 255}
    cases = [
        ("chelsea-down", "chelsea.png", base),
        ("astronaut-down-clip", "astronaut.png", dict(base, image_mean=CLIP_MEAN, image_std=CLIP_STD)),
        ("tiny-12x30-up", "tiny-12x30.png", base),
        ("odd14-434x294", "odd14-434x294.png", dict(base, max_pixels=28 * 28 * 48)),
        ("wide-16x3000", "wide-16x3000.png", dict(base, max_pixels=28 * 28 * 16)),
        ("camera-gray", "camera-gray.png", dict(base, max_pixels=28 * 28 * 24)),
        ("coffee-small", "coffee.png", dict(base, min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16)),
    ]
    entries = []
    for name, image, settings in cases:
        entry = {"name": name, "input": image, "settings": settings}
        try:
            flat, grid, size, resized = sarashina22_preprocess(IMAGE_INPUTS / image, settings)
            path = root / f"{name}.f32.gz"
            with gzip.open(path, "wb", compresslevel=9) as f:
                f.write(flat.astype("<f4").tobytes())
            entry.update({"grid": grid, "inputSize": size, "resizedSize": resized, "shape": list(flat.shape),
                          "file": f"sarashina22/{name}.f32.gz",
                          "sha256Float32": hashlib.sha256(flat.astype("<f4").tobytes()).hexdigest()})
            print(f"  sarashina2.2 {name}: {size} -> {resized} grid {grid} {path.stat().st_size} B", flush=True)
        except Exception as error:  # noqa: BLE001
            traceback.print_exc()
            entry["error"] = describe_error(error)
        entries.append(entry)

    # Self-check of the patch layout: patchify(PIL-processor pixels before patching) == Qwen2-VL PIL processor output.
    check = {}
    try:
        check = patch_layout_check()
    except Exception as error:  # noqa: BLE001
        check = {"error": describe_error(error)}
    print(f"  patch layout check: {check}", flush=True)
    write_json(root / "cases.json", {"transformers": transformers.__version__, "torch": torch.__version__,
                                    "numpy": np.__version__, "algorithm": "documented Sarashina2.2 processor, see "
                                    "export/reference/real_files.py", "patchLayoutCheck": check, "cases": entries})


def pil_processor_class():
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as Processor
    except ImportError:
        from transformers import Qwen2VLImageProcessor as Processor
    return Processor


def patch_layout_check() -> dict:
    import numpy as np
    from PIL import Image
    from transformers.models.qwen2_vl import image_processing_qwen2_vl as ipq

    Processor = pil_processor_class()
    image = Image.open(IMAGE_INPUTS / "chelsea.png").convert("RGB")
    max_pixels = 28 * 28 * 64
    hf = Processor(min_pixels=3136, max_pixels=max_pixels, resample=3)(images=[image], return_tensors="np")
    h, w = ipq.smart_resize(image.height, image.width, factor=28, min_pixels=3136, max_pixels=max_pixels)
    resized = np.asarray(image.resize((w, h), Image.Resampling.BICUBIC), dtype=np.uint8)
    x = (resized.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    flat, grid = patchify(x.transpose(2, 0, 1).astype(np.float32), 14, 2, 2)
    pv = np.asarray(hf["pixel_values"], dtype=np.float32)
    return {"grid": grid, "hfGrid": hf["image_grid_thw"].tolist()[0], "shapeEqual": list(pv.shape) == list(flat.shape),
            "maxAbsDiff": float(np.max(np.abs(pv - flat))) if pv.shape == flat.shape else None}


def image_processor_type_fixtures(out: Path) -> None:
    import numpy as np
    import transformers
    from PIL import Image
    from transformers import AutoImageProcessor

    common = {"do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
              "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "max_pixels": 28 * 28 * 64, "min_pixels": 3136,
              "merge_size": 2, "patch_size": 14, "resample": 3, "rescale_factor": 1 / 255,
              "size": {"longest_edge": 28 * 28 * 64, "shortest_edge": 3136}, "temporal_patch_size": 2}
    sarashina_auto_map = {"AutoProcessor": "processing_sarashina2_vision.Sarashina2VisionProcessor"}
    variants = [
        ("qwen2vl", {"image_processor_type": "Qwen2VLImageProcessor"}),
        ("qwen2vl-fast", {"image_processor_type": "Qwen2VLImageProcessorFast"}),
        ("qwen2vl-pil", {"image_processor_type": "Qwen2VLImageProcessorPil"}),
        ("qwen2vl-processor-class-only", {"processor_class": "Qwen2VLProcessor"}),
        ("sarashina-auto-map", {"image_processor_type": "Sarashina2VisionImageProcessor", "auto_map": sarashina_auto_map,
                                "processor_class": "Sarashina2VisionProcessor"}),
        ("unknown-type", {"image_processor_type": "NoSuchImageProcessor"}),
        ("no-type", {}),
    ]
    Processor = pil_processor_class()
    image = Image.open(IMAGE_INPUTS / "chelsea.png").convert("RGB")
    reference = Processor(**{k: v for k, v in common.items() if k != "size"})(images=[image], return_tensors="np")
    ref = np.asarray(reference["pixel_values"], dtype=np.float32)
    result = {"transformers": transformers.__version__, "pilProcessor": f"{Processor.__module__}.{Processor.__name__}",
              "variants": []}
    for name, extra in variants:
        entry = {"name": name, "config": dict(common, **extra)}
        with tempfile.TemporaryDirectory() as tmp:
            write_json(Path(tmp) / "preprocessor_config.json", entry["config"])
            try:
                processor = AutoImageProcessor.from_pretrained(tmp)
                entry["class"] = f"{type(processor).__module__}.{type(processor).__name__}"
                try:
                    got = processor(images=[image], return_tensors="np")
                    pv = np.asarray(got["pixel_values"], dtype=np.float32)
                    entry["grid"] = np.asarray(got["image_grid_thw"]).tolist()
                    entry["maxAbsDiffFromPil"] = float(np.max(np.abs(pv - ref))) if pv.shape == ref.shape else None
                    entry["bitEqualToPil"] = bool(pv.shape == ref.shape and np.array_equal(pv.view(np.uint32),
                                                                                          ref.view(np.uint32)))
                except Exception as error:  # noqa: BLE001
                    entry["callError"] = describe_error(error)
            except Exception as error:  # noqa: BLE001
                entry["error"] = describe_error(error)
        print(f"  image processor {name}: {entry.get('class', entry.get('error'))} "
              f"diff {entry.get('maxAbsDiffFromPil')}", flush=True)
        result["variants"].append(entry)
    write_json(out / "image-processor-types.json", result)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "out")) / "real-files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import transformers

    print(f"transformers {transformers.__version__}", flush=True)
    for step in (tokenizer_fixtures, chat_template_fixtures, image_processor_type_fixtures, sarashina22_fixtures):
        try:
            step(args.out)
        except Exception:  # noqa: BLE001 - the other steps still run
            traceback.print_exc()
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out} ({total} bytes)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
