"""The fused C++ variant of the LayerNorm-LSTM benchmark (``bench_custom_cell.py``): the
BPTT loops with each step's elementwise work in one C++ pass, built with
``torch.utils.cpp_extension.load_inline`` on first use."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins" / "seqforge-extras" / "src"))

from seqforge_extras import _lnlstm_bptt  # noqa: E402
from seqforge_extras.layernorm_lstm import LayerNormLSTMCell  # noqa: E402


# -- "fewer, larger kernels": the BPTT loops with each step's elementwise work in one C++ pass --

CPP_SRC = r"""
#include <torch/extension.h>
#include <cmath>
#include <vector>

// Fused per-step kernels of the LayerNorm-LSTM recurrence (one mm + one pass per step).
template <typename s_t> static inline s_t sigm(s_t x) { return s_t(1) / (s_t(1) + std::exp(-x)); }

std::vector<at::Tensor> fwd(at::Tensor xin, at::Tensor w_hh, at::Tensor g_hh, at::Tensor g_c,
                            at::Tensor b_c, at::Tensor h0, at::Tensor c0, double eps) {
  xin = xin.contiguous();
  const int64_t T = xin.size(0), B = xin.size(1), G = xin.size(2), H = G / 4;
  auto o = xin.options();
  auto HH = at::empty({T, B, G}, o), A = at::empty({T, B, G}, o);
  auto CR = at::empty({T, B, H}, o), TC = at::empty({T, B, H}, o), Y = at::empty({T, B, H}, o);
  auto ST = at::empty({T, B, 4}, o);
  auto w_t = w_hh.t();
  at::Tensor h = h0.contiguous(), c = c0.contiguous(), gh_ = g_hh.contiguous(),
             gc_ = g_c.contiguous(), bc_ = b_c.contiguous();
  AT_DISPATCH_FLOATING_TYPES(xin.scalar_type(), "lnlstm_fwd", [&] {
    const scalar_t *gh = gh_.data_ptr<scalar_t>(), *gc = gc_.data_ptr<scalar_t>(),
                   *bc = bc_.data_ptr<scalar_t>(), *X = xin.data_ptr<scalar_t>();
    scalar_t *HHp = HH.data_ptr<scalar_t>(), *Ap = A.data_ptr<scalar_t>(),
             *CRp = CR.data_ptr<scalar_t>(), *TCp = TC.data_ptr<scalar_t>(),
             *Yp = Y.data_ptr<scalar_t>(), *STp = ST.data_ptr<scalar_t>();
    const scalar_t e = static_cast<scalar_t>(eps);
    for (int64_t t = 0; t < T; ++t) {
      auto hh_t = HH.select(0, t);
      at::mm_out(hh_t, h, w_t);
      const scalar_t* cp = c.data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        const int64_t rg = (t * B + b) * G, rh = (t * B + b) * H;
        const scalar_t* r = HHp + rg;
        const scalar_t* x = X + rg;
        scalar_t* a = Ap + rg;
        scalar_t mean = 0, var = 0;
        for (int64_t j = 0; j < G; ++j) mean += r[j];
        mean /= G;
        for (int64_t j = 0; j < G; ++j) { scalar_t d = r[j] - mean; var += d * d; }
        var /= G;
        const scalar_t rstd = scalar_t(1) / std::sqrt(var + e);
        for (int64_t j = 0; j < G; ++j) a[j] = (r[j] - mean) * rstd * gh[j] + x[j];
        for (int64_t j = 0; j < 2 * H; ++j) a[j] = sigm(a[j]);
        for (int64_t j = 2 * H; j < 3 * H; ++j) a[j] = std::tanh(a[j]);
        for (int64_t j = 3 * H; j < G; ++j) a[j] = sigm(a[j]);
        scalar_t* cr = CRp + rh;
        const scalar_t* cpb = cp + b * H;
        for (int64_t k = 0; k < H; ++k) cr[k] = a[H + k] * cpb[k] + a[k] * a[2 * H + k];
        scalar_t mc = 0, vc = 0;
        for (int64_t k = 0; k < H; ++k) mc += cr[k];
        mc /= H;
        for (int64_t k = 0; k < H; ++k) { scalar_t d = cr[k] - mc; vc += d * d; }
        vc /= H;
        const scalar_t rc = scalar_t(1) / std::sqrt(vc + e);
        scalar_t *tc = TCp + rh, *y = Yp + rh;
        for (int64_t k = 0; k < H; ++k) tc[k] = std::tanh((cr[k] - mc) * rc * gc[k] + bc[k]);
        for (int64_t k = 0; k < H; ++k) y[k] = a[3 * H + k] * tc[k];
        scalar_t* s = STp + (t * B + b) * 4;
        s[0] = mean; s[1] = rstd; s[2] = mc; s[3] = rc;
      }
      h = Y.select(0, t);
      c = CR.select(0, t);
    }
  });
  return {Y, HH, A, CR, TC, ST};
}

