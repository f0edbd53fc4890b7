"""The speed layer: the units' equations with faster kernels, and fast float32 draws.

``accelerate(model)`` returns a twin of ``model`` that computes the same function (up to float
rounding) with the kernels below, sharing the model's Parameter objects, so training the twin
trains the model and ``state_dict`` keys are unchanged. The trainer uses it by default
(``train(fast=True)``); ``fast=False`` trains the plain units of ``nalu.units``. Public PyTorch only.
``tests/test_fast.py`` runs every unit and option forward and backward both ways and compares.

What is faster, and why (``make bench`` measures each):

- ``matvec(W, x)``: y = W x written (W xᵀ)ᵀ rather than x Wᵀ. With stacked seeds the backward
  pass of this form is about three times faster on CPUs (MKL's batched product for xᵀ g is slow).
- ``matvecs(x, W, G)``: W x and G x in one product with the stacked [W; G], so a large x is read
  once, not once per weight (forward and backward); the NALU's additive path and gate use it.
- ``log_abs(x, eps)``: log(|x| + ε) in one buffer: |x| into a new tensor, then + ε and the log in
  place, where the plain torch.log(x.abs() + eps) makes a new tensor for each of the three (the
  largest elementwise cost of a NALU's first layer). The same kernels, so the same numbers bit for
  bit; it saves two allocations of the input's size, and whether that makes it faster depends on
  the allocator (the experiments' worker processes tune it; the speed appendix times both).
- ``sign_factor_fast(x, W)``: iNALU's sign factor ∏_i (sign(x_i)|W_ij| + 1 − |W_ij|) is 1 when no input is
  negative or zero (the static task's inputs), so it skips the (seeds, batch, out, in) tensor of factors.
- the NMU's factors W_ij x_i + 1 − W_ij as 1 + W_ij (x_i − 1), one fused multiply-add over the
  (seeds, batch, out, in) tensor of factors instead of a product, a sum and a difference.
- ``uniform_float32(rng, shape)``: numpy's own float32 uniform draws, bit for bit, made from the
  generator's raw 64-bit output in bulk.

A unit gets a fast forward only if its exact class is registered in ``FAST_FORWARDS``: a subclass
that changes the maths runs its own plain forward rather than its parent's fast one.
"""

from __future__ import annotations

import copy
import types
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from .units import INALU, NAC, NALU, NAU, NMU, Linear, RealNPU, SignedNALU, sign_factor

__all__ = ["accelerate", "is_accelerated", "FAST_FORWARDS", "matvec", "matvecs", "log_abs", "sign_factor_fast",
           "uniform_float32"]


# --- kernels ------------------------------------------------------------------------------------

def matvec(W: Tensor, x: Tensor) -> Tensor:
    """y = W x for every row x of a batch, (..., n, in) → (..., n, out), as (W xᵀ)ᵀ."""
    return (W @ x.mT).mT


def matvecs(x: Tensor, *weights: Tensor) -> tuple[Tensor, ...]:
    """(W₁ x, W₂ x, …) for weights of one input size, from one product with the stacked weights."""
    stacked = torch.cat(weights, dim=-2)
    return matvec(stacked, x).split([w.shape[-2] for w in weights], dim=-1)


