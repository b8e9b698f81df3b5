#!/usr/bin/env python3
"""Makes experiments/models/tiny-pythia: the small GPT-NeoX checkpoint that
experiments/examples/pretrained_tiny_pythia.toml fine-tunes on the CPU.

Run once by hand; its output is committed, so neither the example nor the tests need
Python. It needs torch, transformers and tokenizers (`eval "$(bash scripts/oracle-python.sh)"`,
then `$WORKBENCH_ORACLE_PYTHON scripts/make-tiny-pythia.py`). Nothing is downloaded:

1. a byte-level BPE tokenizer of 1024 tokens is trained with `tokenizers` on the chosen
   dialogues of the shipped Anthropic-HH split (experiments/data/hh-rlhf, its licence
   there), with `<|endoftext|>` as Pythia's BOS = EOS;
2. a GPT-NeoX model of Pythia's layout (parallel residual, rotary on a quarter of each
   head, untied `embed_out`), 2 layers of width 64, is initialised by transformers from a
   fixed seed and trained with AdamW for 300 steps of 16 dialogues (128 tokens each) to
   predict the next token, so that it is a language model of that text rather than noise;
3. it is saved with `save_pretrained` (safetensors, float32) beside the tokenizer, a
   Pythia-style `tokenizer_config.json` and this provenance in README.md.

Usage: make-tiny-pythia.py [OUT_DIR] (default experiments/models/tiny-pythia).
"""

import gzip
import json
import sys
from pathlib import Path

import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

# The byte-level BPE training the transformers oracle of tests/pretrained_pipeline.rs uses.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/oracle"))
from hf_pipeline import train_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HH = REPO / "experiments/data/hh-rlhf/harmless-base-test.jsonl.gz"
EOT = "<|endoftext|>"
STEPS, BATCH, LENGTH = 300, 16, 128


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "experiments/models/tiny-pythia"
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        dialogues = [json.loads(line)["chosen"] for line in f]
    tokenizer = train_tokenizer(dialogues, vocab_size=1024, specials=[EOT])
    eot = tokenizer.token_to_id(EOT)
    stream = []
    for text in dialogues:
        stream += [eot] + tokenizer.encode(text, add_special_tokens=False).ids
    stream = torch.tensor(stream)

    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=256,
        rotary_pct=0.25,
        rotary_emb_base=10000,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    model = GPTNeoXForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    generator = torch.Generator().manual_seed(1)
    model.train()
    for step in range(STEPS):
        starts = torch.randint(0, len(stream) - LENGTH, (BATCH,), generator=generator)
        batch = torch.stack([stream[s : s + LENGTH] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == STEPS - 1:
            print(f"step {step}: loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": EOT, "eos_token": EOT, "model_max_length": 256}, indent=2) + "\n"
    )
    (out / "README.md").write_text(
        "# tiny-pythia\n\n"
        "A 2-layer GPT-NeoX (Pythia layout) of width 64 with a 1024-token byte-level BPE\n"
        "tokenizer, made by `scripts/make-tiny-pythia.py` from the Anthropic-HH split in\n"
        "`experiments/data/hh-rlhf` (MIT licence, see its LICENSE): tokenizer trained on its chosen\n"
        f"dialogues, model trained {STEPS} AdamW steps of {BATCH} x {LENGTH} tokens on them\n"
        f"(final training loss {loss.item():.3f} nats/token), saved with transformers'\n"
        "`save_pretrained` in float32. Small enough to ship; used by\n"
        "`experiments/examples/pretrained_tiny_pythia.toml`.\n"
    )


if __name__ == "__main__":
    main()
