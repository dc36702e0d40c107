"""Argument forms of the random constructors that PyTorch code uses."""

import pytest

import engine


def test_randint_high_size_positional():
    engine.manual_seed(0)
    a = engine.randint(10, (1000,))
    assert a.shape == (1000,) and a.dtype == engine.int64
    assert int(a.min()) == 0 and int(a.max()) == 9  # all of [0, 10) is reachable
    b = engine.randint(3, 5, (2, 500))
    assert b.shape == (2, 500) and set(b.unique().tolist()) == {3, 4}
    c = engine.randint(5, size=(4,), dtype=engine.int32)
    assert c.dtype == engine.int32 and c.shape == (4,)
    assert engine.randint(low=2, high=3, size=(3,)).tolist() == [2, 2, 2]
    assert engine.randint(7, engine.Size([2, 3])).shape == (2, 3)


def test_randint_errors():
    with pytest.raises(TypeError, match="size"):
        engine.randint(10)
    with pytest.raises(RuntimeError, match="from.*to"):
        engine.randint(5, 5, (2,))
