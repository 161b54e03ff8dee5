"""Hand-written BPTT for the recurrent half of the layer-normalised LSTM.

The input half ``xin_t = LN(W_ih x_t; γ_ih) + b_ih + b_hh`` is computed for all steps
before the loop (ordinary autograd). This module runs, for t = 0..T-1::

    hh_t = h_{t-1} W_hhᵀ                      (B, 4H)   one mm
    z_t  = LN(hh_t; γ_hh) + xin_t              (B, 4H)
    a_t  = [σ(z_i), σ(z_f), tanh(z_g), σ(z_o)]
    c_t  = f ⊙ c_{t-1} + i ⊙ g
    h_t  = o ⊙ tanh(LN(c_t; γ_c, β_c))

with optional padding: where ``mask[t]`` is False the state is carried unchanged and the
output is zero (exactly :func:`seqforge.cells.base.step_loop`).

Forward keeps no autograd graph, only what backward needs: ``hh_t`` with its LayerNorm
mean/rstd, the activations ``a_t``, ``c_t`` with its LayerNorm mean/rstd and ``tanh(ĉ_t)``.
Backward first computes, in bulk over (T, B, ·), every elementwise factor that does not
depend on the incoming gradient (one kernel each instead of T), so the reverse loop runs
~9 small kernels per step (two of them ATen's fused ``native_layer_norm_backward``); the
parameter gradients are reduced over all steps at the end — dW_hh is one
(4H, T·B)×(T·B, H) matmul, the LayerNorm gains/shift one ATen LayerNorm-backward reduction
over all T·B rows. The bulk work is done in place in as few (T, B, ·) buffers as possible:
on this class of machine a fresh megabyte-sized temporary costs more in page faults than
the arithmetic done in it.

At the stock sizes (B=32, H=50) per-kernel dispatch dominates, so the two loops are
compiled with TorchScript when it is available (about 2× less overhead per op than the
Python interpreter, no C++ toolchain, milliseconds to compile); the very same functions
run as plain Python otherwise (``SEQFORGE_EXTRAS_JIT=0``, or a torch without
TorchScript). All per-step views are made up front with ``unbind``.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import List, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

#: what backward needs besides the outputs and the carried-state sequences:
#: (W_hh, γ_hh, γ_c, β_c, h0, c0, HH, A, CR, TC, mean_hh, rstd_hh, mean_c, rstd_c)
Saved = Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
              Tensor, Tensor, Tensor, Tensor, Tensor]


def forward_loop(xin: Tensor, w_hh: Tensor, g_hh: Tensor, g_c: Tensor, b_c: Tensor,
                 h0: Tensor, c0: Tensor, mask: Optional[Tensor], eps: float
                 ) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor], Optional[Tensor], Saved]:
    """Run the recurrence: ``(Y (T,B,H), hT, cT, HS, CS, saved)``. ``HS``/``CS``
    (T+1, B, H) are the carried states, kept only with a mask (else they are Y and CR);
    they and ``saved`` feed :func:`backward_loop`."""
    T, B, G = xin.shape[0], xin.shape[1], xin.shape[2]
    H = G // 4
    w_t = w_hh.t()
    HH = torch.empty_like(xin)  # h_{t-1} W_hhᵀ (raw, the LN input)
    A = torch.empty_like(xin)  # activations i, f, g, o
    CR = xin.new_empty([T, B, H])  # c_t as computed at step t (the LN_c input)
    TC = xin.new_empty([T, B, H])  # tanh(LN(c_t))
    Y = xin.new_empty([T, B, H])
    xin_l, HH_l, A_l = xin.unbind(0), HH.unbind(0), A.unbind(0)
    Ai_l, Af_l = A.narrow(2, 0, H).unbind(0), A.narrow(2, H, H).unbind(0)
    Ag_l, Ao_l = A.narrow(2, 2 * H, H).unbind(0), A.narrow(2, 3 * H, H).unbind(0)
    CR_l, TC_l, Y_l = CR.unbind(0), TC.unbind(0), Y.unbind(0)
    m_hh: List[Tensor] = []
    r_hh: List[Tensor] = []
    m_c: List[Tensor] = []
    r_c: List[Tensor] = []
    Gs, Hs = [G], [H]
    h, c = h0, c0
    HS: Optional[Tensor] = None
    CS: Optional[Tensor] = None
    if mask is None:
        for t in range(T):
            hh = torch.mm(h, w_t, out=HH_l[t])
            zn, m, r = torch.native_layer_norm(hh, Gs, g_hh, None, eps)
            m_hh.append(m)
            r_hh.append(r)
            zn = zn.add_(xin_l[t])  # pre-activations
            torch.sigmoid(zn, out=A_l[t])
            torch.tanh(zn.narrow(1, 2 * H, H), out=Ag_l[t])
            c = torch.addcmul(torch.mul(Af_l[t], c), Ai_l[t], Ag_l[t], out=CR_l[t])
            cn, m, r = torch.native_layer_norm(c, Hs, g_c, b_c, eps)
            m_c.append(m)
            r_c.append(r)
            h = torch.mul(Ao_l[t], torch.tanh(cn, out=TC_l[t]), out=Y_l[t])
        hT, cT = h.clone(), c.clone()
    else:
        HS_ = xin.new_empty([T + 1, B, H])  # carried states (differ from Y/CR past a length)
        CS_ = xin.new_empty([T + 1, B, H])
        HS_[0] = h0
        CS_[0] = c0
        HS_l, CS_l = HS_.unbind(0), CS_.unbind(0)
        M_l = mask.unbind(0)
        Mf_l = mask.to(xin.dtype).unbind(0)
        for t in range(T):
            hh = torch.mm(h, w_t, out=HH_l[t])
            zn, m, r = torch.native_layer_norm(hh, Gs, g_hh, None, eps)
            m_hh.append(m)
            r_hh.append(r)
            zn = zn.add_(xin_l[t])  # pre-activations
            torch.sigmoid(zn, out=A_l[t])
            torch.tanh(zn.narrow(1, 2 * H, H), out=Ag_l[t])
            cr = torch.addcmul(torch.mul(Af_l[t], c), Ai_l[t], Ag_l[t], out=CR_l[t])
            cn, m, r = torch.native_layer_norm(cr, Hs, g_c, b_c, eps)
            m_c.append(m)
            r_c.append(r)
            hn = torch.mul(Ao_l[t], torch.tanh(cn, out=TC_l[t]))
            torch.mul(hn, Mf_l[t], out=Y_l[t])
            h = torch.where(M_l[t], hn, h, out=HS_l[t + 1])
            c = torch.where(M_l[t], cr, c, out=CS_l[t + 1])
        hT, cT = HS_[T].clone(), CS_[T].clone()
        HS, CS = HS_, CS_
    saved: Saved = (w_hh, g_hh, g_c, b_c, h0, c0, HH, A, CR, TC,
                    torch.stack(m_hh), torch.stack(r_hh), torch.stack(m_c), torch.stack(r_c))
    return Y, hT, cT, HS, CS, saved


def backward_loop(dY: Tensor, dhT: Tensor, dcT: Tensor, Y: Tensor, HS: Optional[Tensor],
                  CS: Optional[Tensor], mask: Optional[Tensor], saved: Saved
                  ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Gradients of (Y, hT, cT) w.r.t. (xin, W_hh, γ_hh, γ_c, β_c, h0, c0)."""
    (w_hh, g_hh, g_c, b_c, h0, c0, HH, A, CR, TC, M_hh, R_hh, M_c, R_c) = saved
    T, B, G = HH.shape[0], HH.shape[1], HH.shape[2]
    H = G // 4
    # Bulk factors, so that the loop only multiplies by the incoming gradient:
    #   dz = [dc⊙g⊙σ'_i, dc⊙c_{t-1}⊙σ'_f, dc⊙i⊙tanh'_g, dh⊙tanh(ĉ)⊙σ'_o],  dĉ = dh⊙o⊙tanh'(ĉ)
    # built in place in their buffers: fresh (T,B,·) temporaries cost page faults here.
    A4 = A.view([T, B, 4, H])
    Ai, Af, Ag, Ao = A4.select(2, 0), A4.select(2, 1), A4.select(2, 2), A4.select(2, 3)
    Q3 = torch.empty([T, B, 3, H], dtype=A.dtype, device=A.device)
    Qif = Q3.narrow(2, 0, 2)
    Q3.select(2, 0).copy_(Ag)
    if HS is None or CS is None:  # c_{t-1}
        Q3.select(2, 1)[0].copy_(c0)
        Q3.select(2, 1).narrow(0, 1, T - 1).copy_(CR.narrow(0, 0, T - 1))
    else:
        Q3.select(2, 1).copy_(CS.narrow(0, 0, T))
    S = A4.narrow(2, 0, 2)  # σ(i), σ(f)
    Qif.mul_(S)
    Qif.addcmul_(Qif, S, value=-1.0)  # X⊙s - X⊙s⊙s = X⊙s⊙(1-s)
    Qg = torch.mul(Ag, Ag, out=Q3.select(2, 2))
    Qg.sub_(1.0).mul_(Ai).neg_()  # i⊙(1-g²)
    Qo = torch.mul(TC, Ao)
    Qo.addcmul_(Qo, Ao, value=-1.0)  # dz_o = dh ⊙ tanh(ĉ)⊙o⊙(1-o)
    OD = torch.mul(Ao, TC)
    OD.mul_(TC).neg_().add_(Ao)  # dĉ = dh ⊙ o⊙(1-tanh²)
    DZ = torch.empty_like(A)
    DCN = torch.empty_like(CR)
    DZ_l, DZo_l = DZ.unbind(0), DZ.narrow(2, 3 * H, H).unbind(0)
    DZ3_l = DZ.narrow(2, 0, 3 * H).view([T, B, 3, H]).unbind(0)
    DCN_l, dY_l, Q3_l, Qo_l, OD_l = DCN.unbind(0), dY.unbind(0), Q3.unbind(0), \
        Qo.unbind(0), OD.unbind(0)
    Af_l, CR_l, HH_l = Af.unbind(0), CR.unbind(0), HH.unbind(0)
    Mh_l, Rh_l, Mc_l, Rc_l = M_hh.unbind(0), R_hh.unbind(0), M_c.unbind(0), R_c.unbind(0)
    Gs, Hs = [G], [H]
    only_input = [True, False, False]
    DHH: List[Tensor] = []
    dc = dcT
    if mask is None:
        # dh holds dL/dh_t in full: the output's gradient plus the one through h_{t+1};
        # the recurrent mm of step t+1 adds dY[t] in the same kernel (addmm).
        dh = torch.add(dY_l[T - 1], dhT)
        for t in range(T - 1, -1, -1):
            torch.mul(dh, Qo_l[t], out=DZo_l[t])
            dcn = torch.mul(dh, OD_l[t], out=DCN_l[t])
            dct = torch.ops.aten.native_layer_norm_backward(
                dcn, CR_l[t], Hs, Mc_l[t], Rc_l[t], g_c, b_c, only_input)[0]
            assert dct is not None
            dct = dct.add_(dc)
            torch.mul(Q3_l[t], dct.unsqueeze(1), out=DZ3_l[t])
            dc = torch.mul(dct, Af_l[t])
            dhh = torch.ops.aten.native_layer_norm_backward(
                DZ_l[t], HH_l[t], Gs, Mh_l[t], Rh_l[t], g_hh, None, only_input)[0]
            assert dhh is not None
            DHH.append(dhh)
            dh = torch.addmm(dY_l[t - 1], dhh, w_hh) if t > 0 else torch.mm(dhh, w_hh)
    else:
        Mf = mask.to(dY.dtype)
        Mf_l, Nf_l = Mf.unbind(0), (1 - Mf).unbind(0)
        dh = dhT
        for t in range(T - 1, -1, -1):
            v, nv = Mf_l[t], Nf_l[t]
            dhn = torch.add(dY_l[t], dh).mul_(v)  # past the length: y_t = 0, h_t = h_{t-1}
            torch.mul(dhn, Qo_l[t], out=DZo_l[t])
            dcn = torch.mul(dhn, OD_l[t], out=DCN_l[t])
            dct = torch.ops.aten.native_layer_norm_backward(
                dcn, CR_l[t], Hs, Mc_l[t], Rc_l[t], g_c, b_c, only_input)[0]
            assert dct is not None
            dct = dct.addcmul_(dc, v)
            torch.mul(Q3_l[t], dct.unsqueeze(1), out=DZ3_l[t])
            dc = torch.addcmul(torch.mul(dc, nv), dct, Af_l[t])
            dhh = torch.ops.aten.native_layer_norm_backward(
                DZ_l[t], HH_l[t], Gs, Mh_l[t], Rh_l[t], g_hh, None, only_input)[0]
            assert dhh is not None
            DHH.append(dhh)
            dh = torch.addmm(torch.mul(dh, nv), dhh, w_hh)
    # parameter gradients, reduced over all steps at once:
    # dW_hh = Σ_t dhh_tᵀ h_{t-1} (h_{t-1} = h0, then Y / the carried states)
    DHH.reverse()
    dhh_all = torch.stack(DHH)
    if HS is None:
        dw_hh = torch.addmm(dhh_all[0].t().mm(h0), dhh_all.narrow(0, 1, T - 1).view(
            [(T - 1) * B, G]).t(), Y.narrow(0, 0, T - 1).reshape([(T - 1) * B, H]))
    else:
        dw_hh = dhh_all.view([T * B, G]).t().mm(HS.narrow(0, 0, T).reshape([T * B, H]))
    # LayerNorm gains/shifts: ATen's own reduction over the (T·B) rows, no temporaries
    dg_hh = torch.ops.aten.native_layer_norm_backward(
        DZ, HH, Gs, M_hh, R_hh, g_hh, None, [False, True, False])[1]
    _, dg_c, db_c = torch.ops.aten.native_layer_norm_backward(
        DCN, CR, Hs, M_c, R_c, g_c, b_c, [False, True, True])
    assert dg_hh is not None and dg_c is not None and db_c is not None
    return DZ, dw_hh, dg_hh, dg_c, db_c, dh, dc


