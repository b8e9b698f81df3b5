#!/usr/bin/env python3
"""Tiny checkpoints with trained tokenizers, and transformers' log pi(y|x) of every pair of
an Anthropic-HH file under them: the oracle of tests/pretrained_pipeline.rs.

A byte-level BPE tokenizer is trained with the ``tokenizers`` package on the dialogues of
the HH file the repository ships; three random models (GPT-NeoX with partial rotary and
an untied head, Llama with two key/value heads and a tied head, Qwen2 with q/k/v biases)
are saved with ``save_pretrained`` beside it. Each folder names its special tokens the
way real checkpoints do: Pythia's ``tokenizer_config.json`` (BOS = EOS =
``<|endoftext|>``), Llama's AddedToken objects (BOS ``<s>``), and Qwen2's
``generation_config.json`` alone (a list of end tokens, no BOS).

The pairs are split as the workbench splits HH lines (the dialogues' common prefix, cut
back to its last "\\n\\nAssistant:"), prompt and responses are encoded separately without
special tokens, each sequence is laid out as ``[BOS] prompt response [EOS]`` and cut to
``MAX_LENGTH`` tokens by the workbench's documented rule (the response keeps its start and
at least half the room, the prompt its end, one prompt per pair: as much as the longer kept
response leaves room for; a cut response has no EOS), and the batch is
right-padded. log pi(y|x) is the sum of the response tokens' log-probabilities (EOS
included), from ``model(input_ids, attention_mask).logits``: in float32 from transformers
unmodified, in float64 with the float32 casts of RMSNorm and the rotary embedding lifted
(see hf_models.py).

Usage: hf_pipeline.py OUT_DIR. Writes OUT_DIR/data.jsonl (the pairs used),
OUT_DIR/<case>/ and OUT_DIR/cases.json = {"max_length", "pairs", "cases": [{"name",
"dir", "f64": {"chosen", "rejected"}, "f32": {...}, "scored": {"chosen", "rejected"}}]}.
"""

import gzip
import json
import os
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_models import lift_float32_casts, randomise  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HH = REPO / "experiments/data/hh-rlhf/harmless-base-test.jsonl.gz"
ASSISTANT = "\n\nAssistant:"
PAIRS = 16
MAX_LENGTH = 48
EOT, BOS = "<|endoftext|>", "<s>"


def hh_lines():
    """(raw line, prompt, chosen, rejected) of the HH file's usable lines, in order."""
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        for line in f:
            pair = json.loads(line)
            chosen, rejected = pair["chosen"], pair["rejected"]
            common = os.path.commonprefix([chosen, rejected])
            at = common.rfind(ASSISTANT)
            if chosen == rejected or at < 0:
                continue
            end = at + len(ASSISTANT)
            c, r = chosen[end:], rejected[end:]
            if c.strip() and r.strip() and c != r:
                yield line, chosen[:end], c, r


