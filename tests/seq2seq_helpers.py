"""Builders shared by the seq2seq tests: bundles, an encoder–decoder built as the engine
builds it, token batches, teacher-forced log-probabilities, the small CPU spec."""

from __future__ import annotations

from pathlib import Path

import torch

from seqforge.data.base import DataInfo
from seqforge.data.sources.seq2seq import Seq2SeqDataset, Seq2SeqParams
from seqforge.data.transforms.vocab import EOS_ID, PAD_ID, Vocab
from seqforge.spec.schema import Component, ModelSpec
from seqforge.topologies.encoder_decoder import EncoderDecoder, EncoderDecoderParams

ROOT = Path(__file__).resolve().parents[1]
SPECS = {name: ROOT / "specs" / f"{name}_seq2seq.yaml" for name in ("dates", "addition", "reversal")}


# -- builders ----------------------------------------------------------------------------------

def bundle_of(tmp_path=None, seed=0, **params):
    src = Seq2SeqDataset(Seq2SeqParams(**params), base_dir=tmp_path, seed=seed)
    return src, src.load()


def build_model(cell="gru", *, hidden=8, layers=1, bidirectional=False, embedding=None,
                src_vocab=7, tgt_vocab=9, seed=0, **params):
    """An encoder–decoder over token sources/targets, built as the engine builds it."""
    from seqforge.plugins import get_registry

    info = DataInfo(input="sequence", vocab=Vocab([f"s{i}" for i in range(src_vocab - 4)]),
                    target_vocab=Vocab([f"t{i}" for i in range(tgt_vocab - 4)]))
    spec = ModelSpec(topology=Component(name="encoder_decoder"),
                     cell=Component(name=cell), hidden_size=hidden, num_layers=layers,
                     bidirectional=bidirectional, embedding=embedding)
    topo = EncoderDecoder(spec, EncoderDecoderParams(**params), get_registry().get("cell", cell))
    torch.manual_seed(seed)
    return topo.build(info, tgt_vocab).eval()


def token_batch(B=4, S=6, T=5, src_vocab=7, tgt_vocab=9, seed=0, lengths=None):
    """x (B, S) with padding after each row's length, y (B, T) ending in <eos> + padding."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths) if lengths is not None else torch.randint(1, S + 1, (B,), generator=g)
    lengths[0] = S  # the longest row spans the batch, as pad_collate makes it
    x = torch.randint(4, src_vocab, (B, S), generator=g)
    x[torch.arange(S)[None] >= lengths[:, None]] = PAD_ID
    y_len = torch.randint(1, T + 1, (B,), generator=g)
    y_len[0] = T
    y = torch.randint(4, tgt_vocab, (B, T), generator=g)
    y[torch.arange(B), y_len - 1] = EOS_ID
    y[torch.arange(T)[None] >= y_len[:, None]] = PAD_ID
    return {"x": x, "lengths": lengths, "y": y, "y_lengths": y_len}


def sequence_logprob(model, batch, row: int, ids: list[int]) -> float:
    """Teacher-force ``ids`` through the model: sum of their log-probabilities."""
    one = {"x": batch["x"][row:row + 1], "lengths": batch["lengths"][row:row + 1],
           "y": torch.tensor([ids])}
    with torch.no_grad():
        out, _ = model(one)  # (1, L, V)
    logp = torch.log_softmax(out.double(), -1)[0]
    return float(logp[torch.arange(len(ids)), torch.tensor(ids)].sum())


def small_spec(source: str, **data) -> dict:
    """The small CPU configuration the quality bars are held to."""
    return {
        "name": f"test_{source}", "seed": 0,
        "data": {"dataset": "seq2seq", "source": source, **data},
        "model": {"topology": "encoder_decoder", "cell": "gru", "hidden_size": 64,
                  "embedding": 16, "attention": "dot"},
        "task": "seq2seq",
        "train": {"epochs": 8, "batch_size": 64, "optimizer": {"name": "adam", "lr": 3e-3},
                  "clip_grad_norm": 1.0, "threads": 1},
    }


def write_tsv(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
