"""PyTorch eager reference for the workbench's Section 5.3 pipeline on a pretrained
checkpoint (`[model] path`): transformers' own GPT-NeoX trained the way
scripts/yardsticks/pretrained_bench.toml trains the same checkpoint folder.

`make DIR` writes the checkpoint once (nothing is downloaded): a byte-level BPE tokenizer
of 8192 tokens trained with `tokenizers` on the chosen dialogues of the shipped
Anthropic-HH split, and a GPT-NeoX of Pythia's layout (6 layers, hidden 256, 8 heads,
MLP 1024, rotary on a quarter of each head, parallel residual, untied head) with
transformers' random initialisation from seed 0, saved with `save_pretrained` in float32.

`run DIR` then trains it as the workbench does: the first PAIRS usable pairs of the HH
split, split into prompt and responses as the workbench splits HH lines, encoded without
special tokens, laid out as `[BOS] prompt response [EOS]` and cut to MAX_LENGTH by the
workbench's rule; SFT (mean negative log-likelihood per response token) in batches of
BATCH, π_ref's scores once without gradients, DPO (β = 0.1, chosen and rejected in one
batch), Adam throughout; finally the policy's scores. It prints the wall time of each
phase and response tokens per second, the workbench's throughput unit (the same tokens:
EOS included, prompt and padding excluded).

`--shape pythia-160m` makes Pythia-160M's shape instead (12 layers, hidden 768, 12 heads,
MLP 3072, embedding 50304 rows; the tokenizer keeps 8192 tokens), and `--device cuda` runs
on a GPU: the GPU row of docs/backends.md, not yet measured.

usage: python pretrained_torch.py make DIR [--shape bench|pythia-160m]
       python pretrained_torch.py run DIR [--dtype f32|f64] [--threads 2] [--device cpu|cuda]
"""
import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

# The HH split, the BPE training and the layout rule, as the transformers oracle of
# tests/pretrained_pipeline.rs has them (one Python copy of the workbench's rules).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/oracle"))
from hf_pipeline import hh_lines, layout, train_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HH = REPO / "experiments/data/hh-rlhf/harmless-base-test.jsonl.gz"
EOT = "<|endoftext|>"
# Must equal scripts/yardsticks/pretrained_bench.toml.
PAIRS, MAX_LENGTH, BATCH, SFT_EPOCHS, DPO_EPOCHS = 128, 64, 16, 1, 1
SFT_LR, DPO_LR, BETA = 1e-4, 1e-5, 0.1


# (layers, hidden, heads, MLP width, embedding rows; None: the tokenizer's size).
SHAPES = {"bench": (6, 256, 8, 1024, None), "pythia-160m": (12, 768, 12, 3072, 50304)}


def make(out, shape):
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        dialogues = [json.loads(line)["chosen"] for line in f]
    tokenizer = train_tokenizer(dialogues, vocab_size=8192, specials=[EOT])
    eot = tokenizer.token_to_id(EOT)
    torch.manual_seed(0)
    layers, hidden, heads, mlp, rows = SHAPES[shape]
    config = GPTNeoXConfig(
        vocab_size=rows or tokenizer.get_vocab_size(),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=mlp,
        max_position_embeddings=2048,
        rotary_pct=0.25,
        rotary_emb_base=10000,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    GPTNeoXForCausalLM(config).save_pretrained(out)
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"bos_token": EOT, "eos_token": EOT}) + "\n")
    print(f"{out}: vocab {config.vocab_size}")


def padded(laid, device):
    """Right-padded inputs, attention mask, targets and response mask of laid-out sequences."""
    t = max(len(s) for s, _ in laid) - 1
    inputs = torch.zeros((len(laid), t), dtype=torch.long)
    attention = torch.zeros_like(inputs)
    targets = torch.zeros_like(inputs)
    mask = torch.zeros((len(laid), t))
    for row, (s, start) in enumerate(laid):
        inputs[row, : len(s) - 1] = torch.tensor(s[:-1])
        attention[row, : len(s) - 1] = 1
        targets[row, : len(s) - 1] = torch.tensor(s[1:])
        mask[row, start - 1 : len(s) - 1] = 1
    return [x.to(device) for x in (inputs, attention, targets, mask)]


