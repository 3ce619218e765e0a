"""The numpy MLP head (lingxi.nlu.mlp): learns, is deterministic, maps arbitrary labels."""

import numpy as np
import pytest

from lingxi.nlu.mlp import MLPClassifier, MLPEnsemble, _gelu, _gelu_grad


def _blobs(n_per_class: int = 40, classes: int = 4, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    x = np.vstack([c + rng.normal(size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    return x, y


def test_learns_separable_classes_and_generalises():
    x, y = _blobs()
    order = np.random.default_rng(2).permutation(len(y))
    train, test = order[:120], order[120:]
    clf = MLPClassifier(hidden=32, epochs=30, batch_size=16).fit(x[train], y[train])
    scores = clf.decision_function(x[test])
    assert scores.shape == (len(test), 4)
    assert (scores.argmax(1) == y[test]).mean() >= 0.95


def test_deterministic_for_a_seed_and_different_across_seeds():
    x, y = _blobs(n_per_class=10)
    a = MLPClassifier(hidden=16, epochs=3, seed=7).fit(x, y).decision_function(x)
    b = MLPClassifier(hidden=16, epochs=3, seed=7).fit(x, y).decision_function(x)
    c = MLPClassifier(hidden=16, epochs=3, seed=8).fit(x, y).decision_function(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_classes_are_the_sorted_labels_seen():
    x, y = _blobs(n_per_class=15, classes=3)
    labels = np.array([5, 9, 2])[y]
    clf = MLPClassifier(hidden=16, epochs=20, batch_size=8).fit(x, labels)
    assert list(clf.classes_) == [2, 5, 9]
    predicted = clf.classes_[clf.decision_function(x).argmax(1)]
    assert (predicted == labels).mean() >= 0.9


def test_gelu_gradient_matches_finite_differences():
    x = np.linspace(-4, 4, 41, dtype=np.float64)
    value, t = _gelu(x)
    eps = 1e-5
    numeric = (_gelu(x + eps)[0] - _gelu(x - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(_gelu_grad(x, t), numeric, atol=1e-6)
    assert value[20] == 0.0 and abs(value[-1] - 4.0) < 1e-3


def test_ensemble_averages_its_members_logits():
    x, y = _blobs(n_per_class=15, classes=3)
    labels = np.array([5, 9, 2])[y]
    ensemble = MLPEnsemble([MLPClassifier(hidden=16, epochs=5, seed=s) for s in (3, 4)]).fit(x, labels)
    alone = [MLPClassifier(hidden=16, epochs=5, seed=s).fit(x, labels) for s in (3, 4)]
    assert list(ensemble.classes_) == [2, 5, 9]
    expected = (alone[0].decision_function(x) + alone[1].decision_function(x)) / 2
    np.testing.assert_allclose(ensemble.decision_function(x), expected, rtol=1e-6)
    with pytest.raises(ValueError):
        MLPEnsemble([])
