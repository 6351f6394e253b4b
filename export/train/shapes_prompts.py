"""Prompts for train_shapes.py: the engine's token sequence for conversations about one picture, built from
cached pieces (checked against tokenizing the whole rendered text), and the question mix."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import hf_reference as ref  # noqa: E402

IMAGE_TOKEN_ID = 14
EOS_ID = 2
# How often a question is asked in training, by kind and language (per question of the picture's list, so
# referring questions — one per shape in Japanese — still make up most of a several-shape picture's draws).
# Run 5: count and description up from 0.5 (77 % / 81 % held out in run 4), shape a little, and English
# (one question per kind per picture against Japanese's one per shape) twice (held-out English shape: 42 %).
KIND_WEIGHT = {"colour": 1.0, "position": 1.0, "shape": 1.25, "count": 1.5, "describe": 1.5}
LANGUAGE_WEIGHT = {"ja": 1.0, "en": 2.0}
# The 3-turn evaluation draws its conversations with run 4's weights, so runs compare.
EVAL_WEIGHTS = ({"colour": 1.0, "position": 1.0, "shape": 1.0, "count": 0.5, "describe": 0.5}, {"ja": 1.0, "en": 1.0})


class Prompts:
    def __init__(self, tok, template, merge):
        self.tok, self.template, self.merge = tok, template, merge
        self.first, self.answers, self.follow = {}, {}, {}

    def encode(self, text):
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def first_ids(self, question):
        """Prompt ids for a first user turn, with one <|file|> (expanded by expand())."""
        if question not in self.first:
            rendered = ref.build_prompt(self.tok, self.template, question, [], self.merge)[0]
            ids = self.encode(rendered)
            if ids.count(IMAGE_TOKEN_ID) != 1:
                raise RuntimeError(f"prompt has {ids.count(IMAGE_TOKEN_ID)} <|file|> tokens: {rendered!r}")
            self.first[question] = ids
        return self.first[question]

    def expand(self, ids, grid):
        at = ids.index(IMAGE_TOKEN_ID)
        return ids[:at] + [IMAGE_TOKEN_ID] * (int(np.prod(grid)) // (self.merge * self.merge)) + ids[at + 1:]

    def answer_ids(self, text):
        if text not in self.answers:
            self.answers[text] = self.encode(text)
        return self.answers[text]

    def follow_ids(self, question):
        """Ids of the text between an answer and the next answer: the next user turn and the assistant cue."""
        if question not in self.follow:
            self.follow[question] = self.encode("\n### Human: " + question + "\n### Assistant:")
        return self.follow[question]

    def conversation(self, turns, grid, history_spaces, final_eos=True):
        """ids and labels for `turns` [(question, answer)]: earlier answers as the chat history renders them
        (history_spaces[j] = 1 or 2 spaces after "Assistant:"), the last answer as generated: " answer</s>".
        With final_eos False the sequence ends at the prompt of the last question (for evaluation)."""
        ids = self.expand(self.first_ids(turns[0][0]), grid)
        labels = [-100] * len(ids)
        for j in range(len(turns) - 1):
            a = self.answer_ids(" " * history_spaces[j] + turns[j][1])
            ids = ids + a
            labels = labels + (a if history_spaces[j] == 1 else [-100] * len(a))
            f = self.follow_ids(turns[j + 1][0])
            ids = ids + f
            labels = labels + [-100] * len(f)
        if final_eos:
            a = self.answer_ids(" " + turns[-1][1]) + [EOS_ID]
            ids = ids + a
            labels = labels + a
        return ids, labels

    def full_text_ids(self, turns, grid, history_spaces):
        """The same prompt tokenized as one rendered text (what the engine does), for the start-up check."""
        messages = []
        for j, (q, a) in enumerate(turns):
            messages.append({"role": "user", "content": q})
            if j < len(turns) - 1:
                messages.append({"role": "assistant", "content": " " * (history_spaces[j] - 1) + a})
        text = self.tok.apply_chat_template(messages, chat_template=self.template, tokenize=False, add_generation_prompt=True)
        block = "<|prefix|>" + "<|file|>" * (int(np.prod(grid)) // (self.merge * self.merge)) + "<|suffix|>"
        return self.encode(text.replace(ref.IMAGE_BLOCK, block, 1))


def qa_weights(record, weights=(KIND_WEIGHT, LANGUAGE_WEIGHT)):
    kind, language = weights
    w = np.array([kind[qa["kind"]] * language[qa["language"]] for qa in record["qa"]], dtype=np.float64)
    return w / w.sum()


def sample_turns(rng, record, k, weights=(KIND_WEIGHT, LANGUAGE_WEIGHT)):
    qa = record["qa"]
    pick = rng.choice(len(qa), size=min(k, len(qa)), replace=False, p=qa_weights(record, weights))
    return [(qa[i]["question"], qa[i]["answer"]) for i in pick], [qa[i] for i in pick]


def check_prompts(prompts, data, rng, log):
    """Piecewise ids must equal tokenizing the whole rendered conversation; logs the share that does."""
    same, total, example = 0, 0, None
    for i in range(min(300, len(data))):
        rec = data.records[i]
        turns, _ = sample_turns(rng, rec, 1 + i % 3)
        spaces = [1 + (j + i) % 2 for j in range(len(turns) - 1)]
        ids, _ = prompts.conversation(turns, rec["grid"], spaces, final_eos=False)
        full = prompts.full_text_ids(turns, rec["grid"], spaces)
        total += 1
        same += int(ids == full)
        if ids != full and example is None:
            example = (turns, ids[-40:], full[-40:])
    log(f"prompt check: {same}/{total} piecewise prompts equal the whole-text tokenization" + (f"; first difference {example}" if example else ""))
    return same == total
