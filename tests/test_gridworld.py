"""The timed grid world and its agents (nalu.gridworld).

Equality kinds (tests/tolerances.py): (a) exact: positions, steps, arrival times, rewards (1, −1 and
−k/slack are computed the same way on every CPU), observations (one-hot codes and T / scale), the
same seeds giving the same bits, hand-set weights read back; (b) tolerances stated at each float
comparison of two computations (an accumulator's running sum against the closed form, GAE against
a hand computation).
"""

from functools import partial

import numpy as np
import pytest
import torch

from nalu import gridworld as gw
from tolerances import sum_rtol

STAY, UP, DOWN, LEFT, RIGHT = range(5)


def play(env, state, actions):
    """Apply a list of actions to a one-episode state; return the states and rewards."""
    states, rewards = [], []
    for a in actions:
        state, r = env.step(state, torch.tensor([a]))
        states.append(state)
        rewards.append(float(r[0]))
    return states, rewards


# --- the environment on hand-made trajectories ------------------------------------------------------

def test_arriving_exactly_at_T_earns_one():
    env = gw.TimedGridWorld(5)
    s = env.start([[0, 0]], [[0, 2]], [4])
    states, rewards = play(env, s, [STAY, STAY, RIGHT, RIGHT])
    assert [st.pos[0].tolist() for st in states] == [[0, 0], [0, 0], [0, 1], [0, 2]]
    assert rewards == [0.0, 0.0, 0.0, 1.0]
    assert bool(states[-1].done[0]) and int(states[-1].arrival[0]) == 4


def test_early_and_late_arrivals_are_penalised_by_their_distance_to_T():
    env = gw.TimedGridWorld(5)  # slack 8
    _, early = play(env, env.start([[0, 0]], [[0, 2]], [5]), [RIGHT, RIGHT])
    assert early[-1] == -3 / 8
    _, late = play(env, env.start([[0, 0]], [[0, 1]], [1]), [STAY, STAY, RIGHT])
    assert late[-1] == -2 / 8


def test_walls_keep_the_agent_on_the_grid():
    env = gw.TimedGridWorld(3)
    states, _ = play(env, env.start([[0, 0]], [[2, 2]], [9]), [UP, LEFT, DOWN, DOWN, DOWN, RIGHT])
    assert [st.pos[0].tolist() for st in states] == [[0, 0], [0, 0], [1, 0], [2, 0], [2, 0], [2, 1]]


def test_an_episode_times_out_after_T_plus_slack_steps_and_then_stays_put():
    env = gw.TimedGridWorld(4, slack=3)
    states, rewards = play(env, env.start([[0, 0]], [[3, 3]], [2]), [STAY] * 7)
    assert rewards == [0.0, 0.0, 0.0, 0.0, gw.TIMEOUT_REWARD, 0.0, 0.0]
    assert [bool(st.done[0]) for st in states] == [False] * 4 + [True] * 3
    assert int(states[-1].t[0]) == 5 and int(states[-1].arrival[0]) == 0


def test_the_reward_is_one_at_exactly_T_and_never_elsewhere():
    t = torch.arange(1, 60).repeat_interleave(30)
    T = torch.arange(1, 31).repeat(59)
    r = gw.arrival_reward(t, T, slack=8)
    assert torch.equal(r == 1, t == T)
    assert bool((r[t != T] < 0).all()) and bool((r >= -1).all())


def test_episodes_in_a_batch_are_independent():
    env = gw.TimedGridWorld(5)
    s = env.start([[0, 0], [4, 4]], [[0, 1], [4, 3]], [1, 2])
    s, r = env.step(s, torch.tensor([RIGHT, STAY]))
    assert r.tolist() == [1.0, 0.0] and s.done.tolist() == [True, False]
    s, r = env.step(s, torch.tensor([RIGHT, LEFT]))  # the first episode is over: no move, no reward
    assert r.tolist() == [0.0, 1.0] and s.pos.tolist() == [[0, 1], [4, 3]] and s.t.tolist() == [1, 2]


def test_observation_codes_the_displacement_and_shows_T_only_first():
    env = gw.TimedGridWorld(3, instruction_scale=4.0)  # displacements −2 … 2: width 5
    s = env.start([[0, 0]], [[2, 1]], [6])
    o = env.observe(s)[0]
    assert o.shape == (env.obs_dim,) == (11,)
    assert o[:5].tolist() == [0, 0, 0, 0, 1] and o[5:10].tolist() == [0, 0, 0, 1, 0] and float(o[10]) == 6 / 4
    s, _ = env.step(s, torch.tensor([DOWN]))
    assert float(env.observe(s)[0, 10]) == 0.0


def test_reset_makes_arriving_on_time_possible_and_is_deterministic_per_seed():
    env = gw.TimedGridWorld(5)
    T = torch.randint(1, 12, (500,), generator=torch.Generator().manual_seed(0))
    a = env.reset(T, gw.seed_generator(3, 1))
    b = env.reset(T, gw.seed_generator(3, 1))
    c = env.reset(T, gw.seed_generator(4, 1))
    d = (a.goal - a.pos).abs().sum(-1)
    assert bool((d >= 1).all()) and bool((d <= T).all())
    assert torch.equal(a.pos, b.pos) and torch.equal(a.goal, b.goal)
    assert not torch.equal(a.pos, c.pos)
    fixed = env.reset(T, gw.seed_generator(3, 1), goal=[2, 2])
    assert bool((fixed.goal == torch.tensor([2, 2])).all())


