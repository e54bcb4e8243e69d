"""The order of `model.layers` in a Keras 3 Functional model, which numbers the layers' groups
in model.weights.h5 (dense, dense_1, ...): a port of keras.src.ops.function.map_graph (a
depth-first walk from the outputs, then layers by decreasing depth, ties in walk order).
Iterative, so a deep crafted graph cannot overflow the stack."""

from __future__ import annotations


def keras_layer_order(parents, inputs, outputs) -> list:
    """parents: {(layer, call index): [(layer, call index) of each input tensor, in Keras's
    flattening order (args, then kwargs by key)]}; inputs, outputs: lists of such keys.
    Returns the layer names in Keras's `model.layers` order."""
    input_set = set(inputs)
    finished, in_progress, ordered, indices = set(), set(), [], {}
    for out in outputs:
        if out in finished:
            continue
        stack = [(out, None)]
        while stack:
            node, pending = stack.pop()
            if pending is None:  # first visit (the recursive helper's entry)
                if node in finished:
                    continue
                if node in in_progress:
                    raise ValueError(f"the layer graph has a cycle through {node[0]!r}")
                indices.setdefault(node[0], len(indices))
                in_progress.add(node)
                pending = [] if node in input_set else list(parents.get(node, ()))
                pending.reverse()
            if pending:
                child = pending.pop()
                stack.append((node, pending))
                stack.append((child, None))
                continue
            finished.add(node)
            in_progress.discard(node)
            ordered.append(node)
    in_graph = set(ordered)
    node_depth, op_depth = {}, {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(node, 0)
        depth = max(depth, op_depth.get(node[0], 0))
        op_depth[node[0]] = depth
        node_depth[node] = depth
        if node in input_set:
            continue
        for parent in parents.get(node, ()):
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for node in inputs:  # inputs no output depends on
        if node[0] not in op_depth:
            op_depth[node[0]] = 0
            indices[node[0]] = -1
    by_depth = {}
    for op, depth in op_depth.items():
        by_depth.setdefault(depth, []).append(op)
    order = []
    for depth in sorted(by_depth, reverse=True):
        order.extend(sorted(by_depth[depth], key=lambda op: indices[op]))
    return order
