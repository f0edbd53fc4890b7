"""Tolerances derived from floating-point rounding, for tests of kind (b).

Kind (a): the same computation on one machine must give the same bits (a checkpoint resumed, a
seed alone against the same seed in a stack computed by the same kernels, Adam's state): those
tests compare exactly (``torch.equal``, ``assert_array_equal``, ``==``).

Kind (b): two computations equal in exact arithmetic that round differently (another chunking,
batch shape, kernel or accumulation order). Summing n terms in floating point with unit roundoff
u errs by at most about n·u·Σ|terms| (Higham, *Accuracy and Stability of Numerical Algorithms*,
§4.2), so two such sums differ by at most twice that; the tests use these bounds.
"""

U32 = 2.0**-24  # unit roundoff of float32 (half an ulp at 1)
U64 = 2.0**-53  # unit roundoff of float64


def sum_rtol(n_terms: int, u: float = U32) -> float:
    """Relative gap allowed between two orderings of a sum of ``n_terms`` same-signed terms: 2·n·u."""
    return 2 * n_terms * u


def product_of_sums_rtol(n_terms: int, u: float = U32) -> float:
    """Two orderings of a·b with a and b each a same-signed sum of ≤ n terms: 2·(2·n·u) + u."""
    return 2 * sum_rtol(n_terms, u) + u


def exp_log_rtol(fan_ins: tuple[int, ...], eps: float = 1e-7, u: float = U32) -> float:
    """Relative gap allowed between two float32 evaluations of stacked layers m = exp(W log(|x| + ε))
    with |W_ij| ≤ 1. A layer of fan-in n rounds its exponent by at most n·u·Σ|W||log| ≤ n²·u·|log ε|
    (|log(|x| + ε)| ≤ |log ε| for |x| ≤ 1/ε); a relative error r of its inputs adds Σ|W|·r ≤ n·r to
    its exponent. So r ← n·r + n²·u·|log ε| per layer, and twice that for the gap of two evaluations."""
    import math

    r = 0.0
    for n in fan_ins:
        r = n * r + n * n * u * abs(math.log(eps))
    return 2 * r
