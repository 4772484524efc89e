"""The meta-device output cache: repeats answered with the same layouts, views never cached."""

from __future__ import annotations

import torch

from torchscope.capture.meta_cache import MetaOutputCache

aten = torch.ops.aten


def test_a_repeated_functional_op_gets_fresh_tensors_of_the_same_layout() -> None:
    cache = MetaOutputCache()
    a = torch.empty(4, 8, device="meta")
    b = torch.empty(8, 3, device="meta").t().contiguous().t()  # a column-major operand
    first = cache.run(aten.mm.default, (a, b), {})
    again = cache.run(aten.mm.default, (torch.empty(4, 8, device="meta"), b), {})
    assert cache.hits == 1
    assert again is not first
    assert (again.shape, again.stride(), again.dtype) == (first.shape, first.stride(), first.dtype)
    assert again.untyped_storage().data_ptr() == 0 and again.is_meta


def test_layouts_and_arguments_are_part_of_the_key() -> None:
    cache = MetaOutputCache()
    x = torch.empty(2, 6, device="meta")
    s1 = cache.run(aten.sum.dim_IntList, (x, [1]), {})
    s0 = cache.run(aten.sum.dim_IntList, (x, [0]), {})
    half = cache.run(aten.sum.dim_IntList, (x.half(), [1]), {})
    assert cache.hits == 0
    assert (s1.shape, s0.shape, half.dtype) == ((2,), (6,), torch.float16)
    kept = cache.run(aten.sum.dim_IntList, (x, [1], True), {})
    assert kept.shape == (2, 1) and cache.hits == 0


def test_tuple_results_keep_their_kind() -> None:
    cache = MetaOutputCache()
    x = torch.empty(3, 5, device="meta")
    first = cache.run(aten.max.dim, (x, 1), {})
    again = cache.run(aten.max.dim, (x, 1), {})
    assert cache.hits == 1 and isinstance(again, tuple)
    assert [(t.shape, t.dtype) for t in again] == [(t.shape, t.dtype) for t in first]


def test_views_and_in_place_ops_always_run() -> None:
    cache = MetaOutputCache()
    x = torch.empty(4, 4, device="meta")
    for _ in range(2):
        view = cache.run(aten.view.default, (x, [16]), {})
        assert view.untyped_storage()._cdata == x.untyped_storage()._cdata  # still an alias
        same = cache.run(aten.add_.Tensor, (x, x), {})
        assert same is x
    assert cache.hits == 0


def test_tensors_off_meta_are_not_cached() -> None:
    cache = MetaOutputCache()
    x = torch.ones(2, 2)
    for _ in range(2):
        assert torch.equal(cache.run(aten.mul.Tensor, (x, x), {}), torch.ones(2, 2))
    assert cache.hits == 0
