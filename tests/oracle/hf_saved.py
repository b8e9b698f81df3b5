#!/usr/bin/env python3
"""transformers' log pi(y|x) of the HH pairs under model folders the workbench saved: the
oracle of tests/pretrained_save.rs.

Each folder is loaded with ``AutoModelForCausalLM.from_pretrained`` (its own config.json
and model.safetensors) and its tokenizer with ``tokenizers.Tokenizer.from_file`` (its own
tokenizer.json); the pairs are the ones tests/oracle/hf_pipeline.py wrote, split, laid out
and truncated as that script does (the workbench's rule), and scored the same way. A
folder saved in float64 is loaded and scored in float64, with transformers' float32
casts lifted as hf_models.py does; one saved in float32 is scored in float32.

Usage: hf_saved.py JOBS_JSON, where JOBS_JSON is a list of {"case", "folder", "source"}
("case" is hf_pipeline.py's checkpoint name, which says whether the sequences start with
BOS or EOT; "source" the checkpoint the run started from). Prints a JSON list, one entry
per job: {"chosen", "rejected", "scored": {"chosen", "rejected"}, "sha256" (of
model.safetensors), "dtypes", "names" (the saved tensors'), "source_names", "loading":
{"missing_keys", "unexpected_keys", "mismatched_keys"}}.
"""

import hashlib
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_models import lift_float32_casts  # noqa: E402
from hf_pipeline import BOS, EOT, PAIRS, hh_lines, laid_pairs, sequence_log_probs  # noqa: E402

TORCH = {"F32": torch.float32, "F64": torch.float64}


def stored_names(folder):
    """The tensor names of every safetensors file in `folder`."""
    names = []
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(file, framework="pt") as f:
            names += f.keys()
    return sorted(names)


def score(case, folder, source):
    folder = Path(folder)
    weights = folder / "model.safetensors"
    with safe_open(weights, framework="pt") as f:
        names = sorted(f.keys())
        dtypes = sorted({str(f.get_slice(n).get_dtype()) for n in names})
    assert len(dtypes) == 1, f"{folder}: tensors of several types {dtypes}"
    dtype = TORCH[dtypes[0]]
    model, info = AutoModelForCausalLM.from_pretrained(
        folder, dtype=dtype, attn_implementation="sdpa", output_loading_info=True
    )
    model.eval()
    if dtype == torch.float64:
        lift_float32_casts(model)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False).ids  # noqa: E731
    eot, bos = tokenizer.token_to_id(EOT), tokenizer.token_to_id(BOS)
    first = bos if case == "llama" else eot
    pairs = list(hh_lines())[:PAIRS]
    laid = laid_pairs(pairs, encode, first, eot)
    entry = {side: sequence_log_probs(model, laid[side]) for side in laid}
    entry["scored"] = {side: [len(t) - s for t, s in laid[side]] for side in laid}
    entry["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    entry["dtypes"] = dtypes
    entry["names"] = names
    entry["source_names"] = stored_names(Path(source))
    entry["loading"] = {key: sorted(map(str, info.get(key, []))) for key in ["missing_keys", "unexpected_keys", "mismatched_keys"]}
    return entry


def main():
    jobs = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps([score(job["case"], job["folder"], job["source"]) for job in jobs]))


if __name__ == "__main__":
    main()
