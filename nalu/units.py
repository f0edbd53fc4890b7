"""Arithmetic units: NAC, NALU and their successors, plus the baselines they are compared with.

Each unit's ``forward`` is its paper's equation, one line per equation, in plain torch: y = W x
is written ``x @ W.mT`` for a batch of row vectors x. The lines broadcast over leading axes, which
is how the trainer runs S seeds as one model: weights of shape ``(S, out, in)`` act on inputs
``(S, batch, in)`` or on one shared ``(batch, in)``. ``W.unsqueeze(-3)`` lines a weight up with
``x.unsqueeze(-2)`` for the products over the input index i.

Faster kernels for the same equations (a numpy log, fused products) live in ``nalu.fast`` and are
tested against these forwards; nothing here is tuned for speed.

Initialisations follow the papers' reference code: Xavier uniform U(−r, r), r = √(6/(in + out)),
for the NAC's Ŵ, M̂ and the gate G (stable-nalu's ``xavier_uniform_`` with the sigmoid gain 1);
NAU U(−r, r), r = min(0.5, √3 · √(2/(in + out))) = min(0.5, √(6/(in + out))); NMU U[0.25, 0.75]
(stable-nalu: 0.5 ± min(0.25, √3 · 0.5)).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "ArithmeticUnit",
    "Linear",
    "NAC",
    "NALU",
    "SignedNALU",
    "INALU",
    "NAU",
    "NMU",
    "GatedNAUNMU",
    "NACMul",
    "RealNPU",
    "NPU",
    "NaiveNPU",
    "complex_power",
    "MLP",
    "VanillaNet",
    "sign_factor",
    "NALU_GATES",
    "WEIGHT_BOUNDS",
    "SIGNED_NALU_GATES",
]

NALU_GATES = ("sigmoid", "linear")
WEIGHT_BOUNDS = ("clip", "forward", "none")
"""How the NAU and NMU keep W in its range: clip the parameter after each step, clamp it in the
forward pass only, or not at all."""
SIGNED_NALU_GATES = ("constant", "input")


def _check_dims(in_dim: int, out_dim: int) -> None:
    if not isinstance(in_dim, int) or in_dim < 1:
        raise ValueError(f"in_dim must be a positive integer, got {in_dim!r}")
    if not isinstance(out_dim, int) or out_dim < 1:
        raise ValueError(f"out_dim must be a positive integer, got {out_dim!r}")


def _check_eps(eps: float) -> None:
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")


def _check_choice(name: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


@torch.no_grad()
def uniform_(w: Tensor, lo: float, hi: float) -> Tensor:
    """Fill w with U[lo, hi) from torch's default generator, the same bits on every CPU.

    torch's own ``uniform_`` maps each 24-bit draw d to lo + (hi − lo) · d · 2⁻²⁴ in float64 with
    its vectorised kernels (AVX2, AVX-512) but in float32 with its generic one, so about half the
    values differ by an ulp between CPUs. Here the draws are the same (one ``randint`` below 2²⁴
    per value takes the generator's same 32-bit outputs) and the map is always the float64 one:
    the numbers of torch's vectorised kernels, bit for bit, on any CPU."""
    d = torch.randint(0, 2**24, w.shape, dtype=torch.int64)
    lo32, hi32 = (float(torch.tensor(v, dtype=torch.float32)) for v in (lo, hi))
    return w.copy_(d.double() * 2.0**-24 * (hi32 - lo32) + lo32)


def _xavier_uniform_(w: Tensor, in_dim: int, out_dim: int) -> Tensor:
    bound = math.sqrt(6.0 / (in_dim + out_dim))
    return uniform_(w, -bound, bound)


def _per_model_mean(t: Tensor) -> Tensor:
    """Mean over a weight's own two axes, keeping the stacked-seed axis if there is one."""
    return t.mean(dim=(-2, -1))


def sign_factor(x: Tensor, w: Tensor) -> Tensor:
    """s_j = ∏_i (sign(x_i) |W_ij| + 1 − |W_ij|)   (iNALU's sign correction, Schlör et al. 2020).

    With |W_ij| = 1 the factor contributes sign(x_i); with W_ij = 0 it contributes 1, so exact
    weights give the sign of the product (or quotient) of the selected inputs.
    """
    w_abs = torch.abs(w).unsqueeze(-3)  # (..., 1, out, in)
    return (torch.sign(x).unsqueeze(-2) * w_abs + 1 - w_abs).prod(dim=-1)


class ArithmeticUnit(nn.Module):
    """Base class. Subclasses may define ``regularizer()`` (one value per model) and
    ``clamp_weights_()`` (called by the trainer after each optimiser step)."""

    in_dim: int
    out_dim: int

    def __call__(self, x: Tensor, *args, **kwargs) -> Tensor:
        """``forward(x)`` for a batch x of shape (..., batch, in_dim), after checking that shape."""
        if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[-1] != self.in_dim:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}(in_dim={self.in_dim}) takes a batch of rows of width "
                             f"{self.in_dim}, a tensor of shape (batch, {self.in_dim}) or (seeds, batch, "
                             f"{self.in_dim}); got {got}" + (" (one row x: pass x.unsqueeze(0))"
                                                               if isinstance(x, Tensor) and x.dim() == 1 else ""))
        return super().__call__(x, *args, **kwargs)

    def regularizer(self) -> Tensor | None:
        return None

    def clamp_weights_(self) -> None:
        return None

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}"