# -- TorchScript, when available --------------------------------------------------------
_lock = threading.Lock()
_kernels: dict[str, object] = {}


def _jit_wanted() -> bool:
    return os.environ.get("SEQFORGE_EXTRAS_JIT", "1").strip() not in ("0", "false", "no")


def kernels(jit: Optional[bool] = None):
    """``(forward_loop, backward_loop)``: TorchScript-compiled when ``jit`` (default: the
    ``SEQFORGE_EXTRAS_JIT`` environment variable, on) and TorchScript works, else the
    Python functions above. Compiled once per process (tens of milliseconds)."""
    if not (_jit_wanted() if jit is None else jit):
        return forward_loop, backward_loop
    with _lock:
        if "fwd" not in _kernels:
            try:
                with warnings.catch_warnings():  # TorchScript is deprecated upstream
                    warnings.simplefilter("ignore")
                    fwd = torch.jit.script(forward_loop)
                    bwd = torch.jit.script(backward_loop)
                _kernels["fwd"], _kernels["bwd"] = fwd, bwd
            except Exception:  # no TorchScript in this torch: plain Python, same maths
                _kernels["fwd"], _kernels["bwd"] = forward_loop, backward_loop
        return _kernels["fwd"], _kernels["bwd"]


def call_with_threads(threads: int, device: torch.device, fn, *args):
    """``fn(*args)`` with torch's intra-op threads capped at ``threads`` (0: as set) on CPU.

    The recurrence is a chain of ~10 kernels per step on (B, 4H)-sized tensors; OpenMP
    (LayerNorm parallelises over rows) and MKL (it threads even a 32×50×200 GEMM) pay a
    fork/join per kernel that costs more than the kernel, and far more when the cores are
    shared. ``torch.set_num_threads`` sets the calling thread's OpenMP/MKL thread count,
    so the cap is scoped to this call on this thread and restored afterwards.
    """
    if threads <= 0 or device.type != "cpu":
        return fn(*args)
    before = torch.get_num_threads()
    if before <= threads:
        return fn(*args)
    torch.set_num_threads(threads)
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(before)


