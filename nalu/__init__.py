"""nalu: neural arithmetic units, their tasks, a many-seed trainer and the papers' metrics."""

from .metrics import (effective_weights, linear_floor, mse, normalised_error, sparsity_error, success_rate,
                      success_table, wilson_interval)
from .models import (UNITS, Stack, build, clamp_weights_, concat_stacked, make_unit, regularizer, stack_models,
                     two_layer, unstack_model)
from .tasks import (ArithmeticTask, Dataset, IdentityTask, Interval, MysteryConfig, Operation, Ranges, Task,
                    mystery_configuration, mystery_dataset, rng_for, signed_task, solve_mystery,
                    static_arithmetic, sum_split, ten_parameter_function, two_input)
from .data import DataSource, FixedData, FreshSamples
from .training import (Checkpoint, CheckpointMismatch, Learner, TrainingOptions, TrainingPaused, TrainResult, Warmup,
                       as_float64, code_version, environment, evaluate_mse, merge_results, train, train_together)
from .units import (INALU, MLP, NAC, NALU, NAU, NMU, NPU, GatedNAUNMU, Linear, NACMul, NaiveNPU, RealNPU, SignedNALU,
                    VanillaNet, complex_power, sign_factor)

__version__ = "0.1.0"

from . import applied, gridworld, recurrent  # noqa: E402  (the applied tasks of Trask et al. 2018, chapters 11-13 and 15)