class Linear(ArithmeticUnit):
    """y = W x + b  (optionally without bias). PyTorch's default initialisation."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__()
        _check_dims(in_dim, out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.W = nn.Parameter(torch.empty(out_dim, in_dim))
        self.b = nn.Parameter(torch.empty(out_dim)) if bias else None
        bound = 1 / math.sqrt(in_dim)
        # torch's default: kaiming_uniform_(W, a=√5), i.e. U(±√3 · gain / √in) with gain = √(2 / (1 + a²))
        w_bound = math.sqrt(3.0) * (math.sqrt(2.0 / (1 + math.sqrt(5) ** 2)) / math.sqrt(in_dim))
        uniform_(self.W, -w_bound, w_bound)
        if self.b is not None:
            uniform_(self.b, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """y = W x + b (x: (..., batch, in) → (..., batch, out))"""
        y = x @ self.W.mT
        return y if self.b is None else y + self.b.unsqueeze(-2)


class NAC(ArithmeticUnit):
    """Neural accumulator (Trask et al. 2018, eq. 1):  W = tanh(Ŵ) ⊙ σ(M̂),  y = W x  (no bias)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        _check_dims(in_dim, out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.W_hat = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))
        self.M_hat = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))

    @property
    def W(self) -> Tensor:
        return torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat)

    def forward(self, x: Tensor) -> Tensor:
        """y = W x with W = tanh(Ŵ) ⊙ σ(M̂)"""
        return x @ self.W.mT


