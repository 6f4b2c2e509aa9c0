"""Settings for the whole suite.

Tests exercise tiny tensors, where torch's intra-op threads only add synchronisation: one
thread is faster and makes timings of parallel tests (two processes on two cores) sane.
"""

import torch

torch.set_num_threads(1)
