"""The package works on tensors: importing it must not import transformers (slow, and it
may reach for the network) or scikit-learn (slow; only the probes use it, when called)."""

import subprocess
import sys


def test_import_loads_neither_transformers_nor_sklearn():
    code = ("import sys, deepoptim.nlp; "
            "print(sorted({'transformers', 'sklearn'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
