"""Tracking time in a grid world (Trask et al. 2018, §4.5), small enough to run on a CPU.

The environment is a square grid of ``size × size`` cells, written in torch so that thousands of
episodes step as one batch. Each episode has a goal cell, a start cell and an instruction T, a
positive integer: the agent must *arrive* at the goal (step onto it) at exactly step T. The
instruction is shown once, in the first observation; after that the agent has to keep the time
itself. The episode ends when the agent steps onto the goal, or after T + ``slack`` steps.

Rewards (one per episode, at its last step):

    r = 1                          if the agent arrives at step t = T
    r = −min(1, |t − T| / slack)   if it arrives at step t ≠ T
    r = −1                         if it has not arrived after T + slack steps

Actions: 0 stay, 1 up, 2 down, 3 left, 4 right; a move off the grid leaves the agent where it is.
Observation: the goal's displacement from the agent, (goal − position) ∈ {−(size−1) … size−1}²,
as a one-hot code of its row and one of its column, then one instruction channel, T /
``instruction_scale`` in the first observation and 0 afterwards.

The agents (``TimingAgent``) broadcast over a leading seed axis like the units do, so S seeds
train as one stacked model (``train_agents``: advantage actor-critic with generalised advantage
estimation). Every random draw of seed s comes from seed s's own ``torch.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .models import build, clamp_weights_, make_unit, stack_models
from .recurrent import LSTMCell
from .tasks import rng_for
from .units import Linear

__all__ = ["ACTIONS", "TIMEOUT_REWARD", "GridState", "TimedGridWorld", "arrival_reward", "TimingAgent",
           "seed_generator", "Rollout", "rollout", "gae", "a2c_loss", "train_agents", "evaluate", "ACCUMULATORS"]

ACTIONS = ("stay", "up", "down", "left", "right")
_MOVES = torch.tensor([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # (row, column) change of each action
TIMEOUT_REWARD = -1.0
ACCUMULATORS = (None, "nac", "nau")


def _check_int(name: str, value, minimum: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum} ({what}), got {value!r}")


def _check_instruction(T: Tensor) -> Tensor:
    T = torch.as_tensor(T)
    if T.is_floating_point() and not torch.equal(T, T.round()):
        raise ValueError(f"the instruction T must be whole steps, got {T.flatten()[:5].tolist()}...; pass integers ≥ 1")
    T = T.long()
    if T.numel() and int(T.min()) < 1:
        raise ValueError(f"the instruction T must be ≥ 1 (the first step the agent can arrive), got "
                         f"{int(T.min())}; pass integers ≥ 1")
    return T


def arrival_reward(t: Tensor, T: Tensor, slack: int) -> Tensor:
    """r = 1 if t = T, else −min(1, |t − T| / slack): the reward for arriving at step t."""
    err = (t - T).abs().to(torch.float32)
    return torch.where(err == 0, torch.ones_like(err), -torch.clamp(err / slack, max=1.0))


@dataclass
class GridState:
    """The state of a batch of episodes (any leading shape): positions and goals (..., 2) as (row,
    column), instruction T, steps taken t, whether the episode is over, and the arrival step (0: none)."""

    pos: Tensor
    goal: Tensor
    T: Tensor
    t: Tensor
    done: Tensor
    arrival: Tensor

    @staticmethod
    def stack(states: Sequence["GridState"]) -> "GridState":
        """States of the same shape stacked along a new first axis (the seed axis)."""
        return GridState(**{f.name: torch.stack([getattr(s, f.name) for s in states]) for f in fields(GridState)})


class TimedGridWorld:
    """A ``size × size`` grid in which the agent must arrive at the goal at exactly step T."""

    def __init__(self, size: int = 5, slack: int | None = None, instruction_scale: float = 10.0):
        _check_int("size", size, 2, "a grid needs a start cell apart from the goal")
        slack = 2 * (size - 1) if slack is None else slack
        _check_int("slack", slack, 1, "the steps allowed after T before an episode times out")
        if not (isinstance(instruction_scale, (int, float)) and math.isfinite(instruction_scale)
                and instruction_scale > 0):
            raise ValueError(f"instruction_scale must be a positive number, got {instruction_scale!r}")
        self.size, self.slack, self.instruction_scale = int(size), int(slack), float(instruction_scale)
        self.width = 2 * self.size - 1  # displacements −(size−1) … size−1 per axis
        self.obs_dim = 2 * self.width + 1

    def __repr__(self) -> str:
        return f"TimedGridWorld(size={self.size}, slack={self.slack}, instruction_scale={self.instruction_scale:g})"

    def _check_cells(self, name: str, cells: Tensor) -> Tensor:
        cells = torch.as_tensor(cells).long()
        if cells.shape[-1:] != (2,):
            raise ValueError(f"{name} must hold (row, column) pairs, shape (..., 2); got shape {tuple(cells.shape)}")
        if cells.numel() and (int(cells.min()) < 0 or int(cells.max()) >= self.size):
            raise ValueError(f"{name} lies outside the {self.size}×{self.size} grid (rows and columns 0 … "
                             f"{self.size - 1}), got {cells.reshape(-1, 2)[:3].tolist()}; use a larger size")
        return cells

    def start(self, pos, goal, T) -> GridState:
        """Episodes from given start cells, goals and instructions (hand-made trajectories, tests)."""
        pos, goal, T = self._check_cells("pos", pos), self._check_cells("goal", goal), _check_instruction(T)
        if pos.shape[:-1] != T.shape or goal.shape != pos.shape:
            raise ValueError(f"pos {tuple(pos.shape)}, goal {tuple(goal.shape)} and T {tuple(T.shape)} must agree "
                             "(pos and goal (..., 2), T (...))")
        if bool((pos == goal).all(-1).any()):
            raise ValueError("an episode cannot start on its goal: the agent must arrive there; pass pos ≠ goal")
        zeros = torch.zeros_like(T)
        return GridState(pos, goal, T, zeros, zeros.bool(), zeros)

    def reset(self, T, generator: torch.Generator, goal=None) -> GridState:
        """New episodes, one per entry of T: the goal uniform over the grid (or the given cell), the
        start uniform over the cells at distance 1 … T from the goal (so that arriving at T is possible)."""
        T = _check_instruction(T)
        n = T.numel()
        cells = torch.cartesian_prod(torch.arange(self.size), torch.arange(self.size))  # (size², 2)
        if goal is None:
            g = cells[torch.randint(0, len(cells), (n,), generator=generator)]
        else:
            g = self._check_cells("goal", goal).expand(n, 2)
        dist = (cells.unsqueeze(0) - g.unsqueeze(1)).abs().sum(-1)  # (n, size²) Manhattan distance to the goal
        allowed = (dist >= 1) & (dist <= T.reshape(-1, 1))
        pick = torch.multinomial(allowed.float(), 1, generator=generator).squeeze(-1)
        return self.start(cells[pick].reshape(*T.shape, 2), g.reshape(*T.shape, 2), T)

    def observe(self, state: GridState) -> Tensor:
        """[one-hot of the rows and of the columns of goal − position; T / instruction_scale at t = 0,
        else 0]: (..., obs_dim)."""
        d = state.goal - state.pos + (self.size - 1)
        onehot = nn.functional.one_hot(d, self.width).flatten(-2).float()
        instruction = torch.where(state.t == 0, state.T.float() / self.instruction_scale, 0.0)
        return torch.cat([onehot, instruction.unsqueeze(-1)], dim=-1)

    def step(self, state: GridState, action: Tensor) -> tuple[GridState, Tensor]:
        """One action per episode; finished episodes stay as they are and get reward 0."""
        action = torch.as_tensor(action).long()
        if action.shape != state.T.shape:
            raise ValueError(f"one action per episode: expected shape {tuple(state.T.shape)}, got {tuple(action.shape)}")
        if action.numel() and (int(action.min()) < 0 or int(action.max()) >= len(ACTIONS)):
            raise ValueError(f"actions are 0 … {len(ACTIONS) - 1} ({', '.join(ACTIONS)}), got "
                             f"{sorted(set(action.flatten().tolist()))}")
        live = ~state.done
        t = state.t + live.long()
        pos = torch.where(live.unsqueeze(-1), (state.pos + _MOVES[action]).clamp(0, self.size - 1), state.pos)
        arrived = live & (pos == state.goal).all(-1)
        timeout = live & ~arrived & (t >= state.T + self.slack)
        reward = torch.where(arrived, arrival_reward(t, state.T, self.slack),
                             torch.where(timeout, TIMEOUT_REWARD, 0.0))
        arrival = torch.where(arrived, t, state.arrival)
        return GridState(pos, state.goal, state.T, t, state.done | arrived | timeout, arrival), reward


class TimingAgent(nn.Module):
    """A recurrent actor-critic, optionally with an accumulator on its time-keeping path:

        h_t, c_t = LSTM(o_t; h_{t−1}, c_{t−1})                 (the recurrent core)
        a_t = a_{t−1} + U([ι_t; 1]),  a_0 = 0                  (accumulator="nac" or "nau")
        [logits_t; v_t] = W [h_t; o_t; a_t] + b                (policy and value heads)

    with o_t the observation and ι_t its instruction channel (T / scale at the first step, 0
    later). The accumulator's state is a linear combination of T and t, so the heads can read the
    steps left, T − t, from it exactly; the baseline (accumulator=None) has to keep the time in its
    LSTM state. With ``instruction_to_core=False`` the LSTM of an accumulator agent sees the
    observation with its instruction channel set to 0, so that T reaches the policy only through
    the accumulator (by default both agents' LSTMs see the whole observation: the accumulator
    agent is the baseline plus an accumulator).
    """

    def __init__(self, obs_dim: int, hidden: int = 32, accumulator: str | None = None, acc_dim: int = 2,
                 n_actions: int = len(ACTIONS), instruction_to_core: bool = True):
        super().__init__()
        _check_int("obs_dim", obs_dim, 2, "the observation, its last entry the instruction channel")
        _check_int("hidden", hidden, 1, "the LSTM's units")
        _check_int("acc_dim", acc_dim, 1, "the accumulator's outputs")
        if accumulator not in ACCUMULATORS:
            raise ValueError(f"accumulator must be one of {ACCUMULATORS}, got {accumulator!r}")
        self.obs_dim, self.hidden, self.accumulator, self.n_actions = obs_dim, hidden, accumulator, n_actions
        self.acc_dim = acc_dim if accumulator else 0
        self.instruction_to_core = bool(instruction_to_core)
        if accumulator is None and not self.instruction_to_core:
            raise ValueError("an agent without an accumulator needs the instruction in its core; "
                             "pass instruction_to_core=True or an accumulator")
        self.core = LSTMCell(obs_dim, hidden)
        self.acc = make_unit(accumulator, 2, acc_dim) if accumulator else None
        self.head = Linear(hidden + obs_dim + self.acc_dim, n_actions + 1)

    def initial_state(self, obs: Tensor) -> tuple[Tensor, ...]:
        h, c = self.core.initial_state(obs)
        return h, c, obs.new_zeros(*obs.shape[:-1], self.acc_dim)

    def forward(self, obs: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        """(logits (..., n_actions), value (...), new state) for observations (S, batch, obs_dim)."""
        h, c, a = state
        core_in = obs if self.instruction_to_core else torch.cat([obs[..., :-1], torch.zeros_like(obs[..., -1:])], -1)
        h, (h, c) = self.core(core_in, (h, c))
        if self.acc is not None:
            a = a + self.acc(torch.stack([obs[..., -1], torch.ones_like(obs[..., -1])], dim=-1))  # a_t = a_{t−1} + U([ι_t; 1])
        out = self.head(torch.cat([h, obs, a], dim=-1))
        return out[..., :-1], out[..., -1], (h, c, a)


def seed_generator(seed: int, stream: int) -> torch.Generator:
    """A torch generator for (seed, stream), seeded from ``nalu.rng_for`` (independent streams)."""
    return torch.Generator().manual_seed(int(rng_for(seed, stream).integers(2**62)))


def _sample(logits: Tensor, u: Tensor) -> Tensor:
    """a = #{k : u > P(A ≤ k)}: inverse-CDF sampling from softmax(logits) with uniforms u."""
    cdf = torch.softmax(logits, dim=-1).cumsum(-1)
    return (u.unsqueeze(-1) > cdf).sum(-1).clamp(max=logits.shape[-1] - 1)


