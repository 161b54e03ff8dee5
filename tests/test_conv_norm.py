"""The conv front-end's batch norm (``conv_norm: batch``, the FCN recipe): torch's
BatchNorm1d on unpadded batches, padding never in its statistics, batch-independent in
eval mode — and a batch-norm model that does not declare ``batch_statistics`` is caught
by the topology contract."""

from __future__ import annotations

import pytest
import torch

from seqforge.testing import run_topology_property
from seqforge.topologies.conv_frontend import ConvBlocks, MaskedBatchNorm
from seqforge.topologies.many_to_one import ManyToOne


def test_masked_batch_norm_is_batchnorm1d_on_unpadded_batches():
    torch.manual_seed(0)
    ours, ref = MaskedBatchNorm(5), torch.nn.BatchNorm1d(5)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 2.0)
        ref.bias.uniform_(-1.0, 1.0)
    ours.load_state_dict(ref.state_dict())
    h = torch.randn(4, 7, 5) * 3 + 1  # (B, T, C)
    mask = torch.ones(4, 7, dtype=torch.bool)
    for _ in range(3):  # train mode: batch statistics, running statistics updated alike
        torch.testing.assert_close(ours(h, mask), ref(h.transpose(1, 2)).transpose(1, 2))
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked) == 3
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(h, mask), ref(h.transpose(1, 2)).transpose(1, 2))
    assert set(ours.state_dict()) == set(ref.state_dict())


def test_padding_never_enters_the_batch_statistics():
    torch.manual_seed(1)
    a, b = MaskedBatchNorm(3), MaskedBatchNorm(3)
    h = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 4])
    mask = torch.arange(6)[None] < lengths[:, None]  # (B, T)
    padded = torch.cat([h, torch.randn(2, 3, 3) * 100], dim=1)  # 3 more steps of garbage
    padded[1, 4:] = 1e3
    pmask = torch.arange(9)[None] < lengths[:, None]
    out, out_p = a(h, mask), b(padded, pmask)
    torch.testing.assert_close(out_p[:, :6][mask], out[mask])
    torch.testing.assert_close(a.running_mean, b.running_mean)
    torch.testing.assert_close(a.running_var, b.running_var)
    # the valid steps alone, as one flat batch: the statistics torch computes
    flat = h[mask]  # (n, C)
    ref = torch.nn.BatchNorm1d(3)
    torch.testing.assert_close(out[mask], ref(flat))


def test_conv_blocks_declare_batch_statistics():
    assert ConvBlocks(2, [4], [3], norm="batch").batch_statistics
    assert not ConvBlocks(2, [4], [3]).batch_statistics


class _Undeclared(ManyToOne):
    """Batch norm that hides its batch statistics: the contract must catch it."""

    def build(self, info, out_size):
        model = super().build(info, out_size)
        model.batch_statistics = False
        return model


def test_undeclared_batch_statistics_fail_batch_independence():
    with pytest.raises(AssertionError, match="train-mode outputs"):
        run_topology_property(_Undeclared, "batch_independence", cells=("gru",),
                              max_examples=20, params={"conv": ["parallel", "serial"],
                                                       "conv_norm": ["batch"],
                                                       "conv_kernels": [[3]]})


@pytest.mark.slow
def test_a_batch_norm_run_scores_the_same_from_its_run_directory(tmp_path):
    """The running statistics are part of the checkpoint: a loaded run (eval mode) scores
    the test split exactly as the run did at its end."""
    from seqforge.api import evaluate_run, load_spec, train

    rng = torch.Generator().manual_seed(0)
    lines = []
    for i in range(40):
        t = torch.linspace(0, 1, 16 + i % 5)
        x = (t if i % 2 else torch.sin(6 * t)) + 0.2 * torch.randn(len(t), generator=rng)
        lines.append(f"{i % 2}," + ",".join(f"{v:.4f}" for v in x.tolist()))
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = load_spec({"name": "bn", "seed": 0,
                      "data": {"dataset": "labelled_series", "train": "s.csv", "format": "ucr",
                               "val": 0, "test": 0.25},
                      "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 4,
                                "conv": "parallel", "conv_channels": [8, 8],
                                "conv_kernels": [3, 3], "conv_norm": "batch"},
                      "task": "classify",
                      "train": {"epochs": 3, "batch_size": 8, "select": "last", "device": "cpu",
                                "threads": 1}}, base_dir=tmp_path)
    run = train(spec, out=tmp_path / "runs")
    norm = run.model.conv.norms[0]
    assert int(norm.num_batches_tracked) == 3 * 4  # 30 training series, batches of 8
    res = evaluate_run(run.dir)
    assert res["model"]["test_accuracy"] == run.summary["test"]["test_accuracy"]
    assert res["model"]["test_loss"] == pytest.approx(run.summary["test"]["test_loss"])
