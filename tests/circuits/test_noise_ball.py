"""The noise ball of exact thinning (:class:`circuits.readout.NoiseBall`) against plain draws.

References: the fraction of unconditioned standard normal draws that leave the region (its leave probability), and
those leaving draws themselves (rejection sampling: the law the conditioned draws must have).
"""

import dataclasses

import numpy as np
import pytest
from scipy.stats import ks_2samp

from circuits.readout import NoiseBall, Readout

DRAWS = 200_000
# Two of the three readouts a read can have: with the arm's phase drawn (3-D ball), and without (laser and drive
# noise off: 2-D)
WITH_PHASE = Readout()
WITHOUT_PHASE = dataclasses.replace(
    Readout(),
    laser=dataclasses.replace(Readout().laser, linewidth_khz=0.0, frequency_drift_mhz_rms=0.0),
    drive_noise_mv_rms=0.0,
)
# Radii and RIN bounds where both parts of the region are left often enough to compare laws: leaving the ball
# about 0.18 (3-D, r = 2.2) or 0.09 (2-D), the RIN bound 0.1
CASES = [(WITH_PHASE, 2.2, 1.645), (WITHOUT_PHASE, 2.2, 1.645), (WITH_PHASE, 1.0, np.inf), (WITH_PHASE, 0.0, 2.0)]


def plain_draws(readout: Readout, seed: int):
    """Unconditioned draws: the ball's coordinates (k, DRAWS) and the RIN draw (DRAWS,)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((NoiseBall.dimensions(readout), DRAWS)), rng.standard_normal(DRAWS)


def conditioned(readout: Readout, radius: float, rin_sigmas: float, seed: int):
    """Draws conditioned on leaving, as (k, DRAWS) ball coordinates and (DRAWS,) RIN, from :meth:`draws_outside`."""
    ball = NoiseBall(np.full(DRAWS, radius), rin_sigmas)
    draws = ball.draws_outside(readout, np.random.default_rng(seed), drive_sigma_rad=np.zeros(DRAWS), drift_hz=0.0)
    w = draws.pairs if draws.phase is None else np.concatenate([draws.phase[None], draws.pairs])
    return w, draws.rin


@pytest.mark.parametrize("readout, radius, rin_sigmas", CASES)
def test_the_leave_probability_is_how_often_plain_draws_leave(readout, radius, rin_sigmas):
    w, rin = plain_draws(readout, seed=1)
    left = (np.linalg.norm(w, axis=0) > radius) | (np.abs(rin) > rin_sigmas)
    p = float(NoiseBall(np.array(radius), rin_sigmas).leave_probability(readout))
    assert abs(left.mean() - p) <= 5 * np.sqrt(p * (1 - p) / DRAWS) + 1e-12, (left.mean(), p)


@pytest.mark.parametrize("readout, radius, rin_sigmas", CASES)
def test_draws_conditioned_on_leaving_have_the_law_of_plain_draws_that_leave(readout, radius, rin_sigmas):
    w, rin = conditioned(readout, radius, rin_sigmas, seed=2)
    length = np.linalg.norm(w, axis=0)
    assert np.all((length > radius) | (np.abs(rin) > rin_sigmas))  # every one leaves
    plain_w, plain_rin = plain_draws(readout, seed=3)
    left = (np.linalg.norm(plain_w, axis=0) > radius) | (np.abs(plain_rin) > rin_sigmas)
    assert left.sum() > 10_000
    # the radius, each coordinate and the RIN draw: the same law as the plain draws that left (two-sample KS)
    for got, want in [(length, np.linalg.norm(plain_w[:, left], axis=0)), (rin, plain_rin[left])] + [
        (w[i], plain_w[i, left]) for i in range(len(w))
    ]:
        assert ks_2samp(got, want).pvalue > 1e-4
    # the case split: how often the ball is left (rather than only the RIN bound) matches
    assert abs(np.mean(length > radius) - np.mean(np.linalg.norm(plain_w[:, left], axis=0) > radius)) < 0.01


def test_a_far_ball_is_left_rarely_and_its_draws_lie_in_the_chi_tail():
    """At a radius of 9 (3-D) the ball is left with probability 1.9e-17: no plain draw could test it, so the leave
    probability is checked against the closed form of a 3-D Gaussian's tail, erfc(r/sqrt(2)) +
    sqrt(2/pi) r exp(-r^2/2), and the conditioned radii against the chi distribution's tail past 9 (its median
    9.08)."""
    from scipy.special import erfc
    from scipy.stats import chi

    ball = NoiseBall(np.full(DRAWS, 9.0), np.inf)
    closed_form = erfc(9.0 / np.sqrt(2)) + np.sqrt(2 / np.pi) * 9.0 * np.exp(-(9.0**2) / 2)
    assert float(ball.leave_probability(WITH_PHASE)[0]) == pytest.approx(closed_form, rel=1e-12)
    draws = ball.draws_outside(WITH_PHASE, np.random.default_rng(4), drive_sigma_rad=np.zeros(DRAWS), drift_hz=0.0)
    length = np.linalg.norm(np.concatenate([draws.phase[None], draws.pairs]), axis=0)
    assert np.all(length > 9.0)
    tail_median = chi.isf(chi.sf(9.0, 3) / 2, 3)
    assert np.median(length) == pytest.approx(tail_median, rel=2e-3)


def test_conditioned_draws_need_the_runs_drift():
    ball = NoiseBall(np.ones(4), np.inf)
    with pytest.raises(ValueError, match="drift_hz"):
        ball.draws_outside(WITH_PHASE, np.random.default_rng(0), drive_sigma_rad=np.zeros(4), drift_hz=None)
