"""Tasks: operations, the mystery problem against its reference loop, the task geometries, errors.

Equality kinds (tests/tolerances.py): (a) exact: the vectorised solver against the loop (the same
elementwise operations), the same seed drawn twice.
"""

import numpy as np
import pytest
import torch

import nalu
from nalu import Operation


def test_operations_compute_what_they_say():
    a, b = np.array([6.0, -2.0]), np.array([3.0, 4.0])
    assert np.allclose(Operation.parse("add")(a, b), [9, 2])
    assert np.allclose(Operation.parse("-")(a, b), [3, -6])
    assert np.allclose(Operation.parse("mul")(a, b), [18, -8])
    assert np.allclose(Operation.parse("div")(a, b), [2, -0.5])
    assert np.allclose(Operation.parse("square")(a), [36, 4])
    assert np.allclose(Operation.parse("sqrt")(np.array([9.0, 2.25])), [3, 1.5])


def test_unknown_operation_names_the_value():
    with pytest.raises(ValueError, match="modulo"):
        Operation.parse("modulo")


def test_vectorised_mystery_solver_equals_the_reference_loop():
    rng = np.random.default_rng(0)
    for in_dim, out_dim, ops in [(100, 10, ("add", "sub", "mul")), (5, 40, ("add", "sub", "mul", "div"))]:
        config = nalu.mystery_configuration(in_dim, out_dim, rng, ops)
        assert all(i != j for i, j in zip(config.i, config.j))
        x = rng.uniform(-10, 10, (257, in_dim))
        x[3, config.j[0]] = 0.0  # a division by zero must agree too
        fast, slow = nalu.solve_mystery(x, config), nalu.tasks.solve_mystery_loop(x, config)
        assert fast.shape == (257, out_dim)
        np.testing.assert_array_equal(fast, slow)
        x32 = x.astype(np.float32)
        np.testing.assert_array_equal(nalu.solve_mystery(x32, config), nalu.tasks.solve_mystery_loop(x32, config))


def test_mystery_solution_by_hand():
    config = nalu.MysteryConfig(3, np.array([0, 2, 1]), np.array([1, 0, 2]),
                                (Operation.ADD, Operation.MUL, Operation.SUB))
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(nalu.solve_mystery(x, config), [[3.0, 3.0, -1.0]])


def test_mystery_dataset_is_reproducible_and_has_both_test_ranges():
    d1, c1 = nalu.mystery_dataset(3, n_train=50, n_test=20)
    d2, c2 = nalu.mystery_dataset(3, n_train=50, n_test=20)
    np.testing.assert_array_equal(d1.x_train, d2.x_train)
    assert set(d1.evals) == {"train", "test [-10, 10]", "test [-50, 50]"}
    assert np.abs(d1.evals["test [-50, 50]"][0]).max() > 10
    assert np.abs(d1.x_train).max() <= 10


def test_static_task_geometry_follows_madsen():
    task = nalu.static_arithmetic("add", offset=10)
    assert task.in_dim == 100
    a, b = np.flatnonzero(task.a_mask), np.flatnonzero(task.b_mask)
    assert list(a) == list(range(10, 35))  # subset 25
    assert list(b) == list(range(23, 48))  # overlap 12 with a
    x = torch.from_numpy(task.inputs(7, "interpolation", nalu.rng_for(0)))
    assert float(x.min()) >= 1 and float(x.max()) < 2
    y = task.targets(x)
    torch.testing.assert_close(y[:, 0], x[:, 10:35].sum(1) + x[:, 23:48].sum(1))
    xe = task.inputs(1000, "extrapolation", nalu.rng_for(0))
    assert xe.min() >= 2 and xe.max() < 6


def test_static_task_offset_is_random_per_seed():
    offsets = {nalu.static_arithmetic("mul", nalu.rng_for(s)).offset for s in range(30)}
    assert len(offsets) > 5
    assert all(0 <= o <= 62 for o in offsets)


