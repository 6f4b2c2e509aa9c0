"""The tiny problem the studies' tests train on: a ring of four Gaussians, in two dimensions."""

from deepoptim import data


def ring(n_samples: int = 200) -> data.ClassificationData:
    return data.gaussian_mixture("ring", n_samples=n_samples, n_components=4, seed=0)


#: The MLP's size for the ring: two inputs, four classes.
RING_MODEL = {"in_features": 2, "num_classes": 4}