def train_tokenizer(texts, vocab_size=420, specials=(EOT, BOS)):
    """A byte-level BPE tokenizer of `vocab_size` tokens trained on `texts` (also what
    scripts/make-tiny-pythia.py and the pretrained yardstick train)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def cases(vocab, eot):
    """(name, model class, config, special-token files) of every checkpoint."""
    common = dict(
        vocab_size=vocab + 3,  # an embedding larger than the tokenizer, as Pythia's is
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
        eos_token_id=eot,
        bos_token_id=eot,
    )
    pythia = {"tokenizer_config.json": {"bos_token": EOT, "eos_token": EOT}}
    added = lambda text: {"content": text, "lstrip": False, "rstrip": False, "special": True}  # noqa: E731
    llama = {"tokenizer_config.json": {"bos_token": added(BOS), "eos_token": added(EOT)}}
    qwen = {"generation_config.json": {"eos_token_id": [eot, eot + 1]}}
    return [
        (
            "neox",
            GPTNeoXForCausalLM,
            GPTNeoXConfig(**common, rotary_pct=0.25, use_parallel_residual=True, tie_word_embeddings=False),
            pythia,
        ),
        (
            "llama",
            LlamaForCausalLM,
            LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=True),
            llama,
        ),
        (
            "qwen2",
            Qwen2ForCausalLM,
            Qwen2Config(**{**common, "bos_token_id": None}, num_key_value_heads=2, tie_word_embeddings=False),
            qwen,
        ),
    ]


def layout(prompt, response, bos, eos, max_length=MAX_LENGTH):
    """workbench::sequence::batch::layout: `[BOS] prompt response [EOS]` cut to `max_length`."""
    room = max_length - 1
    whole = len(response) + 1
    kept = min(whole, max(max(room - len(prompt), 0), room // 2))
    cut = kept < whole
    kept_prompt = min(len(prompt), room - kept)
    tokens = [bos] + prompt[len(prompt) - kept_prompt :]
    start = len(tokens)
    tokens += response[: kept if cut else len(response)]
    if not cut:
        tokens.append(eos)
    return tokens, start


def pair_prompt(prompt, chosen, rejected, max_length=MAX_LENGTH):
    """workbench::sequence::batch::pair_prompt: the prompt both responses of a pair are
    scored under -- its last tokens, as many as the longer kept response leaves room for."""
    room = max_length - 1
    kept = lambda response: min(len(response) + 1, max(max(room - len(prompt), 0), room // 2))  # noqa: E731
    longer = max(kept(chosen), kept(rejected))
    return prompt[len(prompt) - min(len(prompt), room - longer) :]


def laid_pairs(pairs, encode, bos, eos):
    """Each side's laid-out sequences, both responses of a pair under its one prompt."""
    laid = {"chosen": [], "rejected": []}
    for _, p, chosen, rejected in pairs:
        x, w, l = encode(p), encode(chosen), encode(rejected)
        prompt = pair_prompt(x, w, l)
        laid["chosen"].append(layout(prompt, w, bos, eos))
        laid["rejected"].append(layout(prompt, l, bos, eos))
    return laid


def sequence_log_probs(model, laid):
    """log pi(y|x) of each laid-out sequence, in one right-padded batch."""
    time = max(len(t) for t, _ in laid)
    tokens = torch.zeros((len(laid), time), dtype=torch.long)
    mask = torch.zeros_like(tokens)
    for row, (t, _) in enumerate(laid):
        tokens[row, : len(t)] = torch.tensor(t)
        mask[row, : len(t)] = 1
    with torch.no_grad():
        logits = model(input_ids=tokens, attention_mask=mask).logits
    log_probs = torch.log_softmax(logits, dim=-1)[:, :-1].gather(2, tokens[:, 1:, None])[..., 0]
    return [log_probs[row, start - 1 : len(t) - 1].sum().item() for row, (t, start) in enumerate(laid)]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    lines = list(hh_lines())
    tokenizer = train_tokenizer(p + c for _, p, c, _ in lines[:400])
    pairs = lines[:PAIRS]
    (out / "data.jsonl").write_text("".join(line if line.endswith("\n") else line + "\n" for line, *_ in pairs))
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False).ids  # noqa: E731
    eot, bos = tokenizer.token_to_id(EOT), tokenizer.token_to_id(BOS)
    generator = torch.Generator().manual_seed(2705)
    results = []
    for name, kind, config, specials in cases(tokenizer.get_vocab_size(), eot):
        folder = out / name
        config._attn_implementation = "sdpa"
        model = kind(config).float()
        randomise(model, generator)
        model.save_pretrained(folder)
        tokenizer.save(str(folder / "tokenizer.json"))
        for file, content in specials.items():
            (folder / file).write_text(json.dumps(content))
        first = bos if name == "llama" else eot
        case = {"name": name, "dir": str(folder), "scored": {}}
        laid = laid_pairs(pairs, encode, first, eot)
        case["scored"] = {side: [len(t) - s for t, s in laid[side]] for side in laid}
        for label, dtype in [("f32", torch.float32), ("f64", torch.float64)]:
            loaded = kind.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").to(dtype).eval()
            if dtype == torch.float64:
                lift_float32_casts(loaded)
            case[label] = {side: sequence_log_probs(loaded, laid[side]) for side in laid}
        results.append(case)
    (out / "cases.json").write_text(json.dumps({"max_length": MAX_LENGTH, "pairs": len(pairs), "cases": results}))


if __name__ == "__main__":
    main()