def test_sum_split_task():
    task = nalu.sum_split()
    x, y = task.sample(5, "extrapolation", nalu.rng_for(1))
    torch.testing.assert_close(y[:, 0], x[:, :4].sum(1) + x[:, 4:].sum(1))
    assert float(x.max()) < 100 and task.in_dim == 10


def test_signed_task_ranges_and_targets():
    task = nalu.signed_task("mul")
    x, y = task.sample(2000, "extrapolation", nalu.rng_for(2))
    assert float(x.abs().min()) >= 2 and float(x.abs().max()) < 6
    assert (x < 0).float().mean().item() == pytest.approx(0.5, abs=0.05)
    torch.testing.assert_close(y[:, 0], x[:, 0] * x[:, 1])
    xi, _ = task.sample(2000, "interpolation", nalu.rng_for(2))
    assert float(xi.min()) >= -2 and float(xi.max()) < 2
    div = nalu.signed_task("div")
    x, y = div.sample(10, "interpolation", nalu.rng_for(3))
    torch.testing.assert_close(y[:, 0], x[:, 0] / x[:, 1])


def test_identity_task():
    task = nalu.IdentityTask()
    x, y = task.sample(100, "extrapolation", nalu.rng_for(0))
    torch.testing.assert_close(x, y)
    assert float(x.abs().max()) <= 20


def test_same_generator_seed_same_data():
    task = nalu.signed_task()
    a = task.inputs(10, "interpolation", nalu.rng_for(5))
    b = task.inputs(10, "interpolation", nalu.rng_for(5))
    np.testing.assert_array_equal(a, b)


def test_perturbed_solution_is_close_but_not_exact():
    task = nalu.static_arithmetic("mul", offset=0)
    x = torch.from_numpy(task.inputs(100, "extrapolation", nalu.rng_for(0)))
    diff = (task.perturbed_targets(x) - task.targets(x)).abs()
    assert float(diff.max()) > 0
    assert float((diff / task.targets(x).abs()).max()) < 1e-3


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: nalu.static_arithmetic("add", in_dim=1, offset=0), "in_dim"),
        (lambda: nalu.static_arithmetic("add", in_dim=10, subset_ratio=0.9, offset=0), "do not fit"),
        (lambda: nalu.static_arithmetic("add", offset=99), "offset"),
        (lambda: nalu.static_arithmetic("add"), "rng"),
        (lambda: nalu.static_arithmetic("pow", offset=0), "pow"),
        (lambda: nalu.static_arithmetic("add", offset=0, interpolation=(2.0, 1.0)), "lo=2.0"),
        (lambda: nalu.two_input("add", (1.0, 1.0), (2.0, 6.0)), "lo=1.0"),
        (lambda: nalu.sum_split(in_dim=1), "in_dim"),
        (lambda: nalu.sum_split(split_at=10), "split_at"),
        (lambda: nalu.mystery_configuration(1, 3, np.random.default_rng(0)), "in_dim"),
        (lambda: nalu.mystery_configuration(5, 0, np.random.default_rng(0)), "out_dim"),
        (lambda: nalu.mystery_configuration(5, 2, np.random.default_rng(0), ops=("add", "xor")), "xor"),
        (lambda: nalu.Ranges((0.0, 3.0), (2.0, 5.0)), "overlap"),
        (lambda: nalu.signed_task().inputs(3, "test", nalu.rng_for(0)), "test"),
        (lambda: nalu.rng_for(-3), "-3"),
        (lambda: nalu.IdentityTask(in_dim=0), "in_dim"),
    ],
)
def test_bad_task_arguments_raise_value_error_naming_the_value(call, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        call()


def test_mystery_solver_rejects_wrong_width():
    config = nalu.mystery_configuration(5, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        nalu.solve_mystery(np.zeros((4, 3)), config)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "square", "sqrt"])
@pytest.mark.parametrize("make", [lambda op: nalu.static_arithmetic(op, offset=3),
                                  lambda op: nalu.two_input(op, (1.0, 2.0), (2.0, 6.0)),
                                  lambda op: nalu.signed_task(op) if op in ("add", "sub", "mul", "div") else
                                  nalu.two_input(op, (1.0, 2.0), (2.0, 6.0)),
                                  lambda op: nalu.sum_split(op)])
