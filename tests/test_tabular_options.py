"""The MLP's tabular options and recipe: periodic embeddings, TabM-style ensembles, label
smoothing (sktune/nn/_tabular.py, sktune/_mlp.py, sktune/_recipes.py), the tabular
search space (model_selection/_search_space.py) and the CLI's robust scaling
(sktune/_tabular.py)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn import model_selection as sk
from sklearn.datasets import make_classification, make_regression

from sktune import MLPClassifier, MLPRegressor, search_space, tabular_mlp
from sktune._tabular import CLIP, robust_scaling, smooth_clip
from sktune.engine import SampleLoss
from sktune.model_selection import GridSearchCV
from sktune.nn import MLPModule, PeriodicEmbedding, TabularMLPModule

X, Y = make_classification(n_samples=120, n_features=5, n_informative=3, n_classes=3,
                           random_state=0)
X_R, Y_R = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
NET = dict(hidden_layer_sizes=(16,), max_iter=5, batch_size=32, random_state=0,
           device="cpu", learning_rate_init=0.01)


@pytest.mark.parametrize("link, mean", [
    ("softmax", lambda o: torch.softmax(o, -1).mean(1)),
    ("sigmoid", lambda o: torch.sigmoid(o).mean(1)),
    ("identity", lambda o: o.mean(1)),
    ("exp", lambda o: o.exp().mean(1)),
])
def test_an_ensemble_predicts_the_mean_of_its_members_predictions(link, mean):
    torch.manual_seed(0)
    net = TabularMLPModule(4, (8,), 3, n_ensemble=5, link=link, dropout=0.0)
    x = torch.randn(7, 4)
    members = net.train()(x)
    assert members.shape == (7, 5, 3)
    out = net.eval()(x)
    back = {"softmax": lambda o: torch.softmax(o, -1), "sigmoid": torch.sigmoid,
            "identity": lambda o: o, "exp": torch.exp}[link](out)
    torch.testing.assert_close(back, mean(members))


def test_members_differ_and_share_the_hidden_layers():
    net = TabularMLPModule(4, (8, 8), 2, n_ensemble=4)
    assert len(net.heads) == 4 and net.adapters.shape == (4, 4)
    assert set(net.adapters.detach().unique().tolist()) <= {-1.0, 1.0}
    assert len([m for m in net.body if isinstance(m, torch.nn.Linear)]) == 2


def test_periodic_embedding_is_a_learned_function_of_each_feature_alone():
    emb = PeriodicEmbedding(3, n_frequencies=4, d_embedding=5)
    x = torch.randn(6, 3)
    out = emb(x)
    assert out.shape == (6, 15)
    x2 = x.clone()
    x2[:, 1] += 1.0  # only feature 1's block changes
    changed = (emb(x2) - out).abs().view(6, 3, 5).sum((0, 2)) > 0
    assert changed.tolist() == [False, True, False]
    out.sum().backward()
    assert emb.frequencies.grad is not None and emb.frequencies.grad.abs().sum() > 0


def test_a_3d_output_is_trained_on_the_mean_of_the_members_losses():
    out = torch.randn(6, 4, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    loss = SampleLoss("log_loss")
    expected = torch.stack([F.cross_entropy(out[:, k], y, reduction="none")
                            for k in range(4)], 1).mean(1)
    torch.testing.assert_close(loss.per_sample(out, y), expected)
    torch.testing.assert_close(loss(out, y), expected.mean())
    reg = SampleLoss("squared_error")
    target = torch.randn(6, 2)
    members = torch.randn(6, 4, 2)
    torch.testing.assert_close(reg.per_sample(members, target),
                               0.5 * (members - target[:, None]).square().mean((1, 2)))


def test_label_smoothing_mixes_the_targets_with_the_uniform_distribution():
    out = torch.tensor([[8.0, -8.0, -8.0]])
    y = torch.tensor([0])
    smooth = SampleLoss("log_loss", label_smoothing=0.3)
    target = torch.tensor([[0.8, 0.1, 0.1]])  # 1 - 0.3 + 0.3/3, 0.3/3, 0.3/3
    torch.testing.assert_close(smooth(out, y),
                               -(target * torch.log_softmax(out, -1)).sum(1).mean())
    assert smooth(out, y) > SampleLoss("log_loss")(out, y)
    binary = SampleLoss("binary_log_loss", label_smoothing=0.2)
    torch.testing.assert_close(
        binary(torch.tensor([[3.0]]), torch.tensor([[1.0]])),
        F.binary_cross_entropy_with_logits(torch.tensor([[3.0]]), torch.tensor([[0.9]])))


def test_scikit_learn_defaults_are_unchanged():
    params = MLPClassifier().get_params()
    assert params["numeric_embedding"] is None and params["n_ensemble"] == 1
    assert params["label_smoothing"] == 0.0
    assert isinstance(MLPClassifier(**NET).fit(X, Y).net_.module_, MLPModule)


def test_zero_one_features_pass_the_periodic_embedding_as_they_are():
    flags = np.c_[X[:, 0] > 0, X[:, 1] > 0.5].astype(float)  # one-hot columns, flags
    Xf = np.c_[X[:, :3], flags, X[:, 3:]]
    clf = MLPClassifier(**{**NET, "max_iter": 30}, numeric_embedding="periodic").fit(Xf, Y)
    numeric = [j for j in range(Xf.shape[1]) if j not in (3, 4)]
    np.testing.assert_array_equal(clf.embedded_features_, numeric)
    first = clf.net_.module_.body[0]
    assert first.in_features == 16 * len(numeric) + 2  # 16 outputs per embedded feature
    assert clf.score(Xf, Y) > 0.8
    # the flags reach the network: changing them changes the predictions
    flipped = Xf.copy()
    flipped[:, 3:5] = 1 - flipped[:, 3:5]
    assert not np.allclose(clf.predict_proba(Xf), clf.predict_proba(flipped))
    # sparse input is read the same way; a table of flags alone is not embedded
    sparse_fit = MLPClassifier(**NET, numeric_embedding="periodic").fit(
        sp.csr_matrix(Xf), Y)
    np.testing.assert_array_equal(sparse_fit.embedded_features_, numeric)
    only_flags = MLPClassifier(**NET, numeric_embedding="periodic").fit(flags, Y)
    assert only_flags.embedded_features_.size == 0
    assert only_flags.net_.module_.embedding is None
    assert not hasattr(MLPClassifier(**NET).fit(Xf, Y), "embedded_features_")


def test_label_smoothing_makes_probabilities_less_extreme():
    Xs, ys = make_classification(n_samples=200, n_features=4, class_sep=3.0,
                                 random_state=0)
    kw = {**NET, "max_iter": 60}
    sharp = MLPClassifier(**kw).fit(Xs, ys).predict_proba(Xs).max(1)
    smooth = MLPClassifier(label_smoothing=0.2, **kw).fit(Xs, ys).predict_proba(Xs).max(1)
    assert sharp.mean() > 0.99 > smooth.max()  # at 0.2, a certain row aims at 0.9


@pytest.mark.parametrize("options", [{"numeric_embedding": "periodic"}, {"n_ensemble": 4},
                                     {"numeric_embedding": "periodic", "n_ensemble": 3}])
def test_options_build_the_tabular_module_and_learn(options):
    clf = MLPClassifier(**{**NET, "max_iter": 30}, **options).fit(X, Y)
    assert isinstance(clf.net_.module_, TabularMLPModule)
    assert clf.score(X, Y) > 0.8
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    binary = MLPClassifier(**NET, **options).fit(X, Y == 0)
    assert binary.predict_proba(X).shape == (len(X), 2)
    reg = MLPRegressor(**{**NET, "max_iter": 30}, **options).fit(X_R, Y_R / 100)
    assert reg.score(X_R, Y_R / 100) > 0.5
    poisson = MLPRegressor(loss="poisson", **NET, **options).fit(X_R, np.abs(Y_R) / 100)
    assert (poisson.predict(X_R) > 0).all()


def test_the_options_are_searchable_and_match_scikit_learns_search():
    grid = {"n_ensemble": [1, 3], "numeric_embedding": [None, "periodic"]}
    ours = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    theirs = sk.GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"])


def test_tabular_recipe_and_its_search_space_sized_to_the_budget():
    clf, reg = tabular_mlp(), tabular_mlp("regression")
    assert clf.early_stopping and clf.label_smoothing == 0.1
    # numbers enter embedded (as RealMLP's and TabM's defaults), the network in float32
    assert clf.numeric_embedding == reg.numeric_embedding == "periodic"
    assert clf.dtype == "float32"
    fitted = tabular_mlp(max_iter=3, random_state=0).fit(X, Y)
    assert isinstance(fitted.net_.module_, TabularMLPModule)
    assert next(fitted.net_.module_.parameters()).dtype == torch.float32
    assert isinstance(reg, MLPRegressor) and reg.early_stopping
    with pytest.raises(ValueError, match="task"):
        tabular_mlp("ranking")
    full = search_space(clf, recipe="tabular")
    assert {"numeric_embedding", "label_smoothing", "n_ensemble", "batch_size",
            "hidden_layer_sizes", "learning_rate_init"} <= set(full)
    # 12 candidates: groups of at least 6 leave room for one structural choice of two
    small = search_space(clf, recipe="tabular", n_iter=12)
    assert small["numeric_embedding"] == [None, "periodic"]
    assert not {"label_smoothing", "hidden_layer_sizes", "batch_size", "n_ensemble"} & \
        set(small)
    assert {"numeric_embedding", "label_smoothing"} <= set(
        search_space(clf, recipe="tabular", n_iter=24))
    assert "label_smoothing" not in search_space(reg, recipe="tabular")
    assert search_space(clf, recipe="tabular", n_samples=100)["batch_size"] == [32]
    with pytest.raises(ValueError, match="recipe"):
        search_space(clf, recipe="images")


def test_robust_scaling_clips_outliers_smoothly():
    column = np.r_[np.random.default_rng(0).normal(size=99), 1e6].reshape(-1, 1)
    out = robust_scaling().fit_transform(column)
    assert np.abs(out).max() < CLIP and out[-1, 0] > 0.99 * CLIP
    # the median and quartiles set the scale: the outlier does not squash the others
    assert 0.5 < out[:-1].std() < 1.5
    np.testing.assert_allclose(smooth_clip(np.array([[0.01]])), [[0.01]], rtol=1e-4)