class NALU(ArithmeticUnit):
    """Neural arithmetic logic unit (Trask et al. 2018, eqs. 2-5).

        a = W x                          (additive path, a NAC)
        m = exp(W_m log(|x| + ε))        (multiplicative path, a NAC in log space)
        g = σ(G x)                       (gate="sigmoid", the paper)
          | G x                          (gate="linear", the PyTorch blog post's code: no sigmoid)
        y = g ⊙ a + (1 − g) ⊙ m

    ``shared=True`` (the paper): W_m = W, one NAC for both paths; ``shared=False`` gives the log
    path its own NAC, as the PyTorch blog post does. For the sigmoid gate 1 − g is computed as
    σ(−G x), which keeps its precision where g saturates near 1.
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7, shared: bool = True, gate: str = "sigmoid"):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_eps(eps)
        _check_choice("gate", gate, NALU_GATES)
        self.in_dim, self.out_dim, self.eps, self.shared, self.gate_kind = in_dim, out_dim, eps, shared, gate
        self.nac = NAC(in_dim, out_dim)
        self.nac_log = None if shared else NAC(in_dim, out_dim)
        self.G = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))

    def log_path_weight(self) -> Tensor:
        """W_m: the additive NAC's W (shared) or the log path's own."""
        return self.nac.W if self.shared else self.nac_log.W

    def log_path(self, x: Tensor) -> Tensor:
        """m = exp(W_m log(|x| + ε)), the multiplicative path (in SignedNALU: its magnitude, before the sign s)."""
        return torch.exp(torch.log(torch.abs(x) + self.eps) @ self.log_path_weight().mT)

    def gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(g, 1 − g):  (σ(G x), σ(−G x)) for gate="sigmoid",  (G x, 1 − G x) for gate="linear"."""
        logit = x @ self.G.mT
        if self.gate_kind == "linear":
            return logit, 1 - logit
        return torch.sigmoid(logit), torch.sigmoid(-logit)

    def gate(self, x: Tensor) -> Tensor:
        """g, one value per input row and output."""
        return self.gates(x)[0]

    def forward(self, x: Tensor) -> Tensor:
        """y = g ⊙ a + (1 − g) ⊙ m,  a = W x,  m = exp(W log(|x| + ε)),  g = σ(G x) (G x for gate="linear")"""
        a = x @ self.nac.W.mT
        m = self.log_path(x)
        g, one_minus_g = self.gates(x)
        return g * a + one_minus_g * m

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}, shared={self.shared}, gate={self.gate_kind!r}"


class SignedNALU(NALU):
    """NALU whose multiplicative path keeps the sign of its inputs (the book, chapter 8).

        a = W_a x
        m = exp(W_m log(|x| + ε)) ⊙ s,   s_j = ∏_i (sign(x_i) S_ij + 1 − S_ij)
        S = |W_m|                        (decoupled_sign=False: iNALU's sign factor)
          | σ(Ŝ)                         (decoupled_sign=True: the sign factor's own weights, Ŝ = 0 at start)
        g = σ(ĝ)                         (gate="constant": one learned logit per output, independent of x)
          | σ(G x)                       (gate="input": the paper's gate)
        y = g ⊙ a + (1 − g) ⊙ m

    Separate weights by default, because a shared W must be exact in both paths at once; an
    input-independent gate by default, because with signed inputs σ(G x) flips with the sign of x
    and cannot settle on one path. Ŝ is created last and draws no random numbers, so for a given
    seed a decoupled unit starts from the same W_a, W_m and gate as the tied one.
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7, shared: bool = False, gate: str = "constant",
                 decoupled_sign: bool = False):
        _check_choice("gate", gate, SIGNED_NALU_GATES)
        super().__init__(in_dim, out_dim, eps=eps, shared=shared)
        self.gate_kind, self.decoupled_sign = gate, decoupled_sign
        if gate == "constant":
            del self.G
            self.G = None
            self.g_hat = nn.Parameter(torch.zeros(out_dim))
        self.S_hat = nn.Parameter(torch.zeros(out_dim, in_dim)) if decoupled_sign else None

    def gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(g, 1 − g):  (σ(ĝ), σ(−ĝ)) for gate="constant",  (σ(G x), σ(−G x)) for gate="input"."""
        logit = x @ self.G.mT if self.gate_kind == "input" else self.g_hat.unsqueeze(-2)
        return torch.sigmoid(logit), torch.sigmoid(-logit)

    def sign_weight(self) -> Tensor:
        """S: |W_m| (tied) or σ(Ŝ) (decoupled_sign)."""
        return torch.sigmoid(self.S_hat) if self.decoupled_sign else torch.abs(self.log_path_weight())

    def forward(self, x: Tensor) -> Tensor:
        """y = g ⊙ a + (1 − g) ⊙ m,  m = exp(W_m log(|x| + ε)) ⊙ s,  s_j = ∏_i (sign(x_i) S_ij + 1 − S_ij)"""
        a = x @ self.nac.W.mT
        s = sign_factor(x, self.sign_weight())
        m = self.log_path(x) * s
        g, one_minus_g = self.gates(x)
        return g * a + one_minus_g * m

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, decoupled_sign={self.decoupled_sign}"