def test_success_threshold_is_small_but_never_zero(op, make):
    task = make(op)
    x = torch.from_numpy(task.inputs(500, "extrapolation", nalu.rng_for(0)))
    thr = task.success_threshold(x)
    scale = float((task.targets(x.double()) ** 2).mean())
    # a perturbation of ε = 1e-5 moves outputs by O(ε): the threshold is O(ε²) relative to the targets
    assert 1e-14 * scale < thr < 1e-6 * scale


def test_madsen_perturbation_by_hand():
    task = nalu.two_input("sub", (1.0, 2.0), (2.0, 6.0))
    x = torch.tensor([[3.0, 5.0]], dtype=torch.float64)
    eps = 1e-3
    a, b = (1 - eps) * 3 + eps * 5, eps * 3 + (1 - eps) * 5
    assert task.perturbed_targets(x, eps).item() == pytest.approx(a - b, rel=1e-12)
    add = nalu.two_input("add", (1.0, 2.0), (2.0, 6.0))  # cancels exactly: falls back to shrinking
    assert add.perturbed_targets(x, eps).item() == pytest.approx((1 - eps) * 8, rel=1e-12)


def test_division_tasks_never_draw_an_exact_zero():
    r = nalu.Ranges((-1.0, 1.0)).without_zero()

    class ZeroFirst:  # a generator whose first draw lands exactly on 0 of [-1, 1)
        def __init__(self):
            self.calls = 0

        def random(self, shape=None, dtype=None, out=None):
            self.calls += 1
            value = np.full(shape if out is None else out.shape, 0.5 if self.calls == 1 else 0.25, np.float32)
            if out is not None:
                out[...] = value
                return out
            return value

    x = r.sample((4,), ZeroFirst())
    assert (x != 0).all() and np.allclose(x, -0.5)
    assert nalu.signed_task("div").splits["interpolation"].exclude_zero
    assert not nalu.signed_task("mul").splits["interpolation"].exclude_zero


@pytest.mark.parametrize("op", list(nalu.Operation))
def test_operation_parse_accepts_its_own_symbols_names_and_words(op):
    assert nalu.Operation.parse(op.symbol) is op
    assert nalu.Operation.parse(op.value) is op
    assert nalu.Operation.parse(op.name) is op
    assert nalu.Operation.parse(op) is op


def test_operation_parse_errors_name_the_value_and_the_choices():
    with pytest.raises(ValueError, match=r"'pow'.*'mul' \(×\)"):
        nalu.Operation.parse("pow")
    with pytest.raises(ValueError, match="got 3 \\(int\\)"):
        nalu.Operation.parse(3)


def test_tasks_share_the_task_base():
    for task in (nalu.static_arithmetic("add", nalu.rng_for(0)), nalu.IdentityTask(2)):
        assert isinstance(task, nalu.tasks.Task)
        x, y = task.sample(5, "extrapolation", nalu.rng_for(0, 1))
        assert x.shape == (5, task.in_dim) and y.shape == (5, task.out_dim)
    with pytest.raises(ValueError, match="unknown split 'test'"):
        nalu.IdentityTask().inputs(3, "test", nalu.rng_for(0))


def test_a_sign_blind_magnitude_is_worse_than_zero_on_the_signed_task_by_construction():
    # on ±U[2, 6] about half the products are negative; there |x₁x₂| errs by 2|y|, so its MSE is
    # about 2·E[y²] against E[y²] for predicting 0: chapter 7 shows it, it is not one of its findings
    task = nalu.signed_task("mul")
    x = torch.from_numpy(task.inputs(10_000, "extrapolation", nalu.rng_for(0, 3)))
    y = task.targets(x)
    blind = (x[:, :1] * x[:, 1:]).abs()
    assert 0.4 < float((y < 0).float().mean()) < 0.6
    assert float(((blind - y) ** 2).mean()) > 1.5 * float((y ** 2).mean())
