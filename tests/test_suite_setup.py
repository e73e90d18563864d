"""The test suite's own setup: what keeps it inside CI's time on two busy cores."""

import pytest


@pytest.mark.xdist_group("loky")
def test_xdist_groups_reach_the_scheduler(request):
    """Tests marked ``xdist_group`` share one test process (one Dask cluster, one loky
    pool). pytest-xdist passes the group to its scheduler as a suffix of the node id; with
    node ids it cannot rewrite (pytest 9.2, pytest-dev/pytest-xdist#1386) the marks are
    silently ignored and every test process starts its own cluster and pool."""
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("runs under the suite's own options (-n auto --dist loadgroup)")
    assert request.node.nodeid.endswith("@loky"), (
        f"{request.node.nodeid!r}: xdist_group is ignored by this pytest/pytest-xdist pair;"
        " use the versions pinned in requirements-ci.txt")
