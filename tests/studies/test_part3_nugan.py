"""The NuGAN chapter's verdicts on made-up values (both ways, ties, NaN) and its run."""

import math

import pytest

from deepoptim import data
from deepoptim.gan import NuGAN
from deepoptim.studies import coverage_verdict, factor_phrase, sharpness_verdict, train_gan


@pytest.mark.parametrize("nugan, plain, verdict", [
    ([8, 8], [5, 6], "agrees"),
    ([7, 8], [5, 6], "partly"),
    ([5, 6], [5, 6], "disagrees"),
    ([4, 4], [7, 8], "disagrees"),
    ([8, 8], [8, 8], "untested: the plain GAN did not collapse either"),
    ([8], [8], "untested: the plain GAN did not collapse either"),
    ([0, 0], [0, 0], "untested: neither method covered a mode in this run's steps"),
])
def test_coverage_verdict(nugan, plain, verdict):
    sentence, words = coverage_verdict(nugan, plain, 8)
    assert words == verdict
    assert f"{sum(nugan) / len(nugan):.1f} of 8" in sentence


def test_coverage_verdict_missing():
    assert coverage_verdict([math.nan], [8], 8)[1] == "not measured"
    assert coverage_verdict([], [8], 8)[1] == "not measured"
    with pytest.raises(ValueError, match="total"):
        coverage_verdict([1], [1], 0)


@pytest.mark.parametrize("rho, verdict, words", [
    (-0.8, "agrees", "cover fewer modes"),
    (0.7, "disagrees", "cover more modes"),
    (0.0, "disagrees", "no clear relation"),
    (-0.5, "agrees", "fewer"),
    (math.nan, "not measured", "no rank correlation"),
])
def test_sharpness_verdict(rho, verdict, words):
    sentence, result = sharpness_verdict(rho, 8)
    assert result == verdict and words in sentence


def test_sharpness_verdict_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        sharpness_verdict(0.1, 4, threshold=0.0)


@pytest.mark.parametrize("ratio, words", [
    (12.0, "12 times as large as the plain GAN's"),
    (1 / 3.5, "3.5 times smaller than the plain GAN's"),
    (203.4, "203 times as large as the plain GAN's"),
    (1.05, "about the same as the plain GAN's"),
    (math.nan, "not measured against the plain GAN's"),
])
def test_factor_phrase(ratio, words):
    assert factor_phrase(ratio, "the plain GAN's") == words


def test_factor_phrase_rejects_non_positive():
    with pytest.raises(ValueError, match="ratio"):
        factor_phrase(0.0, "x")


def test_train_gan_records_sharpness_samples_and_spectra():
    run = train_gan(data.ring8(), seed=0, steps=6, eval_every=3, spectra_at=(0, 6),
                    regularizer=NuGAN(every=3, noise_size=32, max_steps=5),
                    latent_dim=2, hidden=(8,), batch_size=16, probe_size=16, slq_probes=2,
                    slq_steps=4)
    assert run.sharpness["step"].tolist() == [0, 3, 6]
    assert sorted(run.samples) == [0, 3, 6] and run.samples[6].shape == (2500, 2)
    assert sorted(run.spectra) == [0, 6]
    assert set(run.spectra[6]) == {"generator", "discriminator"}
    assert run.history.evals_frame()["step"].tolist() == [0, 3, 6]
    assert "lambda_max" in run.history.steps_frame()