def sequence_log_probs(model, laid):
    inputs, attention, targets, mask = padded(laid, model.device)
    logits = model(input_ids=inputs, attention_mask=attention).logits
    log_probs = F.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]
    return (log_probs * mask).sum(1), mask


def run(folder, a):
    from tokenizers import Tokenizer
    from transformers import GPTNeoXForCausalLM

    torch.set_num_threads(a.threads)
    dtype = torch.float64 if a.dtype == "f64" else torch.float32
    torch.set_default_dtype(dtype)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    eot = tokenizer.token_to_id(EOT)
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False).ids  # noqa: E731
    pairs = []
    for _, prompt, chosen, rejected in hh_lines():
        if len(pairs) == PAIRS:
            break
        p = encode(prompt)
        pairs.append((layout(p, encode(chosen), eot, eot, MAX_LENGTH), layout(p, encode(rejected), eot, eot, MAX_LENGTH)))
    model = GPTNeoXForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").to(a.device, dtype)
    model.train()
    g = torch.Generator().manual_seed(0)

    def epochs(count):
        for _ in range(count):
            order = torch.randperm(len(pairs), generator=g).tolist()
            for k in range(0, len(pairs), BATCH):
                yield order[k : k + BATCH]

    opt = torch.optim.Adam(model.parameters(), lr=SFT_LR)
    t0 = time.perf_counter()
    sft_tokens = 0
    for idx in epochs(SFT_EPOCHS):
        scores, mask = sequence_log_probs(model, [pairs[i][0] for i in idx])
        loss = -scores.sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sft_tokens += int(mask.sum())
    sft_s = time.perf_counter() - t0

    def score_all():
        with torch.no_grad():
            chunks = [pairs[k : k + 64] for k in range(0, len(pairs), 64)]
            return torch.stack(
                [torch.cat([sequence_log_probs(model, [p[side] for p in c])[0] for c in chunks]) for side in (0, 1)]
            )

    t1 = time.perf_counter()
    ref = score_all()
    ref_s = time.perf_counter() - t1

    opt = torch.optim.Adam(model.parameters(), lr=DPO_LR)
    t2 = time.perf_counter()
    dpo_tokens = 0
    for idx in epochs(DPO_EPOCHS):
        scores, mask = sequence_log_probs(model, [pairs[i][0] for i in idx] + [pairs[i][1] for i in idx])
        lp = scores.view(2, -1)
        r = ref[:, idx]
        loss = -F.logsigmoid(BETA * ((lp[0] - r[0]) - (lp[1] - r[1]))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        dpo_tokens += int(mask.sum())
    dpo_s = time.perf_counter() - t2
    t3 = time.perf_counter()
    score_all()
    final_s = time.perf_counter() - t3
    print(
        f"torch {torch.__version__} {a.dtype} threads={a.threads}: sft {sft_s:.2f}s "
        f"({sft_tokens / sft_s:.0f} tok/s, {sft_tokens} tokens), ref {ref_s:.2f}s, dpo {dpo_s:.2f}s "
        f"({dpo_tokens / dpo_s:.0f} tok/s, {dpo_tokens} tokens), "
        f"total {sft_s + ref_s + dpo_s + final_s:.2f}s"
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["make", "run"])
    p.add_argument("dir", type=Path)
    p.add_argument("--dtype", default="f64")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--shape", default="bench", choices=sorted(SHAPES))
    a = p.parse_args()
    make(a.dir, a.shape) if a.what == "make" else run(a.dir, a)


if __name__ == "__main__":
    main()
