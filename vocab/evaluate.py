"""How good an initialisation is before any training.

* pieces per word, before and after the expansion;
* fidelity (encoders): cosine between the mean-pooled sentence embedding the original model
  gives with the old tokenization and the one the expanded model gives with the new
  tokenization — 1.0 means the new rows lost nothing;
* for causal language models, the negative log-likelihood of the text *per word* (comparable
  across tokenizations, unlike a per-token loss), before and after.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def pieces_per_word(segmenter, lines: Sequence[str]) -> tuple[float, int]:
    """Mean number of pieces per word and the number of words, over ``lines``.

    Words are the tokenizer's own pre-tokenised units; a word absorbed into an added token
    counts the pieces its id sequence covers.
    """
    n_words = sum(len(segmenter.words(line)) for line in lines)
    n_pieces = sum(len(ids) for ids in segmenter.encode_lines(lines))
    return (n_pieces / n_words if n_words else float("nan")), n_words


def _batches(seg, lines: Sequence[str], batch: int, max_len: int):
    import torch

    enc = seg.encode_lines(lines, add_special_tokens=True)
    for start in range(0, len(enc), batch):
        chunk = [e[:max_len] for e in enc[start:start + batch]]
        width = max(len(e) for e in chunk)
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, e in enumerate(chunk):
            ids[r, :len(e)] = torch.tensor(e, dtype=torch.long)
            mask[r, :len(e)] = 1
        yield ids, mask


def sentence_embeddings(model, seg, lines: Sequence[str], *, batch: int = 32, max_len: int = 128,
                        device: str = "cpu", progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Mean-pooled last hidden states (padding masked out), one row per line.

    Returns
    -------
    ndarray, shape (n_lines, hidden), float32
    """
    import torch

    out, done = [], 0
    with torch.inference_mode():
        for ids, mask in _batches(seg, lines, batch, max_len):
            h = model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
            m = mask.to(device).unsqueeze(-1).to(h.dtype)
            out.append(((h * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy())
            done += len(ids)
            if progress is not None:
                progress(done, len(lines))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def fidelity(orig_emb: np.ndarray, new_emb: np.ndarray) -> np.ndarray:
    """Row-wise cosine between two sentence-embedding matrices, shape (n,) → (n,)."""
    a = orig_emb / np.maximum(np.linalg.norm(orig_emb, axis=1, keepdims=True), 1e-12)
    b = new_emb / np.maximum(np.linalg.norm(new_emb, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def lm_nll_per_word(model, seg, lines: Sequence[str], *, batch: int = 16, max_len: int = 128,
                    device: str = "cpu") -> float:
    """Total next-token negative log-likelihood (nats) divided by the number of words."""
    import torch

    total, words = 0.0, 0
    with torch.inference_mode():
        for ids, mask in _batches(seg, lines, batch, max_len):
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            tgt = ids[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
            total += float((nll * mask[:, 1:]).sum())
    for line in lines:
        words += len(seg.words(line))
    return total / max(words, 1)


def load_model(path, device: str = "cpu", lm: bool = False):
    """Load a checkpoint folder with ``transformers`` offline (safetensors only), in eval mode."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    cls = AutoModelForCausalLM if lm else AutoModel
    model = cls.from_pretrained(str(path), use_safetensors=True, local_files_only=True)
    return model.to(device).eval()
