"""Building networks from units: two-layer stacks, a name registry, seeded construction and
stacking S seeded copies into one module whose parameters carry a leading seed axis."""

from __future__ import annotations

import copy
from functools import partial
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from .units import (INALU, MLP, NAC, NALU, NAU, NMU, NPU, ArithmeticUnit, GatedNAUNMU, NACMul, Linear, NaiveNPU,
                    RealNPU, SignedNALU, VanillaNet)

__all__ = [
    "Stack",
    "UNITS",
    "make_unit",
    "two_layer",
    "build",
    "stack_models",
    "concat_stacked",
    "unstack_model",
    "regularizer",
    "clamp_weights_",
]

UNITS: dict[str, Callable[[int, int], nn.Module]] = {
    "linear": partial(Linear, bias=False),
    "nac": NAC,
    "nalu": NALU,
    "nalu_separate": partial(NALU, shared=False),
    "nalu_linear_gate": partial(NALU, shared=False, gate="linear"),  # the PyTorch blog post's code: g = G x
    "signed_nalu": SignedNALU,
    "signed_nalu_decoupled": partial(SignedNALU, decoupled_sign=True),
    "inalu": INALU,
    "nau": NAU,
    "nmu": NMU,
    "nau_unclipped": partial(NAU, bounds="forward"),  # W never clipped, min(max(W, −1), 1) in the forward pass
    "nmu_unclipped": partial(NMU, bounds="forward"),  # W never clipped, min(max(W, 0), 1) in the forward pass
    "gated_nau_nmu": GatedNAUNMU,  # Madsen & Johansen's gating experiment: σ(Gx) NAU(x) + σ(−Gx) NMU(x)
    "nac_mul": NACMul,  # NAC•: the NALU's multiplicative path alone
    "nac_mul_sigma": partial(NACMul, weight="sigmoid"),  # NAC•,σ
    "nac_mul_nmu": partial(NACMul, weight="clamped"),  # NAC•,NMU
    "realnpu": RealNPU,
    "npu": NPU,  # the NPU with its complex path (imaginary weights)
    "naive_npu": NaiveNPU,  # the NPU without the relevance gate
    "vanilla": VanillaNet,
    "mlp": MLP,
}


def make_unit(name: str, in_dim: int, out_dim: int, **kwargs) -> nn.Module:
    """A unit by its registry name (see ``UNITS``)."""
    if name not in UNITS:
        raise ValueError(f"unknown unit {name!r}; choose from {sorted(UNITS)}")
    return UNITS[name](in_dim, out_dim, **kwargs)


class Stack(nn.Sequential):
    """Units applied one after another, e.g. NALU 100→2→1 or NAU 100→2 then NMU 2→1."""

    def regularizer(self) -> Tensor | None:
        return regularizer(self)


def two_layer(first: str, second: str | None, in_dim: int, hidden: int, out_dim: int) -> Stack:
    """The papers' two-layer network: ``first`` in_dim→hidden, then ``second`` hidden→out_dim."""
    return Stack(make_unit(first, in_dim, hidden), make_unit(second or first, hidden, out_dim))


def build(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """The model ``factory()`` returns when torch's default generator is seeded with ``seed``.

    The global RNG state is restored afterwards, so building models never disturbs other code.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def stack_models(models: Sequence[nn.Module]) -> nn.Module:
    """One module of the same structure whose every parameter is ``torch.stack`` of the models'.

    Units broadcast over leading axes, so the result maps (S, batch, in) to (S, batch, out),
    model s acting on slice s.
    """
    if len(models) == 0:
        raise ValueError("stack_models needs at least one model, got 0")
    return _with_parameters(models[0], lambda name: torch.stack([m.get_parameter(name).detach() for m in models]))


def _with_parameters(template: nn.Module, tensor_for: Callable[[str], Tensor]) -> nn.Module:
    """A copy of ``template`` whose every parameter ``name`` is a new Parameter holding ``tensor_for(name)``."""
    module = copy.deepcopy(template)
    for name, _ in template.named_parameters():
        owner_name, _, leaf = name.rpartition(".")
        setattr(module.get_submodule(owner_name), leaf, nn.Parameter(tensor_for(name).clone()))
    return module


def concat_stacked(stacks: Sequence[nn.Module]) -> nn.Module:
    """One stacked module holding the models of every stack in order: each parameter is
    ``torch.cat`` of the stacks' along the seed axis (axis 0). Buffers must be equal in all stacks."""
    if len(stacks) == 0:
        raise ValueError("concat_stacked needs at least one stacked model, got 0")
    names = [n for n, _ in stacks[0].named_parameters()]
    for k, m in enumerate(stacks[1:], 1):
        if [n for n, _ in m.named_parameters()] != names:
            raise ValueError(f"stack {k} has other parameters than stack 0: pass stacks of one architecture")
        for (n, b), (_, b0) in zip(m.named_buffers(), stacks[0].named_buffers()):
            if not torch.equal(b, b0):
                raise ValueError(f"buffer {n!r} differs between stack 0 and stack {k}: they cannot be concatenated")
    return _with_parameters(stacks[0], lambda name: torch.cat([m.get_parameter(name).detach() for m in stacks]))


def unstack_model(stacked: nn.Module, index: int) -> nn.Module:
    """Model ``index`` of a stacked module, as an ordinary single model (a copy)."""
    return _with_parameters(stacked, lambda name: stacked.get_parameter(name).detach()[index])


def regularizer(model: nn.Module) -> Tensor | None:
    """Sum of the units' regularisers (one value per stacked model), or None if none has one."""
    terms = [m.regularizer() for m in model.modules() if isinstance(m, ArithmeticUnit)]
    terms = [t for t in terms if t is not None]
    return sum(terms) if terms else None


@torch.no_grad()
def clamp_weights_(model: nn.Module) -> None:
    """Apply every unit's weight clamp (NAU, NMU, RealNPU, NPU)."""
    for m in model.modules():
        if isinstance(m, ArithmeticUnit):
            m.clamp_weights_()
