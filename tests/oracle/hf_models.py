#!/usr/bin/env python3
"""Tiny random Hugging Face checkpoints and transformers' log-probabilities on them: the
oracle of tests/pretrained.rs.

Each case builds a model with transformers (GPT-NeoX with partial rotary and both residual
forms; Llama with two key/value heads, tied and untied; Qwen2 with its q/k/v biases), sets
every parameter to random values of a useful size (transformers' own initialisation gives
near-uniform next-token distributions, which would hide most mistakes), saves it with
``save_pretrained`` (safetensors; one case sharded with ``max_shard_size``, one stored in
bfloat16), loads it back with ``from_pretrained`` and scores a right-padded batch of
random token ids of different lengths: log p(token_{t+1} | tokens_{<=t}) per position,
from ``model(input_ids, attention_mask=...).logits``.

Float32 scores come from transformers unmodified. Float64 scores come from
``model.double()`` with two float32 casts that transformers keeps even in a float64 model
lifted: ``LlamaRMSNorm`` / ``Qwen2RMSNorm`` normalise in float32, and every rotary
embedding computes its angles, cosines and sines in float32. Without lifting them a
float64 comparison would measure float32 rounding; the patched forwards below compute
the same formulas in float64 (attention is torch's SDPA, which keeps float64).

With ``--grad`` the oracle also writes, for each case, the gradient with respect to every
parameter (by its checkpoint name, in the checkpoint's layout) of the SFT loss: the mean
negative log-probability over the response tokens, those after the first ``prompt``
tokens of each sequence and before its end, in float64.

Usage: hf_models.py OUT_DIR [--grad]. Writes OUT_DIR/<case>/ (the checkpoint) and
OUT_DIR/cases.json = {"cases": [{"name", "dir", "tokens", "lengths", "prompt",
"f64", "f32", "grad"?}]}.
"""

import json
import sys
import types
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import (
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

VOCAB = 61
LENGTHS = [11, 6, 9, 3]
PROMPT = 2


def cases():
    """(name, model class, config, save options) for every checkpoint."""
    neox = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    llama = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=40,
        max_position_embeddings=64,
    )
    return [
        (
            "neox_parallel",
            GPTNeoXForCausalLM,
            GPTNeoXConfig(**neox, rotary_pct=0.25, rotary_emb_base=10000, use_parallel_residual=True),
            {},
        ),
        (
            "neox_sequential",
            GPTNeoXForCausalLM,
            GPTNeoXConfig(
                **neox,
                rotary_pct=0.5,
                rotary_emb_base=500,
                use_parallel_residual=False,
                layer_norm_eps=1e-3,
            ),
            {},
        ),
        ("llama_gqa_tied", LlamaForCausalLM, LlamaConfig(**llama, tie_word_embeddings=True), {}),
        (
            "llama_gqa_untied_sharded",
            LlamaForCausalLM,
            LlamaConfig(**llama, tie_word_embeddings=False, rope_theta=500000.0, rms_norm_eps=1e-5),
            {"max_shard_size": "8KB"},
        ),
        (
            "qwen2_bias_bf16",
            Qwen2ForCausalLM,
            Qwen2Config(**llama, tie_word_embeddings=False),
            {"bf16": True},
        ),
    ]


def randomise(model, generator):
    """Every parameter random: matrices and biases N(0, 0.3²), norm scales 1 + N(0, 0.2²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator, dtype=torch.float64)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(0.3 * noise)


def rms_norm_f64(self, hidden_states):
    """LlamaRMSNorm's formula without its float32 cast."""
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


def rotary_f64(config):
    """A rotary embedding forward computing transformers' default RoPE in float64."""
    rope = config.rope_parameters
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * rope.get("partial_rotary_factor", 1.0))
    inv_freq = 1.0 / (rope["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))

    def forward(self, x, position_ids):
        freqs = position_ids[..., None].double() * inv_freq.to(x.device)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    return forward


def lift_float32_casts(model):
    for module in model.modules():
        kind = type(module).__name__
        if kind.endswith("RMSNorm"):
            module.forward = types.MethodType(rms_norm_f64, module)
        elif kind.endswith("RotaryEmbedding"):
            module.forward = types.MethodType(rotary_f64(model.config), module)


def token_log_probs(model, tokens, mask):
    logits = model(input_ids=tokens, attention_mask=mask).logits
    log_probs = torch.log_softmax(logits, dim=-1)[:, :-1]
    return log_probs.gather(2, tokens[:, 1:, None])[..., 0]


def checkpoint_names(model, folder):
    """Each parameter's name in the saved checkpoint. transformers 5 renames some on load
    (GPT-NeoX's ``embed_out`` becomes ``lm_head``); a parameter whose own name the files
    lack is matched to the one unclaimed stored tensor with exactly its values."""
    stored = {}
    for file in folder.glob("*.safetensors"):
        stored.update(load_file(file))
    names = dict(model.named_parameters())
    unclaimed = [key for key in stored if key not in names]
    result = {}
    for name, p in names.items():
        if name in stored:
            result[name] = name
            continue
        equal = [k for k in unclaimed if torch.equal(stored[k].to(p.dtype), p.detach())]
        assert len(equal) == 1, f"{name}: stored as {equal}"
        result[name] = equal[0]
    return result


def sft_gradients(model, tokens, mask, names):
    """Gradients of the mean NLL over response tokens (targets at PROMPT.. before the end)."""
    model.zero_grad()
    log_probs = token_log_probs(model, tokens, mask)
    positions = torch.arange(tokens.shape[1] - 1)[None, :]
    lengths = mask.sum(1, keepdim=True)
    response = (positions + 1 >= PROMPT) & (positions + 1 < lengths)
    loss = -(log_probs * response).sum() / response.sum()
    loss.backward()
    return {
        names[n]: p.grad.reshape(-1).tolist()
        for n, p in model.named_parameters()
        if p.grad is not None
    }


def main():
    out = Path(sys.argv[1])
    want_grad = "--grad" in sys.argv[2:]
    generator = torch.Generator().manual_seed(27)
    time = max(LENGTHS)
    tokens = torch.randint(0, VOCAB, (len(LENGTHS), time), generator=generator)
    mask = torch.zeros_like(tokens)
    for row, length in enumerate(LENGTHS):
        mask[row, :length] = 1
        tokens[row, length:] = 0
    results = []
    for name, kind, config, options in cases():
        config._attn_implementation = "sdpa"
        model = kind(config).float()
        randomise(model, generator)
        if options.get("bf16"):
            model = model.to(torch.bfloat16)
        folder = out / name
        shard = {"max_shard_size": options["max_shard_size"]} if "max_shard_size" in options else {}
        model.save_pretrained(folder, **shard)
        case = {"name": name, "dir": str(folder), "tokens": tokens.tolist(), "lengths": LENGTHS, "prompt": PROMPT}
        for label, dtype in [("f32", torch.float32), ("f64", torch.float64)]:
            loaded = kind.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").to(dtype).eval()
            if dtype == torch.float64:
                lift_float32_casts(loaded)
            with torch.no_grad():
                case[label] = token_log_probs(loaded, tokens, mask).tolist()
            if dtype == torch.float64 and want_grad:
                case["grad"] = sft_gradients(loaded, tokens, mask, checkpoint_names(loaded, folder))
        results.append(case)
    (out / "cases.json").write_text(json.dumps({"cases": results}))


if __name__ == "__main__":
    main()