def _forward(fwd, z: Tensor, g_ih: Tensor, b: Tensor, w_hh: Tensor, g_hh: Tensor,
             g_c: Tensor, b_c: Tensor, h0: Tensor, c0: Tensor, mask: Optional[Tensor],
             eps: float):
    xin, m_ih, r_ih = torch.native_layer_norm(z, [z.shape[-1]], g_ih, b, eps)
    return (*fwd(xin, w_hh, g_hh, g_c, b_c, h0, c0, mask, eps), m_ih, r_ih)


def _backward(bwd, dY: Tensor, dhT: Tensor, dcT: Tensor, Y: Tensor, HS, CS, mask, saved,
              z: Tensor, m_ih: Tensor, r_ih: Tensor, g_ih: Tensor, b: Tensor):
    dxin, dw_hh, dg_hh, dg_c, db_c, dh0, dc0 = bwd(
        dY.contiguous(), dhT.contiguous(), dcT.contiguous(), Y, HS, CS, mask, saved)
    dz, dg_ih, db = torch.ops.aten.native_layer_norm_backward(
        dxin, z, [z.shape[-1]], m_ih, r_ih, g_ih, b, [True, True, True])
    return dz, dg_ih, db, dw_hh, dg_hh, dg_c, db_c, dh0, dc0


