"""Runs the tape backward: the nodes reachable from the roots, newest first."""

from __future__ import annotations

import heapq
import traceback

from . import graph
from .grad_mode import set_grad_enabled, is_grad_enabled
from .graph import AccumulateGrad, grad_edge

__all__ = ["run_backward"]


def _collect(roots):
    """Dependency counts of every node reachable from ``roots``."""
    deps: dict = {}
    seen = set()
    stack = [n for n in roots if n is not None]
    for n in stack:
        seen.add(n)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _needed(seen, targets):
    """Nodes from which some target node can be reached (prunes ``autograd.grad`` work)."""
    need = {}

    def visit(node):
        if node in need:
            return need[node]
        need[node] = False
        r = node in targets or any(visit(n) for n, _ in node.next_functions if n is not None)
        need[node] = r
        return r

    for n in seen:
        visit(n)
    return need


def _zeros_for(meta):
    from .. import zeros
    shape, dtype, device = meta
    return zeros(shape, dtype=dtype, device=device)


def _accumulate(buf, nr, g):
    cur = buf[nr]
    buf[nr] = g if cur is None else cur + g


def _store_leaf_grad(t, g, create_graph, handed):
    if t._post_acc_hooks is None and t._hooks:
        pass
    for hook in t._hooks or ():
        r = hook(g)
        if r is not None:
            g = r
    if t.grad is None:
        if create_graph:
            t.grad = g
        else:
            # own the gradient: it may be a broadcast view or handed to another leaf too
            if id(g) in handed or g._base is not None or not g.is_contiguous() \
                    or g._shape != t._shape:
                g = g.detach().clone().reshape(t._shape)
            else:
                g = g.detach()
            handed.add(id(g))
            t.grad = g
    elif create_graph:
        t.grad = t.grad + g
    else:
        with set_grad_enabled(False):
            t.grad.add_(g)
    for hook in t._post_acc_hooks or ():
        hook(t)


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 accumulate=True, allow_unused=False):
    """Core of ``Tensor.backward`` and ``autograd.grad``. Returns the grads of ``inputs``
    when ``accumulate`` is False (autograd.grad), else None."""
    root_edges = [grad_edge(t) for t in tensors]
    buffers: dict = {}
    handed = set()
    for (node, nr), g in zip(root_edges, grad_tensors):
        if node is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        buf = buffers.setdefault(node, [None] * len(node.out_meta))
        _accumulate(buf, nr, g)
        handed.add(id(g))
    roots = [e[0] for e in root_edges]
    deps, seen = _collect(roots)

    capture = None
    need = None
    if inputs is not None:
        capture = {}
        targets = set()
        for i, t in enumerate(inputs):
            edge = grad_edge(t)
            if edge[0] is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture.setdefault(edge, []).append(i)
            targets.add(edge[0])
        need = _needed(seen, targets)
    results = [None] * (len(inputs) if inputs is not None else 0)

    heap = [(-n.seq, id(n), n) for n in set(roots)]
    heapq.heapify(heap)
    queued = set(roots)
    with set_grad_enabled(create_graph):
        while heap:
            _, _, node = heapq.heappop(heap)
            grads = buffers.pop(node, None)
            if grads is None:
                grads = [None] * len(node.out_meta)
            out = _run_node(node, grads, capture, results, need, accumulate, create_graph,
                            handed, retain_graph)
            for (nxt, nr), g in zip(node.next_functions, out):
                if nxt is None:
                    continue
                if g is not None:
                    want = nxt.out_meta[nr][1]
                    if g._dtype is not want:  # as PyTorch: a grad takes its input's dtype
                        g = g.to(want)
                    buf = buffers.setdefault(nxt, [None] * len(nxt.out_meta))
                    _accumulate(buf, nr, g)
                deps[nxt] -= 1
                if deps[nxt] == 0 and nxt not in queued:
                    queued.add(nxt)
                    heapq.heappush(heap, (-nxt.seq, id(nxt), nxt))
    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
        return results
    return None


def _run_node(node, grads, capture, results, need, accumulate, create_graph, handed,
              retain_graph):
    if node.pre_hooks:
        for nr, hooks in node.pre_hooks.items():
            if nr < 0:
                continue
            for h in hooks:
                if grads[nr] is not None:
                    r = h(grads[nr])
                    if r is not None:
                        grads[nr] = r
    if node.retain_hooks:
        for nr, ref in node.retain_hooks.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if create_graph else grads[nr].detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
    if capture is not None:
        for nr in range(len(grads)):
            idxs = capture.get((node, nr))
            if idxs and grads[nr] is not None:
                for i in idxs:
                    results[i] = grads[nr] if results[i] is None else results[i] + grads[nr]
                    if accumulate and not isinstance(node, AccumulateGrad):
                        pass
    if isinstance(node, AccumulateGrad):
        g = grads[0]
        v = node.variable  # None when the leaf was freed: nobody can read its grad
        if g is not None and v is not None and accumulate and (
                capture is None or (node, 0) in capture):
            _store_leaf_grad(v, g, create_graph, handed)
        return ()
    if need is not None and not need.get(node, False):
        return [None] * len(node.next_functions)
    if all(g is None for g in grads):
        return [None] * len(node.next_functions)
    if getattr(node.ctx, "materialize_grads", True):  # False: custom Function wants None
        grads = [g if g is not None else _zeros_for(m) for g, m in zip(grads, node.out_meta)]
    out = node.apply(grads)
    if not isinstance(out, (tuple, list)):
        out = (out,)
    if graph.anomaly["enabled"]:
        _check_anomaly(node, out)
    if node.post_hooks:
        for h in node.post_hooks:
            r = h(tuple(out), tuple(grads))
            if r is not None:
                out = r
    if not retain_graph:
        node.release()
    return out


def _check_anomaly(node, out):
    from .. import isnan
    for i, g in enumerate(out):
        if g is not None and bool(isnan(g).any()):
            where = ""
            if node.trace:
                where = "\nForward call that created it:\n" + "".join(traceback.format_list(node.trace))
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.{where}")