@dataclass
class Rollout:
    """Per step k of a batch of episodes (S, B, K): log π(a_k), entropy, value, reward, alive (the
    episode was running when the agent acted); and the final state (arrival steps)."""

    logp: Tensor
    entropy: Tensor
    value: Tensor
    reward: Tensor
    alive: Tensor
    final: GridState


def rollout(agent: nn.Module, env: TimedGridWorld, state: GridState, uniforms: Tensor,
            greedy: bool = False) -> Rollout:
    """Play episodes from ``state`` (S, B) to their end; ``uniforms`` (S, B, K) drive the sampling
    (K ≥ the longest episode, max T + slack steps). ``greedy`` takes the most likely action instead."""
    K = int(state.T.max()) + env.slack
    if uniforms.shape[-1] < K:
        raise ValueError(f"uniforms cover {uniforms.shape[-1]} steps, the episodes may last {K}")
    obs = env.observe(state)
    mem = agent.initial_state(obs)
    logps, ents, vals, rews, alive = [], [], [], [], []
    for k in range(K):
        if bool(state.done.all()):
            break
        logits, v, mem = agent(obs, mem)
        logp_all = torch.log_softmax(logits, dim=-1)
        a = logits.argmax(-1) if greedy else _sample(logits.detach(), uniforms[..., k])
        alive.append(~state.done)
        state, r = env.step(state, a)
        logps.append(logp_all.gather(-1, a.unsqueeze(-1)).squeeze(-1))
        ents.append(-(logp_all.exp() * logp_all).sum(-1))
        vals.append(v)
        rews.append(r)
        obs = env.observe(state)
    st = lambda xs: torch.stack(xs, dim=-1)  # noqa: E731
    return Rollout(st(logps), st(ents), st(vals), st(rews), st(alive), state)


