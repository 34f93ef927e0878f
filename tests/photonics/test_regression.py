"""Every model at 1.53, 1.55 and 1.57 um against stored arrays."""

import json

import numpy as np
import pytest

from tests.helpers import OPTICAL
from tests.photonics.regression_cases import CASES, DATA, WAVELENGTHS_UM, compute

STORED = json.loads(DATA.read_text())


def test_every_optical_model_has_a_stored_case():
    assert set(CASES) == set(OPTICAL)
    assert STORED["wavelengths_um"] == WAVELENGTHS_UM


@pytest.fixture(scope="module")
def computed():
    return compute()


@pytest.mark.parametrize("case", sorted(STORED["cases"]))
def test_model_matches_stored_arrays(case, computed):
    now = computed[case]
    stored = STORED["cases"][case]
    assert now["settings"] == stored["settings"]
    assert set(now["s"]) == set(stored["s"])
    for pair, values in stored["s"].items():
        np.testing.assert_allclose(np.array(now["s"][pair]), np.array(values), atol=1e-12, err_msg=f"{case} {pair}")