class INALU(ArithmeticUnit):
    """Improved NALU (Schlör, Ring & Hotho 2020).

        a = W_a x,  W_a = tanh(Ŵ_a) ⊙ σ(M̂_a)
        m = exp(min(W_m log(max(|x|, ε)), ω)) ⊙ s,   s as in ``sign_factor``
        g = σ(ĝ)                                  (input-independent gate)
        y = g ⊙ a + (1 − g) ⊙ m
        R = mean over Ŵ_a, M̂_a, Ŵ_m, M̂_m, ĝ of max(min(−w, w) + t, 0) / t

    ω = 20 bounds the exponent (the paper's clipping); the regulariser R pushes the latent weights
    away from zero so that W saturates at −1, 0 or 1. The paper's re-initialisation of stuck runs
    is not implemented. The paper also clips gradients elementwise; pass ``grad_clip`` to the
    trainer for that.
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7, omega: float = 20.0, t: float = 20.0):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_eps(eps)
        if not omega > 0:
            raise ValueError(f"omega must be positive, got {omega!r}")
        if not t > 0:
            raise ValueError(f"t must be positive, got {t!r}")
        self.in_dim, self.out_dim, self.eps, self.omega, self.t = in_dim, out_dim, eps, omega, t
        self.nac_add = NAC(in_dim, out_dim)
        self.nac_mul = NAC(in_dim, out_dim)
        self.g_hat = nn.Parameter(torch.zeros(out_dim))

    def forward(self, x: Tensor) -> Tensor:
        """y = g ⊙ a + (1 − g) ⊙ exp(min(W_m log(max(|x|, ε)), ω)) · s,  a = W_a x,  g = σ(ĝ)  (Schlör et al. 2020)"""
        a = x @ self.nac_add.W.mT
        w_m = self.nac_mul.W
        log_m = torch.log(torch.clamp_min(torch.abs(x), self.eps)) @ w_m.mT
        m = torch.exp(torch.clamp_max(log_m, self.omega)) * sign_factor(x, w_m)
        g, one_minus_g = torch.sigmoid(self.g_hat).unsqueeze(-2), torch.sigmoid(-self.g_hat).unsqueeze(-2)
        return g * a + one_minus_g * m

    def regularizer(self) -> Tensor:
        def r(w: Tensor) -> Tensor:
            return torch.relu(torch.minimum(-w, w) + self.t) / self.t

        latent = [self.nac_add.W_hat, self.nac_add.M_hat, self.nac_mul.W_hat, self.nac_mul.M_hat]
        total = sum(_per_model_mean(r(w)) for w in latent) + r(self.g_hat).mean(dim=-1)
        return total / 5

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}, omega={self.omega}, t={self.t}"


class NAU(ArithmeticUnit):
    """Neural addition unit (Madsen & Johansen 2020):  y = W x,  W kept in [−1, 1].

    Initialisation: W ~ U(−r, r), r = min(0.5, √3 · √(2 / (in + out))), as the reference code
    (``init="madsen"``), or Xavier's r = √(6 / (in + out)) (``init="xavier"``, as the Neural Power
    Units' code). How W is kept in [−1, 1] (``bounds``, see ``WEIGHT_BOUNDS``): ``"clip"`` clips the
    parameter after each step (the paper); ``"forward"`` leaves the parameter free and multiplies by
    min(max(W, −1), 1) (the paper's ablation "no W-clamp"); ``"none"`` uses W as it is (the Neural
    Power Units' code).
    Regulariser: R = mean_ij min(|W_ij|, 1 − |W_ij|); for a free W (``"forward"``, ``"none"``) the
    reference code's R = mean_ij min(|W_ij|, |1 − |W_ij||), which does not reward |W| > 1.
    """

    INITS = ("madsen", "xavier")

    def __init__(self, in_dim: int, out_dim: int, *, init: str = "madsen", bounds: str = "clip"):
        super().__init__()
        _check_dims(in_dim, out_dim)
        if init not in self.INITS:
            raise ValueError(f"init must be one of {self.INITS}, got {init!r}")
        _check_choice("bounds", bounds, WEIGHT_BOUNDS)
        self.in_dim, self.out_dim, self.bounds = in_dim, out_dim, bounds
        if init == "madsen":
            r = min(0.5, math.sqrt(3.0) * math.sqrt(2.0 / (in_dim + out_dim)))  # r = min(0.5, √3·√(2/(in+out)))
            self.W = nn.Parameter(uniform_(torch.empty(out_dim, in_dim), -r, r))
        else:
            self.W = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))

    def __setstate__(self, state: dict) -> None:
        if "bounds" not in state:  # pickled before ``bounds`` existed, when it was ``clamp: bool``
            state["bounds"] = "clip" if state.pop("clamp", True) else "none"
        super().__setstate__(state)

    def weight(self) -> Tensor:
        """The weights the forward pass multiplies by: min(max(W, −1), 1) when ``bounds="forward"``, else W."""
        return self.W.clamp(-1.0, 1.0) if self.bounds == "forward" else self.W

    def forward(self, x: Tensor) -> Tensor:
        """y = W x"""
        return x @ self.weight().mT

    def regularizer(self) -> Tensor:
        if self.bounds == "clip":
            return _per_model_mean(torch.minimum(torch.abs(self.W), 1 - torch.abs(self.W)))
        return _per_model_mean(torch.minimum(torch.abs(self.W), torch.abs(1 - torch.abs(self.W))))

    @torch.no_grad()
    def clamp_weights_(self) -> None:
        if self.bounds == "clip":
            self.W.clamp_(-1.0, 1.0)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.bounds == "clip" else f", bounds={self.bounds!r}")


class NMU(ArithmeticUnit):
    """Neural multiplication unit (Madsen & Johansen 2020):  y_j = ∏_i (W_ij x_i + 1 − W_ij),  W kept in [0, 1].

    Initialisation: W ~ U[0.25, 0.75], as the reference code. How W is kept in [0, 1] (``bounds``):
    ``"clip"`` clips the parameter after each step (the paper); ``"forward"`` leaves the parameter
    free and multiplies by min(max(W, 0), 1) (the paper's ablation "no W-clamp"); ``"none"`` uses W
    as it is.
    Regulariser: R = mean_ij min(W_ij, 1 − W_ij) (written min(|W|, 1 − |W|)); for a free W the
    reference code's R = mean_ij min(|W_ij|, |1 − W_ij|), which does not reward W > 1.
    """

    def __init__(self, in_dim: int, out_dim: int, *, bounds: str = "clip"):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_choice("bounds", bounds, WEIGHT_BOUNDS)
        self.in_dim, self.out_dim, self.bounds = in_dim, out_dim, bounds
        self.W = nn.Parameter(uniform_(torch.empty(out_dim, in_dim), 0.25, 0.75))

    def __setstate__(self, state: dict) -> None:
        state.setdefault("bounds", "clip")  # pickled before ``bounds`` existed: always clipped
        super().__setstate__(state)

    def weight(self) -> Tensor:
        """The weights the forward pass multiplies by: min(max(W, 0), 1) when ``bounds="forward"``, else W."""
        return self.W.clamp(0.0, 1.0) if self.bounds == "forward" else self.W

    def forward(self, x: Tensor) -> Tensor:
        """y_j = ∏_i (W_ij x_i + 1 − W_ij)"""
        w = self.weight().unsqueeze(-3)  # (..., 1, out, in), against x.unsqueeze(-2): (..., batch, 1, in)
        return (w * x.unsqueeze(-2) + 1 - w).prod(dim=-1)

    def regularizer(self) -> Tensor:
        if self.bounds == "clip":
            return _per_model_mean(torch.minimum(torch.abs(self.W), 1 - torch.abs(self.W)))
        return _per_model_mean(torch.minimum(torch.abs(self.W), torch.abs(1 - self.W)))

    @torch.no_grad()
    def clamp_weights_(self) -> None:
        if self.bounds == "clip":
            self.W.clamp_(0.0, 1.0)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.bounds == "clip" else f", bounds={self.bounds!r}")


class GatedNAUNMU(ArithmeticUnit):
    """Madsen & Johansen's gated NAU/NMU (their gating experiment): a NALU whose two paths are an NAU
    and an NMU, each with its own weights.

        a = W_a x                            (an NAU)
        m_j = ∏_i (W_m,ij x_i + 1 − W_m,ij)  (an NMU)
        g = σ(G x)
        y = g ⊙ a + (1 − g) ⊙ m

    The NAU and the NMU keep their own initialisation, clamp and regulariser (the trainer finds them
    as sub-units); G is initialised as the NALU's gate. 1 − g is computed as σ(−G x).
    """

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        _check_dims(in_dim, out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.nau = NAU(in_dim, out_dim)
        self.nmu = NMU(in_dim, out_dim)
        self.G = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        """y = σ(G x) ⊙ NAU(x) + σ(−G x) ⊙ NMU(x)"""
        logit = x @ self.G.mT
        return torch.sigmoid(logit) * self.nau(x) + torch.sigmoid(-logit) * self.nmu(x)


class NACMul(ArithmeticUnit):
    """The NALU's multiplicative path alone, NAC• (Trask et al. 2018; Madsen & Johansen 2020, §4.2):

        y = exp(W log(|x| + ε))
        W = tanh(Ŵ) ⊙ σ(M̂)      (weight="nac": NAC•, the NALU's own path)
          | σ(Ŵ)                (weight="sigmoid": NAC•,σ, weights in (0, 1))
          | W, clamped to [0, 1] (weight="clamped": NAC•,NMU, the NMU's weights and regulariser)

    Initialisation: Xavier uniform for Ŵ and M̂; U[0.25, 0.75] for the clamped W, as the NMU.
    Regulariser (weight="clamped" only): R = mean_ij min(W_ij, 1 − W_ij).
    """

    weights = ("nac", "sigmoid", "clamped")

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7, weight: str = "nac"):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_eps(eps)
        _check_choice("weight", weight, self.weights)
        self.in_dim, self.out_dim, self.eps, self.weight_kind = in_dim, out_dim, eps, weight
        if weight == "clamped":
            self.W_hat = nn.Parameter(uniform_(torch.empty(out_dim, in_dim), 0.25, 0.75))
        else:
            self.W_hat = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))
        self.M_hat = (nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))
                      if weight == "nac" else None)

    @property
    def W(self) -> Tensor:
        """W = tanh(Ŵ) ⊙ σ(M̂) | σ(Ŵ) | Ŵ (clamped), by ``weight``."""
        if self.weight_kind == "nac":
            return torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat)
        return torch.sigmoid(self.W_hat) if self.weight_kind == "sigmoid" else self.W_hat

    def forward(self, x: Tensor) -> Tensor:
        """y = exp(W log(|x| + ε))"""
        return torch.exp(torch.log(torch.abs(x) + self.eps) @ self.W.mT)

    def regularizer(self) -> Tensor | None:
        if self.weight_kind != "clamped":
            return None
        return _per_model_mean(torch.minimum(self.W_hat, 1 - self.W_hat))

    @torch.no_grad()
    def clamp_weights_(self) -> None:
        if self.weight_kind == "clamped":
            self.W_hat.clamp_(0.0, 1.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}, weight={self.weight_kind!r}"


class RealNPU(ArithmeticUnit):
    """Real neural power unit (Heim, Pevný & Šmídl 2020): the NPU without its imaginary weights.

        r = ĝ ⊙ |x| + 1 − ĝ          (relevance gate: ĝ_i = 0 turns input i into a harmless 1)
        k = ĝ ⊙ [x < 0]              (1 for a relevant negative input)
        z = exp(W log(r + ε)) ⊙ cos(π W k)

    ĝ ∈ [0, 1] is clamped after each step. The paper's definition box swaps k's two cases; we
    follow its derivation and public code (k = 1 for negative inputs). Initialisation: Xavier
    uniform for W, ĝ = 0.5. Regulariser: mean |W| + mean ĝ (L1, as the paper's code).
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_eps(eps)
        self.in_dim, self.out_dim, self.eps = in_dim, out_dim, eps
        self.W = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))
        self.g_hat = nn.Parameter(torch.full((in_dim,), 0.5))

    def forward(self, x: Tensor) -> Tensor:
        """y = exp(W log r) ⊙ cos(π W k),  r = ĝ|x| + 1 − ĝ,  k = ĝ · [x < 0]  (Heim et al. 2020)"""
        g = self.g_hat.unsqueeze(-2)  # (..., 1, in)
        r = g * torch.abs(x) + 1 - g
        k = g * (x < 0).to(x.dtype)
        return torch.exp(torch.log(r + self.eps) @ self.W.mT) * torch.cos(math.pi * (k @ self.W.mT))

    def regularizer(self) -> Tensor:
        return _per_model_mean(torch.abs(self.W)) + torch.abs(self.g_hat).mean(dim=-1)

    @torch.no_grad()
    def clamp_weights_(self) -> None:
        self.g_hat.clamp_(0.0, 1.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}"


def complex_power(log_r: Tensor, k: Tensor, w_re: Tensor, w_im: Tensor) -> Tensor:
    """Re exp((W_re + i W_im)(log r + iπk)) = exp(W_re log r − π W_im k) ⊙ cos(W_im log r + π W_re k)
    (Heim et al. 2020, eq. 7): the real part of a complex power product, in real arithmetic.

    log_r, k: (..., batch, in); w_re, w_im: (..., out, in) → (..., batch, out)."""
    modulus = log_r @ w_re.mT - math.pi * (k @ w_im.mT)  # Re of the exponent: W_re log r − π W_im k
    phase = log_r @ w_im.mT + math.pi * (k @ w_re.mT)  # Im of the exponent: W_im log r + π W_re k
    return torch.exp(modulus) * torch.cos(phase)


class NPU(RealNPU):
    """Neural power unit (Heim, Pevný & Šmídl 2020, def. 3), the RealNPU with imaginary weights W_im:

        r = ĝ ⊙ |x| + 1 − ĝ                        (relevance gate, as the RealNPU)
        k = ĝ ⊙ [x < 0]
        z = exp(W log(r + ε) − π W_im k) ⊙ cos(W_im log(r + ε) + π W k)

    W is the real part W_re. ĝ ∈ [0, 1] is clamped after each step (the paper clips it inside the
    forward, min(max(g, 0), 1); clamping the parameter keeps it where the clip would). As the
    RealNPU, k = ĝ for a negative input (the paper's definition box swaps the cases; its derivation
    and code do not). Initialisation (the paper's recommendation and code): W Xavier uniform,
    W_im = 0, ĝ = 0.5; W_im is created last and draws nothing, so for a given seed the NPU starts
    from the RealNPU's W and ĝ. Regulariser: mean |W| + mean |W_im| + mean ĝ (L1).
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7):
        super().__init__(in_dim, out_dim, eps=eps)
        self.W_im = nn.Parameter(torch.zeros(out_dim, in_dim))

    def forward(self, x: Tensor) -> Tensor:
        """z = exp(W log r − π W_im k) ⊙ cos(W_im log r + π W k),  r = ĝ|x| + 1 − ĝ,  k = ĝ [x < 0]"""
        g = self.g_hat.unsqueeze(-2)  # (..., 1, in)
        r = g * torch.abs(x) + 1 - g  # relevance gate: ĝ_i = 0 turns input i into a harmless 1
        k = g * (x < 0).to(x.dtype)  # the gated angle of log x over π: ĝ_i for a negative input
        return complex_power(torch.log(r + self.eps), k, self.W, self.W_im)

    def regularizer(self) -> Tensor:
        return super().regularizer() + _per_model_mean(torch.abs(self.W_im))


class NaiveNPU(ArithmeticUnit):
    """Naive neural power unit (Heim, Pevný & Šmídl 2020, def. 2): the NPU without the relevance gate.

        r = |x|,  k = [x < 0]
        z = exp(W log(r + ε) − π W_im k) ⊙ cos(W_im log(r + ε) + π W k)

    W is the real part W_re. Initialisation: W Xavier uniform, W_im = 0 (as the NPU; the same W for
    a given seed). Regulariser: mean |W| + mean |W_im| (L1). No clamp.
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-7):
        super().__init__()
        _check_dims(in_dim, out_dim)
        _check_eps(eps)
        self.in_dim, self.out_dim, self.eps = in_dim, out_dim, eps
        self.W = nn.Parameter(_xavier_uniform_(torch.empty(out_dim, in_dim), in_dim, out_dim))
        self.W_im = nn.Parameter(torch.zeros(out_dim, in_dim))

    def forward(self, x: Tensor) -> Tensor:
        """z = exp(W log|x| − π W_im k) ⊙ cos(W_im log|x| + π W k),  k = [x < 0]"""
        k = (x < 0).to(x.dtype)  # log x = log|x| + iπk for real x
        return complex_power(torch.log(torch.abs(x) + self.eps), k, self.W, self.W_im)

    def regularizer(self) -> Tensor:
        return _per_model_mean(torch.abs(self.W)) + _per_model_mean(torch.abs(self.W_im))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}"


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "relu6": nn.functional.relu6,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softsign": nn.functional.softsign,
    "softplus": nn.functional.softplus,
    "elu": nn.functional.elu,
    "selu": torch.selu,
    "gelu": nn.functional.gelu,
    "silu": nn.functional.silu,
    "leaky_relu": nn.functional.leaky_relu,
    "hardtanh": nn.functional.hardtanh,
    "tanhshrink": nn.functional.tanhshrink,
    "logsigmoid": nn.functional.logsigmoid,
    "mish": nn.functional.mish,
    "identity": lambda x: x,
}


