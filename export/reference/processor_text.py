"""Parity fixtures for the processor's text path (GPU machine; Hugging Face transformers + tokenizers).

For each tokenizer folder under fixtures/processor-text/ (written by export/random/tokenizer-files.ts), this
loads the files with `tokenizers.Tokenizer` AND `transformers.AutoTokenizer` (they must agree), renders chat
messages with `apply_chat_template` (jinja2), expands `<|file|>` the way the Qwen2-VL processor does (in text,
before tokenizing) and records:
  - encode cases: text -> ids (tokenizer(text), i.e. with the post-processor, as processors call it)
  - chat cases: OpenAI-style messages + image token counts -> rendered text and ids
  - decode cases: ids -> text with and without skip_special_tokens (incl. byte fallback, invalid byte runs)
into expected-<folder>.json. Deterministic: no randomness, no clock.

    python3 export/reference/processor_text.py [--fixtures DIR] [--out DIR]
    # on the GPU machine: --out $OUT/processor-text, then copy expected-*.json into fixtures/processor-text/

Regenerate the tokenizer folders first if export/random/tokenizer-files.ts changes (its test compares them).

Conventions mirrored from src/processor/text (documented there): text parts of one message are joined with
"\\n"; the template's one image block is repeated once per image (removed when there is none).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

IMAGE_TOKEN = "<|file|>"
IMAGE_BLOCK = "<|prefix|><|file|><|suffix|>"
PLACEHOLDER = "<|placeholder|>"
BYTE_BASE = 15

ENCODE_TEXTS = [
    "この写真に写っているもので、最も有名と考えられる建築物は何でどこに写っていますか？",
    "What is shown in this picture? Please describe it in detail.",
    "Hello world",
    "猫の絵文字🐱と笑顔😊、ユニコーン🦄と耳👂。",
    "東京タワーは333mです。Tokyo Tower is 333 m tall.",
    " leading space",
    "trailing space ",
    "double  space and   triple",
    "\n\nnewlines\nin between\n",
    "tab\tseparated\tvalues",
    "  ",
    "全角　スペース",
    "ーーーーーーー",
    "ああああああああああ",
    "wwwwwwwww",
    "..........",
    "!!!!!???",
    "鬱蒼とした森と薔薇",
    "ｶﾞｷﾞｸﾞ",
    "<s>テキスト中の</s>特殊トークン<|user|>と<|code|>",
    "literal <0x41> byte piece",
    "<unk> and <pad>",
    "A chat between a curious human and an artificial intelligence assistant.",
    "### Human: こんにちは\n### Assistant:",
    "e\u0301 combining and \u00e9 precomposed",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
    "日本語の文章と English words が混ざった text です。" * 3,
]

# (name, messages, image token counts per image); image token counts are scaled per tokenizer below.
CHAT_CASES = [
    ("user-text-only", [{"role": "user", "content": "こんにちは。自己紹介してください。"}], 0),
    ("one-image", [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "a"}},
        {"type": "text", "text": "この写真に写っているもので、最も有名と考えられる建築物は何でどこに写っていますか？"},
    ]}], 1),
    ("two-images-mixed-parts", [{"role": "user", "content": [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "a"}},
        {"type": "image_url", "image_url": {"url": "b"}},
        {"type": "text", "text": "and tell me the difference."},
    ]}], 2),
    ("two-turn-image-first", [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}, {"type": "text", "text": "何が見えますか？"}]},
        {"role": "assistant", "content": "猫がソファの上で寝ています。"},
        {"role": "user", "content": "猫の色は？"},
    ], 1),
    ("two-turn-image-second", [
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hello, how can I help you?"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}, {"type": "text", "text": "Describe this image."}]},
    ], 1),
    ("images-in-two-turns", [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}, {"type": "text", "text": "これは？"}]},
        {"role": "assistant", "content": "東京タワーです。"},
        {"role": "user", "content": [{"type": "text", "text": "ではこれは？"}, {"type": "image_url", "image_url": {"url": "b"}}]},
    ], 2),
    ("system-message", [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "What is 2+2?"},
    ], 0),
    ("image-only", [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}]}], 1),
    ("whitespace-edges", [{"role": "user", "content": " 写真 \n を説明して  \t"}], 0),
    ("ends-with-assistant", [
        {"role": "user", "content": "1+1は？"},
        {"role": "assistant", "content": "2です。"},
    ], 0),
    ("emoji-user", [{"role": "user", "content": "🦄🐱😊 は何の絵文字？"}], 0),
]


def flatten(messages):
    """OpenAI parts -> string content (text parts joined with "\\n"); returns (messages, image count)."""
    out, images = [], 0
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        texts = []
        for part in content:
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images += 1
        out.append({"role": message["role"], "content": "\n".join(texts)})
    return out, images


def qwen2_vl_expand(text: str, counts: list[int]) -> str:
    """Qwen2-VL processor: each image token becomes counts[i] copies, via a placeholder so none is re-matched."""
    index = 0
    while IMAGE_TOKEN in text:
        text = text.replace(IMAGE_TOKEN, PLACEHOLDER * counts[index], 1)
        index += 1
    if index != len(counts):
        raise SystemExit(f"{index} image tokens for {len(counts)} images")
    return text.replace(PLACEHOLDER, IMAGE_TOKEN)


def main() -> None:
    parser = argparse.ArgumentParser()
    here = Path(__file__).resolve().parent
    parser.add_argument("--fixtures", type=Path, default=here / "fixtures" / "processor-text")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out_dir = args.out or args.fixtures

    import tokenizers
    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    print(f"transformers {transformers.__version__} tokenizers {tokenizers.__version__}", flush=True)
    for folder in sorted(p for p in args.fixtures.iterdir() if p.is_dir() and p.name.startswith("tokenizer-")):
        raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
        hf = AutoTokenizer.from_pretrained(str(folder))
        template = json.loads((folder / "chat_template.json").read_text())["chat_template"]
        vocab_size = raw.get_vocab_size()
        scale = 64 if vocab_size > 10000 else 1
        print(f"{folder.name}: vocab {vocab_size}, {type(hf).__name__}", flush=True)

        # Disagreements are recorded (and make the Node test fail) instead of aborting, so one run on the
        # GPU machine shows every problem at once.
        problems: list[str] = []

        def encode(text: str, where: str) -> list[int]:
            hf_ids = list(hf(text)["input_ids"])
            raw_ids = raw.encode(text).ids
            if hf_ids != raw_ids:
                problems.append(f"{where}: transformers {hf_ids[:12]} != tokenizers {raw_ids[:12]}")
            if len(hf_ids) >= 2 and hf_ids[0] == hf.bos_token_id and hf_ids[1] == hf.bos_token_id:
                problems.append(f"{where}: doubled BOS {hf_ids[:4]}")
            return hf_ids

        def decode(ids: list[int], skip: bool) -> str:
            text = hf.decode(ids, skip_special_tokens=skip)
            raw_text = raw.decode(ids, skip_special_tokens=skip)
            if text != raw_text:
                problems.append(f"decode {ids[:8]} skip={skip}: transformers {text!r} != tokenizers {raw_text!r}")
            return text

        print(f"  bos {hf.bos_token_id} eos {hf.eos_token_id} specials {hf.all_special_ids[:24]}", flush=True)
        print(f"  'あ' -> {hf('あ')['input_ids']} / no specials {hf('あ', add_special_tokens=False)['input_ids']}")

        encode_cases = []
        for i, text in enumerate(ENCODE_TEXTS):
            ids = encode(text, f"encode[{i}]")
            encode_cases.append({"text": text, "ids": ids, "tokens": raw.encode(text).tokens})

        chat_cases = []
        for name, messages, images in CHAT_CASES:
            counts = [(3 + 2 * i) * scale for i in range(images)]
            flat, counted = flatten(messages)
            assert counted == images, name
            rendered = hf.apply_chat_template(flat, chat_template=template, tokenize=False, add_generation_prompt=True)
            blocks = rendered.count(IMAGE_BLOCK)
            if blocks != 1:
                problems.append(f"{name}: template emitted {blocks} image blocks")
            text = rendered.replace(IMAGE_BLOCK, IMAGE_BLOCK * images, 1)
            ids = encode(qwen2_vl_expand(text, counts), name)
            chat_cases.append({"name": name, "messages": messages, "imageTokenCounts": counts, "text": text, "ids": ids})

        tid = raw.token_to_id
        b = lambda *values: [BYTE_BASE + v for v in values]  # noqa: E731
        id_lists = [
            ("roundtrip-" + str(i), case["ids"]) for i, case in enumerate(encode_cases)
        ] + [
            ("chat-" + case["name"], case["ids"]) for case in chat_cases
        ] + [
            ("bytes-valid-emoji", b(0xF0, 0x9F, 0xA6, 0x84)),
            ("bytes-incomplete", b(0xE3, 0x81)),
            ("bytes-invalid", b(0xFF)),
            ("bytes-valid-then-invalid-run", b(0xE3, 0x81, 0x82, 0xFF)),
            ("bytes-split-by-piece", b(0xE3, 0x81) + [tid("▁the")] + b(0x82)),
            ("bytes-around-special", b(0xE3, 0x81) + [tid("<|file|>")] + b(0x82)),
            ("bytes-bom", b(0xEF, 0xBB, 0xBF, 0x41)),
            ("bytes-newlines", [tid("▁the")] + b(0x0A, 0x0A) + [tid("▁image")]),
            ("leading-metaspace", [tid("▁"), tid("▁the"), tid("▁▁"), tid("▁image")]),
            ("specials", [1, tid("<|prefix|>"), 14, 14, tid("<|suffix|>"), tid("▁chat"), 2, 0, 3, 7]),
            ("stop-string-bytes", [tid("▁the")] + b(0x0A) + [tid("###"), tid("▁Human")]),
        ]
        decode_cases = []
        for name, ids in id_lists:
            if any(i is None for i in ids):
                raise SystemExit(f"{name}: missing piece in {folder.name}")
            decode_cases.append({"name": name, "ids": ids, "skipSpecial": decode(ids, True), "keepSpecial": decode(ids, False)})

        result = {
            "tokenizer": folder.name,
            "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
            "encode": encode_cases,
            "chat": chat_cases,
            "decode": decode_cases,
            "problems": problems,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"expected-{folder.name}.json"
        path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for problem in problems:
            print(f"  PROBLEM {problem}", flush=True)
        print(f"wrote {path} ({len(encode_cases)} encode, {len(chat_cases)} chat, {len(decode_cases)} decode)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
