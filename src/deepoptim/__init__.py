"""deepoptim: tested optimizers and curvature tools for deep networks.

The library behind the executable book: ``deepoptim.optim`` (optimizers),
``deepoptim.data`` and ``deepoptim.models`` (the book's offline problems),
``deepoptim.train`` (one training loop), ``deepoptim.experiment`` (profiles, devices,
seeds), ``deepoptim.plotting`` (one look for every figure) and ``deepoptim.book``
(the pipeline that executes the chapters and builds the HTML book).
"""

__version__ = "0.1.0"