class MLP(ArithmeticUnit):
    """Multi-layer perceptron: h_{k+1} = φ(W_k h_k + b_k), linear output layer."""

    activations = tuple(_ACTIVATIONS)

    def __init__(self, in_dim: int, out_dim: int, hidden: Sequence[int] = (32,), activation: str = "relu"):
        super().__init__()
        _check_dims(in_dim, out_dim)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(_ACTIVATIONS)}")
        for h in hidden:
            if not isinstance(h, int) or h < 1:
                raise ValueError(f"hidden sizes must be positive integers, got {h!r}")
        self.in_dim, self.out_dim, self.activation = in_dim, out_dim, activation
        sizes = [in_dim, *hidden, out_dim]
        self.layers = nn.ModuleList(Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: Tensor) -> Tensor:
        """y = L_n(φ(… φ(L_1 x)))"""
        phi = _ACTIVATIONS[self.activation]
        for layer in self.layers[:-1]:
            x = phi(layer(x))
        return self.layers[-1](x)


class VanillaNet(ArithmeticUnit):
    """The PyTorch blog post's baseline: one linear layer followed by ReLU,  y = relu(W x + b)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        _check_dims(in_dim, out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.fc = Linear(in_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """y = relu(W x + b)"""
        return torch.relu(self.fc(x))
