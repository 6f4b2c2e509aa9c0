"""One training loop for every chapter and task.

:func:`fit` trains a model on a :class:`Task` with any ``torch.optim.Optimizer`` (ours or
PyTorch's), always through closures, so optimizers that re-evaluate the loss (line
searches) and those that do not share one code path. A task gives the loop its seeded
batches (a tensor, a tuple or a dict of tensors, e.g. token ids and attention masks), the
loss of a model on a batch, the evaluation of a model as named metrics, how a batch moves
to the model's device, and one training step; its default step is one closure-driven
optimizer step on the loss. A task that overrides the step can drive several optimizers
(a GAN's discriminator and generator, given to :func:`fit` as a dict by name), modify a
gradient before its optimizer uses it (``closure_of(..., after_backward=...)``), or move
an outer parameter (a homotopy's lambda) between steps; every value its step returns is
recorded. The run is recorded in a :class:`History`: per step the loss(es), the learning
rate(s), the wall time, the extra records and the diagnostics the optimizers keep in
``optimizer.state[deepoptim.optim.DIAGNOSTICS]`` (see :func:`optimizer_diagnostics`); per
evaluation the task's metrics. A run can be resumed from a checkpoint and its history.

:func:`train` is the book's classification run: :func:`fit` on a
:class:`ClassificationTask` of a :class:`~deepoptim.data.ClassificationData`, evaluated by
the loss and accuracy on the whole training and test sets; :class:`TokenClassificationTask`
is the same for tokenised text (:meth:`~deepoptim.data.TextClassificationData.tokenize`), the
model called as ``model(input_ids, attention_mask)``.

:class:`EWC` (elastic weight consolidation) is the forgetting baseline of sequential tasks:
a penalty anchored at the end of one task, weighted by its :func:`empirical_fisher`, added to
the next task's loss.

:func:`minimize` is the same idea for a toy objective of one parameter tensor (a
quadratic, Rosenbrock): it returns the trajectory, so chapters can compare with the known
optimum.

Closures follow the package convention (``deepoptim.optim._base``): with grad mode
enabled they zero the gradients, back-propagate and return the loss; with grad mode
disabled they only return the loss.
"""

from .closures import closure_of, make_closure, optimizer_step
from .ewc import EWC, empirical_fisher
from .history import History, optimizer_diagnostics
from .loop import fit, train
from .minimize import minimize
from .tasks import ClassificationTask, Task, TokenClassificationTask, evaluate, minibatches

__all__ = [
    "ClassificationTask",
    "EWC",
    "History",
    "Task",
    "TokenClassificationTask",
    "closure_of",
    "empirical_fisher",
    "evaluate",
    "fit",
    "make_closure",
    "minibatches",
    "minimize",
    "optimizer_diagnostics",
    "optimizer_step",
    "train",
]
