"""deepoptim: tested optimizers and curvature tools for deep networks.

The library behind the executable book. Its parts, each a module or subpackage:

* ``deepoptim.optim``: ``torch.optim`` optimizers (the line searches SLS, AdamSLS, KenSLS, SaLSa,
  PLASLS and :class:`~deepoptim.optim.LineSearch` on any search direction; ProxSGD), the search
  directions they share and parameter groups (splits of a network, learning-rate distributions);
* ``deepoptim.prox``: proximal operators;
* ``deepoptim.curvature``: Hessian operators and products (differentiable too), Lanczos, spectral
  densities, trace and diagonal estimators, Kronecker factors and matrix inverses;
* ``deepoptim.landscape``: loss surfaces, directions, trajectories, barriers, sharpness;
* ``deepoptim.sparsity``: pruning, parameter counts, the cell search space;
* ``deepoptim.data`` and ``deepoptim.models``: the book's offline problems and networks;
* ``deepoptim.train``: one training loop for any task (classification, token batches, several
  players, an outer parameter);
* ``deepoptim.schedules``: per-step learning-rate schedules;
* ``deepoptim.experiment``: profiles, devices, seeds and summaries over seeds;
* ``deepoptim.registry``: the book's optimizers by name (class, defaults, colour, chapter);
* ``deepoptim.plotting``: one look for every figure;
* ``deepoptim.studies``: the chapters' experiment set-ups (imported by chapters only);
* ``deepoptim.claims``: a chapter's claims beside what it measured, recorded for the ledger;
* ``deepoptim.book`` and ``deepoptim.ledger``: the pipeline that executes the chapters and builds
  the HTML book, and the "Claims and verdicts" page it generates from the executed chapters.

Data flows one way: ``data`` and ``models`` know nothing of the optimizers; ``optim``,
``curvature`` and ``landscape`` know nothing of training, experiments or the book.
"""

__version__ = "0.1.0"
