"""``engine.utils.data``: datasets, samplers and the DataLoader (PyTorch's semantics)."""

from .dataset import (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset,
                      random_split)
from .sampler import (Sampler, SequentialSampler, RandomSampler, BatchSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .dataloader import DataLoader, default_collate, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "DataLoader", "default_collate",
           "get_worker_info"]