std::vector<at::Tensor> bwd(at::Tensor dY, at::Tensor dhT, at::Tensor dcT, at::Tensor w_hh,
                            at::Tensor g_hh, at::Tensor g_c, at::Tensor h0, at::Tensor c0,
                            at::Tensor HH, at::Tensor A, at::Tensor CR, at::Tensor TC,
                            at::Tensor Y, at::Tensor ST) {
  dY = dY.contiguous();
  const int64_t T = HH.size(0), B = HH.size(1), G = HH.size(2), H = G / 4;
  auto o = HH.options();
  auto DZ = at::empty({T, B, G}, o), DHH = at::empty({T, B, G}, o);
  auto dg_hh = at::zeros({G}, o), dg_c = at::zeros({H}, o), db_c = at::zeros({H}, o);
  auto dh = dY.select(0, T - 1) + dhT;
  auto dc = dcT.contiguous().clone();
  auto c0c = c0.contiguous();
  at::Tensor gh_ = g_hh.contiguous(), gc_ = g_c.contiguous();
  AT_DISPATCH_FLOATING_TYPES(HH.scalar_type(), "lnlstm_bwd", [&] {
    const scalar_t *gh = gh_.data_ptr<scalar_t>(), *gc = gc_.data_ptr<scalar_t>();
    const scalar_t *HHp = HH.data_ptr<scalar_t>(), *Ap = A.data_ptr<scalar_t>(),
                   *CRp = CR.data_ptr<scalar_t>(), *TCp = TC.data_ptr<scalar_t>(),
                   *STp = ST.data_ptr<scalar_t>();
    scalar_t *DZp = DZ.data_ptr<scalar_t>(), *DHHp = DHH.data_ptr<scalar_t>(),
             *dgh = dg_hh.data_ptr<scalar_t>(), *dgc = dg_c.data_ptr<scalar_t>(),
             *dbc = db_c.data_ptr<scalar_t>(), *dcp = dc.data_ptr<scalar_t>();
    std::vector<scalar_t> dcn(H), chat(H), hhat(G);
    for (int64_t t = T - 1; t >= 0; --t) {
      const scalar_t* dhp = dh.data_ptr<scalar_t>();
      const scalar_t* cprev = t > 0 ? CRp + (t - 1) * B * H : c0c.data_ptr<scalar_t>();
      for (int64_t b = 0; b < B; ++b) {
        const int64_t rg = (t * B + b) * G, rh = (t * B + b) * H;
        const scalar_t *a = Ap + rg, *tc = TCp + rh, *cr = CRp + rh, *s = STp + (t * B + b) * 4;
        const scalar_t* dhb = dhp + b * H;
        const scalar_t* cpb = cprev + b * H;
        scalar_t* dz = DZp + rg;
        scalar_t* dcb = dcp + b * H;
        const scalar_t mc = s[2], rc = s[3];
        scalar_t m1 = 0, m2 = 0;
        for (int64_t k = 0; k < H; ++k) {
          const scalar_t og = a[3 * H + k], tk = tc[k], d = dhb[k];
          dz[3 * H + k] = d * tk * og * (1 - og);
          dcn[k] = d * og * (1 - tk * tk);
          chat[k] = (cr[k] - mc) * rc;
          const scalar_t dch = dcn[k] * gc[k];
          m1 += dch;
          m2 += dch * chat[k];
          dgc[k] += dcn[k] * chat[k];
          dbc[k] += dcn[k];
        }
        m1 /= H; m2 /= H;
        for (int64_t k = 0; k < H; ++k) {
          const scalar_t dct = dcb[k] + rc * (dcn[k] * gc[k] - m1 - chat[k] * m2);
          const scalar_t ig = a[k], fg = a[H + k], gg = a[2 * H + k];
          dz[k] = dct * gg * ig * (1 - ig);
          dz[H + k] = dct * cpb[k] * fg * (1 - fg);
          dz[2 * H + k] = dct * ig * (1 - gg * gg);
          dcb[k] = dct * fg;
        }
        const scalar_t mh = s[0], rs = s[1];
        const scalar_t* r = HHp + rg;
        scalar_t n1 = 0, n2 = 0;
        for (int64_t j = 0; j < G; ++j) {
          hhat[j] = (r[j] - mh) * rs;
          const scalar_t d = dz[j] * gh[j];
          n1 += d;
          n2 += d * hhat[j];
          dgh[j] += dz[j] * hhat[j];
        }
        n1 /= G; n2 /= G;
        scalar_t* dhh = DHHp + rg;
        for (int64_t j = 0; j < G; ++j) dhh[j] = rs * (dz[j] * gh[j] - n1 - hhat[j] * n2);
      }
      auto dhh_t = DHH.select(0, t);
      if (t > 0) dh = at::addmm(dY.select(0, t - 1), dhh_t, w_hh);
      else dh = at::mm(dhh_t, w_hh);
    }
  });
  auto Hprev = at::cat({h0.unsqueeze(0), Y.narrow(0, 0, T - 1)});
  auto dW = DHH.view({T * B, G}).t().mm(Hprev.reshape({T * B, H}));
  return {DZ, dW, dg_hh, dg_c, db_c, dh, dc};
}
"""

_CPP: dict = {}


def load_cpp():
    """Build (or load the cached build of) the fused kernels; returns (module, seconds)."""
    if "mod" not in _CPP:
        from torch.utils.cpp_extension import load_inline
        t0 = time.perf_counter()
        _CPP["mod"] = load_inline(
            name="seqforge_bench_lnlstm_fused", cpp_sources=CPP_SRC, functions=["fwd", "bwd"],
            extra_cflags=["-O3", "-march=native", "-ffast-math"], extra_ldflags=["-lmvec"])
        _CPP["secs"] = time.perf_counter() - t0
    return _CPP["mod"], _CPP["secs"]


class _FusedRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xin, w_hh, g_hh, g_c, b_c, h0, c0, eps):
        mod = load_cpp()[0]
        Y, HH, A, CR, TC, ST = _lnlstm_bptt.call_with_threads(
            1, xin.device, mod.fwd, xin, w_hh, g_hh, g_c, b_c, h0, c0, eps)
        ctx.save_for_backward(w_hh, g_hh, g_c, h0, c0, HH, A, CR, TC, Y, ST)
        return Y, Y[-1].clone(), CR[-1].clone()

    @staticmethod
    def backward(ctx, dY, dhT, dcT):
        grads = _lnlstm_bptt.call_with_threads(1, dY.device, load_cpp()[0].bwd, dY,
                                               dhT.contiguous(), dcT.contiguous(),
                                               *ctx.saved_tensors)
        return (*grads, None)


class FusedCppLN(LayerNormLSTMCell):
    """Hoisted input half + the BPTT Function with fused C++ step kernels."""

    def forward_sequence(self, x, state, lengths=None):
        assert lengths is None
        y, h, c = _FusedRecurrence.apply(
            self.input_gates(x), self.weight_hh, self.ln_hh_weight, self.ln_c_weight,
            self.ln_c_bias, state[0], state[1], self.eps)
        return y.transpose(0, 1), (h, c)