def gae(reward: Tensor, value: Tensor, alive: Tensor, gamma: float, lam: float) -> Tensor:
    """Generalised advantage estimation (Schulman et al. 2016) over the last axis, episodes ending
    where ``alive`` turns false:  δ_k = r_k + γ V_{k+1} − V_k,  Â_k = δ_k + γλ Â_{k+1}."""
    value = value * alive
    nxt = torch.cat([value[..., 1:], torch.zeros_like(value[..., :1])], dim=-1)  # V_{k+1}, 0 after the end
    delta = (reward + gamma * nxt - value) * alive  # δ_k = r_k + γ V_{k+1} − V_k
    adv, run = torch.zeros_like(delta), torch.zeros_like(delta[..., 0])
    for k in range(delta.shape[-1] - 1, -1, -1):
        run = delta[..., k] + gamma * lam * run * alive[..., k]  # Â_k = δ_k + γλ Â_{k+1}
        adv[..., k] = run
    return adv


def a2c_loss(ro: Rollout, gamma: float, lam: float, entropy_coef: float, value_coef: float) -> Tensor:
    """Advantage actor-critic loss, one per seed (S,): mean over live steps of
    −log π(a) Â − β H(π) + c (V − (Â + V))², Â normalised per seed."""
    alive = ro.alive.float()
    adv = gae(ro.reward, ro.value.detach(), alive, gamma, lam)
    ret = adv + ro.value.detach() * alive  # the λ-return, the critic's target
    n = alive.sum(dim=(-2, -1))
    mean = (adv * alive).sum(dim=(-2, -1)) / n
    std = (((adv - mean[:, None, None]) ** 2 * alive).sum(dim=(-2, -1)) / n).sqrt()
    norm = (adv - mean[:, None, None]) / (std[:, None, None] + 1e-8)
    per_step = (-ro.logp * norm - entropy_coef * ro.entropy + value_coef * (ro.value - ret) ** 2) * alive
    return per_step.sum(dim=(-2, -1)) / n


