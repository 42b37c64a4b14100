"""Is the model copying its training set? Nearest training images of generated samples.

Distances are L2 in the same Inception feature space the other metrics use. The panel puts each
generated sample next to its k nearest training images, so a user sees copies at a glance.
"""

from __future__ import annotations

import numpy as np
import torch

from sneakergan.images import make_grid, save_png


def nearest_neighbours(queries: np.ndarray, references: np.ndarray, k: int = 3,
                       chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(indices [Q, k], distances [Q, k]) of each query's k nearest references, in chunks."""
    refs = torch.from_numpy(np.asarray(references, dtype=np.float32))
    indices, distances = [], []
    for start in range(0, len(queries), chunk):
        block = torch.from_numpy(np.asarray(queries[start:start + chunk], dtype=np.float32))
        dist = torch.cdist(block, refs)
        values, index = dist.topk(min(k, len(refs)), dim=1, largest=False)
        indices.append(index.numpy())
        distances.append(values.numpy())
    return np.concatenate(indices), np.concatenate(distances)


def save_nearest_panel(fake_images: np.ndarray, fake_features: np.ndarray, real_images: np.ndarray,
                       real_features: np.ndarray, path, rows: int = 8, k: int = 3) -> dict:
    """One row per generated sample: the sample, then its k nearest training images."""
    rows = min(rows, len(fake_images))
    index, distance = nearest_neighbours(fake_features[:rows], real_features, k)
    tiles = []
    for row in range(rows):
        tiles.append(fake_images[row])
        tiles.extend(real_images[index[row]])
    scale = max(1, 112 // fake_images.shape[1])
    save_png(make_grid(np.stack(tiles), nrow=1 + index.shape[1]), path, scale=scale)
    return {"rows": rows, "k": int(index.shape[1]), "nearest_distance": distance[:, 0].round(3).tolist()}


def copy_statistics(fake_features: np.ndarray, real_features: np.ndarray, sample: int = 2000) -> dict:
    """Nearest-real distances of generated samples vs of real samples to other real samples.

    A generator that copies its data has generated-to-real distances far below the typical
    real-to-real spacing; `ratio` well under 1 is the warning sign.
    """
    rng = np.random.default_rng(0)
    fakes = fake_features[rng.permutation(len(fake_features))[:sample]]
    picks = rng.permutation(len(real_features))[:sample]
    _, fake_to_real = nearest_neighbours(fakes, real_features, 1)
    _, real_to_real = nearest_neighbours(real_features[picks], real_features, 2)  # [0] is itself
    fake_median = float(np.median(fake_to_real[:, 0]))
    real_median = float(np.median(real_to_real[:, 1]))
    return {"fake_to_real_median": fake_median, "real_to_real_median": real_median,
            "ratio": fake_median / real_median if real_median > 0 else float("nan")}