class LNLSTMRecurrence(torch.autograd.Function):
    """Everything of the sequence path but the input matmul, in one node.

    ``(z = x W_ihᵀ (T,B,4H), γ_ih, b = b_ih + b_hh, W_hh, γ_hh, γ_c, β_c, h0, c0,
    mask (T,B,1) bool | None, eps, jit | None, loop_threads) -> (Y (T,B,H), hT, cT)``.
    Forward: ``xin = LN(z; γ_ih, b)``, then :func:`forward_loop`; backward: the hand-written
    BPTT of :func:`backward_loop`, then the LayerNorm backward to ``dz``, ``dγ_ih``, ``db``
    (once differentiable). Both run with intra-op threads capped at ``loop_threads``
    (0: as set; see :func:`call_with_threads`) — only the input matmul, outside this node,
    and its backward use every thread."""

    @staticmethod
    def forward(ctx, z, g_ih, b, w_hh, g_hh, g_c, b_c, h0, c0, mask, eps, jit=None,
                loop_threads=1):
        fwd, bwd = kernels(jit)
        Y, hT, cT, HS, CS, saved, m_ih, r_ih = call_with_threads(
            loop_threads, z.device, _forward, fwd, z, g_ih, b, w_hh, g_hh, g_c, b_c, h0, c0,
            mask, float(eps))
        ctx.save_for_backward(Y, HS, CS, z, m_ih, r_ih, g_ih, b, *saved)
        ctx.mask, ctx.bwd, ctx.loop_threads = mask, bwd, loop_threads
        return Y, hT, cT

    @staticmethod
    @once_differentiable
    def backward(ctx, dY, dhT, dcT):
        Y, HS, CS, z, m_ih, r_ih, g_ih, b, *saved = ctx.saved_tensors
        grads = call_with_threads(ctx.loop_threads, Y.device, _backward, ctx.bwd, dY, dhT,
                                  dcT, Y, HS, CS, ctx.mask, tuple(saved), z, m_ih, r_ih,
                                  g_ih, b)
        return (*grads, None, None, None, None)