def train_agents(factory: Callable[[], nn.Module], env: TimedGridWorld, seeds: Sequence[int], *, updates: int,
                 envs_per_seed: int = 64, t_range: tuple[int, int] = (1, 10), lr: float = 3e-3,
                 gamma: float = 0.99, lam: float = 0.95, entropy_coef: float = 0.01, value_coef: float = 0.5,
                 log_every: int = 0) -> tuple[nn.Module, pd.DataFrame]:
    """Train one agent per seed, stacked into one model, with A2C: each update plays
    ``envs_per_seed`` episodes per seed with T uniform on ``t_range`` (inclusive) and takes one Adam
    step on the sum of the seeds' losses (seed s's loss depends on seed s's weights only, and Adam
    acts elementwise, so the seeds train independently). Returns the stacked model and a log of
    each seed's mean episode reward (every ``log_every`` updates; 0: none)."""
    _check_int("updates", updates, 1, "Adam steps")
    _check_int("envs_per_seed", envs_per_seed, 1, "episodes per seed and update")
    lo, hi = t_range
    _check_instruction(torch.tensor([lo, hi]))
    if hi < lo:
        raise ValueError(f"t_range must be (low, high) with low ≤ high, got {t_range!r}")
    seeds = list(seeds)
    model = stack_models([build(factory, s) for s in seeds])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gens = [seed_generator(s, 1) for s in seeds]
    K = hi + env.slack
    log = []
    for u in range(updates):
        T = [torch.randint(lo, hi + 1, (envs_per_seed,), generator=g) for g in gens]
        state = GridState.stack([env.reset(t, g) for t, g in zip(T, gens)])
        unif = torch.stack([torch.rand(envs_per_seed, K, generator=g) for g in gens])
        ro = rollout(model, env, state, unif)
        loss = a2c_loss(ro, gamma, lam, entropy_coef, value_coef)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        clamp_weights_(model)
        if log_every and (u % log_every == 0 or u == updates - 1):
            r = ro.reward.sum(-1).mean(-1)
            log += [dict(update=u + 1, seed=s, reward=float(r[i])) for i, s in enumerate(seeds)]
    return model, pd.DataFrame(log)


