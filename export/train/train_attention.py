"""Attention code for train_shapes.py: a batched form of the Qwen2-VL vision attention (training speed only;
checked equal to the Hugging Face forward) and the attention supervision that binds shape words to their image
tokens."""

import types

import numpy as np
import torch
from torch import nn
from transformers.models.llama import modeling_llama
from transformers.models.qwen2_vl import modeling_qwen2_vl

from shapes_data import SHAPE_CLASSES
from shapes_prompts import IMAGE_TOKEN_ID

class _Packing:
    def __init__(self):
        self.key = None
        self.value = None


def _packing(holder, cu_seqlens):
    if holder.key is not cu_seqlens:
        cu = [int(x) for x in cu_seqlens.tolist()]
        lengths = [b - a for a, b in zip(cu[:-1], cu[1:])]
        longest = max(lengths)
        flat = np.concatenate([np.arange(n) + b * longest for b, n in enumerate(lengths)])
        flat = torch.from_numpy(flat).to(cu_seqlens.device)
        mask = torch.zeros(len(lengths) * longest, dtype=torch.bool, device=cu_seqlens.device)
        mask[flat] = True
        holder.key = cu_seqlens  # holding the tensor keeps its identity unique while cached
        holder.value = (len(lengths), longest, flat, mask.view(len(lengths), 1, 1, longest))
    return holder.value