@pytest.mark.parametrize("T", [0, -3, 1.5])
def test_a_bad_instruction_is_rejected(T):
    env = gw.TimedGridWorld(5)
    with pytest.raises(ValueError, match="instruction T"):
        env.reset(torch.tensor([T]), gw.seed_generator(0, 0))
    with pytest.raises(ValueError, match="instruction T"):
        env.start([[0, 0]], [[0, 1]], torch.tensor([T]))


def test_bad_grids_goals_and_actions_are_rejected():
    with pytest.raises(ValueError, match="size"):
        gw.TimedGridWorld(1)  # no cell for a start apart from the goal
    with pytest.raises(ValueError, match="slack"):
        gw.TimedGridWorld(5, slack=0)
    env = gw.TimedGridWorld(3)
    with pytest.raises(ValueError, match="outside the 3×3 grid"):
        env.reset(torch.tensor([2]), gw.seed_generator(0, 0), goal=[3, 0])
    with pytest.raises(ValueError, match="outside"):
        env.start([[0, 0]], [[0, 5]], [2])
    with pytest.raises(ValueError, match="start on its goal"):
        env.start([[1, 1]], [[1, 1]], [2])
    s = env.start([[0, 0]], [[0, 1]], [2])
    with pytest.raises(ValueError, match="actions are 0"):
        env.step(s, torch.tensor([5]))


# --- agents and training ----------------------------------------------------------------------------

def test_a_hand_set_accumulator_holds_the_steps_left():
    env = gw.TimedGridWorld(5)
    agent = gw.TimingAgent(env.obs_dim, hidden=4, accumulator="nau", acc_dim=1)
    with torch.no_grad():
        agent.acc.W.copy_(torch.tensor([[1.0, -1 / env.instruction_scale]]))
    s = env.start([[0, 0]], [[4, 4]], [17])
    obs = env.observe(s)
    mem = agent.initial_state(obs)
    for k in range(1, 12):
        _, _, mem = agent(obs, mem)
        s, _ = env.step(s, torch.tensor([STAY]))
        obs = env.observe(s)
        # (b) k + 1 float32 terms summed in order: within 2(k+1)u of (T − k) / scale relative to their magnitude
        expected = (17 - k) / env.instruction_scale
        assert abs(float(mem[2].detach()[0, 0]) - expected) <= sum_rtol(k + 1) * (17 + k) / env.instruction_scale


def test_agent_arguments_are_checked():
    with pytest.raises(ValueError, match="accumulator"):
        gw.TimingAgent(11, accumulator="lstm")
    with pytest.raises(ValueError, match="instruction in its core"):
        gw.TimingAgent(11, instruction_to_core=False)
    with pytest.raises(ValueError, match="hidden"):
        gw.TimingAgent(11, hidden=0)


def test_core_without_instruction_sees_a_zero_channel():
    agent = gw.TimingAgent(5, hidden=3, accumulator="nac", instruction_to_core=False)
    obs = torch.tensor([[0.0, 1.0, 0.0, 1.0, 2.5]])
    h0 = agent(obs, agent.initial_state(obs))[2][0]
    h1 = agent(obs * torch.tensor([1.0, 1, 1, 1, 0]), agent.initial_state(obs))[2][0]
    assert torch.equal(h0, h1)


def test_gae_matches_a_hand_computation():
    r = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    v = torch.tensor([[0.5, 0.25, 0.75, 9.0]])
    alive = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # the episode ended at the third step
    g, lam = 0.5, 0.5
    d = [0 + g * 0.25 - 0.5, 0 + g * 0.75 - 0.25, 1 - 0.75]
    expected = [d[0] + g * lam * (d[1] + g * lam * d[2]), d[1] + g * lam * d[2], d[2], 0.0]
    # (b) a few float32 operations on numbers ≤ 1: within 2·4·u
    torch.testing.assert_close(gw.gae(r, v, alive, g, lam), torch.tensor([expected]), rtol=0, atol=sum_rtol(4))


def test_training_is_deterministic_per_seed_and_evaluation_reports_errors():
    env = gw.TimedGridWorld(4)
    factory = partial(gw.TimingAgent, env.obs_dim, 8, "nac")
    m1, log1 = gw.train_agents(factory, env, [0, 5], updates=3, envs_per_seed=8, t_range=(1, 4), log_every=1)
    m2, log2 = gw.train_agents(factory, env, [0, 5], updates=3, envs_per_seed=8, t_range=(1, 4), log_every=1)
    for (n, p1), (_, p2) in zip(m1.named_parameters(), m2.named_parameters()):
        assert torch.equal(p1, p2), n
    assert log1.equals(log2) and len(log1) == 6
    ev = gw.evaluate(m1, env, [0, 5], [1, 3, 7], episodes=4)
    assert len(ev) == 2 * 3 * 4 and set(ev["T"]) == {1, 3, 7}
    arrived = ev.arrival > 0
    assert np.array_equal(ev.error[arrived], (ev.arrival - ev["T"])[arrived]) and ev.error[~arrived].isna().all()
    assert np.array_equal(ev.reward[ev.error == 0], np.ones(int((ev.error == 0).sum())))
    assert ev.equals(gw.evaluate(m1, env, [0, 5], [1, 3, 7], episodes=4))


def test_training_arguments_are_checked():
    env = gw.TimedGridWorld(4)
    factory = partial(gw.TimingAgent, env.obs_dim, 8)
    with pytest.raises(ValueError, match="instruction T"):
        gw.train_agents(factory, env, [0], updates=1, t_range=(0, 4))
    with pytest.raises(ValueError, match="low ≤ high"):
        gw.train_agents(factory, env, [0], updates=1, t_range=(5, 4))
    with pytest.raises(ValueError, match="updates"):
        gw.train_agents(factory, env, [0], updates=0)