@torch.no_grad()
def evaluate(model: nn.Module, env: TimedGridWorld, seeds: Sequence[int], T_values: Sequence[int],
             episodes: int = 50, greedy: bool = False, stream: int = 2) -> pd.DataFrame:
    """Play ``episodes`` fresh episodes per seed and instruction T (a stacked model of len(seeds));
    one row per episode: seed, T, arrival step (0: none), error (arrival − T; NaN: none), reward."""
    _check_int("episodes", episodes, 1, "episodes per seed and T")
    T_values = [int(t) for t in _check_instruction(torch.as_tensor(list(T_values)))]
    T = torch.tensor(T_values).repeat_interleave(episodes)
    gens = [seed_generator(s, stream) for s in seeds]
    state = GridState.stack([env.reset(T, g) for g in gens])
    unif = torch.stack([torch.rand(len(T), max(T_values) + env.slack, generator=g) for g in gens])
    ro = rollout(model, env, state, unif, greedy=greedy)
    arrival = ro.final.arrival
    frame = pd.DataFrame({
        "seed": np.repeat(np.asarray(list(seeds)), len(T)),
        "T": np.tile(T.numpy(), len(seeds)),
        "arrival": arrival.flatten().numpy(),
        "reward": ro.reward.sum(-1).flatten().numpy().astype(float),
    })
    frame["error"] = np.where(frame.arrival > 0, frame.arrival - frame["T"], np.nan)
    return frame