class _LogAbs(torch.autograd.Function):
    """log(|x| + ε), with d/dx = sign(x) / (|x| + ε); one buffer for |x|, + ε and the log."""

    @staticmethod
    def forward(ctx, x: Tensor, eps: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.eps = eps
        return x.abs().add_(eps).log_()

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * torch.sign(x) / (x.abs() + ctx.eps), None


def log_abs(x: Tensor, eps: float) -> Tensor:
    """log(|x| + ε): the log-space input of the NALU family, in one buffer (equal to the plain form)."""
    return _LogAbs.apply(x, eps)


def sign_factor_fast(x: Tensor, w: Tensor) -> Tensor:
    """``units.sign_factor`` without the (..., batch, out, in) tensor of factors when every input is
    positive: then each factor sign(x_i) |W_ij| + 1 − |W_ij| is 1 (up to rounding), so s = 1 and
    ∂s/∂W = 0. Returned as 1 + 0·Σ_i W_ij, shape (..., 1, out), so W stays in the graph with the zero
    gradient the plain form gives it (Adam then treats W exactly as in the plain run)."""
    # every input positive <=> the smallest is (one reduction; no (x > 0) mask of the input's size)
    if x.device.type != "cpu" or x.numel() == 0 or not bool(x.amin() > 0):
        return sign_factor(x, w)
    return (0 * w).sum(dim=-1).unsqueeze(-2) + 1


def uniform_float32(rng: np.random.Generator, shape: tuple[int, ...], out: np.ndarray | None = None) -> np.ndarray:
    """U[0, 1) in float32, exactly the numbers ``rng.random(shape, dtype=np.float32)`` gives, faster.

    numpy makes each float from a 32-bit draw d as (d >> 8) · 2⁻²⁴, taking the two halves of every
    64-bit output low half first. For an even count with no half-used output pending, the same
    halves come from ``random_raw`` in bulk, and the conversion runs as two whole-array passes.
    Otherwise (odd count, another bit generator, a pending half) this is ``rng.random``.
    """
    out = np.empty(shape, np.float32) if out is None else out
    bitgen = getattr(rng, "bit_generator", None)
    if out.size % 2 or not isinstance(bitgen, (np.random.SFC64, np.random.PCG64, np.random.PCG64DXSM)) \
            or bitgen.state["has_uint32"]:
        if not out.flags.c_contiguous:  # numpy's own draw needs a contiguous output
            out[...] = rng.random(out.shape, dtype=np.float32)
            return out
        return rng.random(dtype=np.float32, out=out)
    d = bitgen.random_raw(out.size // 2).view(np.uint32).reshape(out.shape)
    np.right_shift(d, 8, out=d)
    return np.multiply(d, np.float32(2.0**-24), out=out, dtype=np.float32, casting="unsafe")


# --- the units' equations with these kernels (each mirrors the unit's plain forward) ----------

def _linear(unit: Linear, x: Tensor) -> Tensor:
    y = matvec(unit.W, x)
    return y if unit.b is None else y + unit.b.unsqueeze(-2)


def _weight_only(unit: NAC, x: Tensor) -> Tensor:
    return matvec(unit.W, x)


def _nau(unit: NAU, x: Tensor) -> Tensor:
    return matvec(unit.weight(), x)


def _nalu(unit: NALU, x: Tensor) -> Tensor:
    W = unit.nac.W
    a, logit = matvecs(x, W, unit.G)  # W x and G x, in one pass over x
    m = torch.exp(matvec(W if unit.shared else unit.nac_log.W, log_abs(x, unit.eps)))
    if unit.gate_kind == "linear":
        return logit * a + (1 - logit) * m
    return torch.sigmoid(logit) * a + torch.sigmoid(-logit) * m


def _signed_nalu(unit: SignedNALU, x: Tensor) -> Tensor:
    if unit.gate_kind == "input":
        a, logit = matvecs(x, unit.nac.W, unit.G)
    else:
        a, logit = matvec(unit.nac.W, x), unit.g_hat.unsqueeze(-2)
    m = torch.exp(matvec(unit.log_path_weight(), log_abs(x, unit.eps))) * sign_factor_fast(x, unit.sign_weight())
    return torch.sigmoid(logit) * a + torch.sigmoid(-logit) * m


def _inalu(unit: INALU, x: Tensor) -> Tensor:
    w_m = unit.nac_mul.W
    log_m = matvec(w_m, torch.log(x.abs().clamp_min(unit.eps)))
    m = torch.exp(log_m.clamp_max(unit.omega)) * sign_factor_fast(x, w_m)
    g_hat = unit.g_hat.unsqueeze(-2)
    return torch.sigmoid(g_hat) * matvec(unit.nac_add.W, x) + torch.sigmoid(-g_hat) * m


_ONE = torch.ones(())


def _nmu(unit: NMU, x: Tensor) -> Tensor:
    # each factor W_ij x_i + 1 − W_ij written 1 + W_ij (x_i − 1): one pass over the (batch, out, in)
    # tensor of factors instead of three (the subtraction is on x, which has no out axis)
    return torch.addcmul(_ONE, unit.weight().unsqueeze(-3), (x - 1).unsqueeze(-2)).prod(dim=-1)


def _real_npu(unit: RealNPU, x: Tensor) -> Tensor:
    g = unit.g_hat.unsqueeze(-2)
    r = g * x.abs() + 1 - g
    k = g * (x < 0).to(x.dtype)
    return torch.exp(matvec(unit.W, torch.log(r + unit.eps))) * torch.cos(torch.pi * matvec(unit.W, k))


FAST_FORWARDS: dict[type, Callable[[nn.Module, Tensor], Tensor]] = {
    Linear: _linear,
    NAC: _weight_only,
    NAU: _nau,
    NMU: _nmu,
    NALU: _nalu,
    SignedNALU: _signed_nalu,
    INALU: _inalu,
    RealNPU: _real_npu,
}
"""Exact unit class → its fast forward ``f(unit, x)``. Units not listed (MLP, VanillaNet, ...) run plain;
their submodules (an MLP's Linear layers) are still accelerated."""


def accelerate(model: nn.Module) -> nn.Module:
    """A twin of ``model`` that runs every registered unit's fast forward.

    The twin is a copy of the module tree that holds the original's Parameter and buffer objects
    themselves (``copy.deepcopy`` told to map each of them to itself), so an optimiser over
    ``model.parameters()`` trains both, and the ``state_dict`` keys are the same.
    Works on single and seed-stacked models and on any nesting (Stack, MLP, recurrent models).
    Apply it after moving the model to its device.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"accelerate needs an nn.Module, got {type(model).__name__}")
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    twin = copy.deepcopy(model, memo=shared)  # new modules around the same Parameter and buffer objects
    for module in twin.modules():
        fast = FAST_FORWARDS.get(type(module))
        if fast is not None:
            module.forward = types.MethodType(fast, module)
    twin.accelerated_twin = True
    return twin


def is_accelerated(model: nn.Module) -> bool:
    """Whether ``model`` is a twin made by ``accelerate``."""
    return bool(getattr(model, "accelerated_twin", False))
