"""Random number generators: ``engine.manual_seed`` and ``engine.Generator``."""

from __future__ import annotations

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]


class Generator:
    """A seeded stream of random numbers (numpy's PCG64 on the CPU)."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from .ops.creation import tensor
        from ._dtype import uint8
        import json
        st = json.dumps(self.np.bit_generator.state).encode()
        return tensor(list(st), dtype=uint8)

    def set_state(self, state) -> "Generator":
        import json
        self.np.bit_generator.state = json.loads(bytes(state.tolist()).decode())
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed every generator the engine uses by default (CPU, and CUDA when loaded)."""
    default_generator.manual_seed(seed)
    import sys
    cuda = sys.modules.get("engine.cuda")
    if cuda is not None and getattr(cuda, "_initialized", False):
        cuda.manual_seed_all(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)