def _batched_vision_attention(holder):
    def forward(self, hidden_states, cu_seqlens, rotary_pos_emb=None, position_embeddings=None, **kwargs):
        seq = hidden_states.shape[0]
        q, k, v = self.qkv(hidden_states).reshape(seq, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        if position_embeddings is None:
            emb = torch.cat((rotary_pos_emb, rotary_pos_emb), dim=-1)
            position_embeddings = (emb.cos(), emb.sin())
        cos, sin = position_embeddings
        q, k = modeling_qwen2_vl.apply_rotary_pos_emb_vision(q, k, cos, sin)
        q, k = q.to(v.dtype), k.to(v.dtype)
        batch, longest, flat, mask = _packing(holder, cu_seqlens)
        heads, dim = v.shape[1], v.shape[2]

        def pack(t):
            return t.new_zeros(batch * longest, heads, dim).index_copy(0, flat, t).view(batch, longest, heads, dim).transpose(1, 2)

        out = nn.functional.scaled_dot_product_attention(pack(q), pack(k), pack(v), attn_mask=mask)
        out = out.transpose(1, 2).reshape(batch * longest, heads * dim).index_select(0, flat)
        return self.proj(out)

    return forward


def patch_vision_attention(model, data, device, log):
    """Replaces each vision block's attention forward (this model instance only) by the batched one if it gives
    the same features as the Hugging Face forward on a few held-out pictures; returns whether it did."""
    blocks = list(model.visual.blocks)
    idx = list(range(min(12, len(data))))
    pv, grid = data.pixels(idx, exact=True)
    model.eval()
    try:
        with torch.no_grad():
            want = model.merged_features(pv, grid)
            holder = _Packing()
            for blk in blocks:
                blk.attn.forward = types.MethodType(_batched_vision_attention(holder), blk.attn)
            got = model.merged_features(pv, grid)
        diff = float((got - want).abs().max() / want.abs().max().clamp_min(1e-6))
        ok = diff < 2e-3
        if ok:
            # The training step as train() runs it: bf16 autocast, backward through the packed attention.
            model.train()
            pv, grid = data.pixels(idx)
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                loss = model.norm(model.merged_features(pv, grid)).float().square().mean()
            loss.backward()
            model.zero_grad(set_to_none=True)
        log(f"batched vision attention: relative max difference {diff:.2e} vs Hugging Face -> {'used' if ok else 'NOT used'}")
    except Exception as e:  # noqa: BLE001 - any failure means: keep the Hugging Face forward
        log(f"batched vision attention failed ({type(e).__name__}: {e}); keeping the Hugging Face forward")
        ok = False
    if not ok:
        for blk in blocks:
            blk.attn.__dict__.pop("forward", None)
    model.train()
    return ok


# Attention supervision: a shape word ("星", "▁star", …) anywhere after the picture names exactly one object (shapes
# are distinct within a picture), so one head of one decoder layer is taught to look from that word at the object's
# image tokens. Without it the model learned to find an object by its place (shape/place questions, descriptions)
# but not by its shape (colour and place of "the star" stayed at ~50 % over 9,000 steps).

SHAPE_WORDS = {"丸": "circle", "円": "circle", "四角": "square", "三角": "triangle", "星": "star",
               "▁circle": "circle", "▁square": "square", "▁triangle": "triangle", "▁star": "star"}
# With referents on (--attn-referents, after run 5): a place word names the object at that place ("左下にある図形",
# "the shape at the bottom left": the query is the last word of the place), a colour word every object of that
# colour ("赤い図形", "the red shape", and colours in answers). English "top"/"bottom" followed by "left"/"right"
# is one place, named at the second word.
PLACE_WORDS = {"左上": "top-left", "右上": "top-right", "左下": "bottom-left", "右下": "bottom-right", "中央": "center",
               "上": "top", "下": "bottom", "左": "left", "右": "right", "▁center": "center"}
EN_VERTICAL = {"▁top": "top", "▁bottom": "bottom"}
EN_HORIZONTAL = {"▁left": "left", "▁right": "right"}
_COLOURS = {"赤": "red", "青": "blue", "緑": "green", "黄色": "yellow", "白": "white", "黒": "black"}
COLOUR_WORDS = {**_COLOURS, "赤い": "red", "青い": "blue", "緑の": "green", "黄色い": "yellow", "白い": "white", "黒い": "black",
                **{f"▁{c}": c for c in _COLOURS.values()}, **{c.capitalize(): c for c in _COLOURS.values()},
                **{f"▁{c.capitalize()}": c for c in _COLOURS.values()}}


class AttentionProbe:
    """Recomputes one head's attention weights of one decoder layer from that layer's input (captured by a
    pre-hook, so gradients flow), for selected query positions: the same q/k projections, rotary embedding,
    scaling and causal mask as the layer itself."""

    def __init__(self, model, tok, layer, head, referents=False):
        self.attn = model.llm.model.layers[layer].self_attn
        self.head = head

        def ids(words):
            out = {}
            for piece, value in words.items():
                tid = tok.convert_tokens_to_ids(piece)
                if isinstance(tid, int) and tid >= 0 and tid != tok.unk_token_id:
                    out[tid] = value
            return out

        self.word_class = {tid: SHAPE_CLASSES.index(shape) + 1 for tid, shape in ids(SHAPE_WORDS).items()}
        self.referents = referents
        self.place, self.vertical, self.horizontal = ids(PLACE_WORDS), ids(EN_VERTICAL), ids(EN_HORIZONTAL)
        self.colour = ids(COLOUR_WORDS)
        self.captured = None
        self.handle = self.attn.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _place_at(self, seq, w):
        """The place the word at w names, or None (also for "top" when "left"/"right" follows: named there)."""
        t = seq[w]
        if t in self.place:
            return self.place[t]
        if t in self.vertical:
            return None if w + 1 < len(seq) and seq[w + 1] in self.horizontal else self.vertical[t]
        if t in self.horizontal:
            return f"{self.vertical[seq[w - 1]]}-{self.horizontal[t]}" if seq[w - 1] in self.vertical else self.horizontal[t]
        return None

    def _classes(self, seq, w, where):
        """Shape classes of the objects the word at w names (empty if none)."""
        c = self.word_class.get(seq[w])
        if c is not None:
            return [c]
        if not self.referents:
            return []
        place = self._place_at(seq, w)
        if place is not None:
            return [k for k, _, p in where if p == place]
        colour = self.colour.get(seq[w])
        return [k for k, col, _ in where if col == colour] if colour is not None else []

    def _hook(self, module, args, kwargs):
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        self.captured = (hidden, kwargs.get("position_embeddings"))

    def targets(self, seqs, idx, data):
        """(batch rows, query positions, [n, L] bool mask of the named object's image tokens) for every shape
        word (and with referents, place and colour word) after the image block whose objects have tokens."""
        rows, cols, spans = [], [], []
        for r, (seq, i) in enumerate(zip(seqs, idx)):
            start = seq.index(IMAGE_TOKEN_ID)
            shapes = data.t_shape_np[data.toff[i]:data.toff[i + 1]]
            where = data.records[i].get("where", [])
            for w in range(start + len(shapes), len(seq)):
                classes = self._classes(seq, w, where)
                if not classes:
                    continue
                hit = np.nonzero(np.isin(shapes, classes))[0]
                if len(hit):
                    rows.append(r)
                    cols.append(w)
                    spans.append(start + hit)
        return rows, cols, spans

    def weights(self, rows, cols):
        """[n, L] attention weights of the head from positions (rows, cols) over the sequence."""
        hidden, (cos, sin) = self.captured
        d = self.attn.head_dim
        r = torch.tensor(rows, device=hidden.device)
        c = torch.tensor(cols, device=hidden.device)
        q = self.attn.q_proj(hidden[r, c]).view(len(rows), -1, d)[:, self.head].float()
        kv_head = self.head // (self.attn.config.num_attention_heads // self.attn.config.num_key_value_heads)
        k = self.attn.k_proj(hidden).view(hidden.shape[0], hidden.shape[1], -1, d)[:, :, kv_head].float()
        cos, sin = cos[0].float(), sin[0].float()
        q = q * cos[c] + modeling_llama.rotate_half(q) * sin[c]
        k = k * cos[None] + modeling_llama.rotate_half(k) * sin[None]
        scores = torch.einsum("nd,nld->nl", q, k[r]) * self.attn.scaling
        future = torch.arange(hidden.shape[1], device=hidden.device)[None] > c[:, None]
        return torch.softmax(scores.masked_fill(future, float("-inf")), -1)

    def loss(self, seqs, idx, data):
        """Mean −log(attention mass on the named object); None when the batch names no shape."""
        rows, cols, spans = self.targets(seqs, idx, data)
        if not rows:
            return None, None
        a = self.weights(rows, cols)
        mask = torch.zeros_like(a, dtype=torch.bool)
        for n, span in enumerate(spans):
            mask[n, torch.from_numpy(span).to(a.device)] = True
        mass = (a * mask).sum(-1)
        return -((mass + 1e-4).log()).mean(), mass.mean().detach()
