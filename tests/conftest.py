"""Settings for the whole suite.

Tests exercise tiny tensors, where torch's intra-op threads only add synchronisation: one
thread is faster and makes timings of parallel tests (two processes on two cores) sane.

Compiled kernels (``ProxSGD(fused=True)``) meet dozens of tensor shapes, dtypes and
structures in one test session, where a user meets a few: torch.compile's limit on graphs per
function (8 by default, beyond which it runs the function uncompiled) is raised so that every
test runs the compiled kernel.
"""

import torch

torch.set_num_threads(1)
torch._dynamo.config.recompile_limit = 256
