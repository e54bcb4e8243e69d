"""A Keras 3 config.json, checked field by field and translated into seqattn's own
architecture config (saving/config.py), which the `.seqattn` builder then replays with its own
checks. Only classes seqattn has are accepted; Lambda layers, custom classes, serialized
functions and every other kind of code are refused by name, and nothing is ever imported or
evaluated."""

from __future__ import annotations

import heapq

from ... import archive
from ... import layers as layers_mod
from ..checks import _MAX_LAYERS, _is_int, _join
from .layer_maps import _HUB, _KERAS, ONE_ELEMENT, tolerated

# A constructor call per class, only to learn the config keys seqattn's class takes.
_SAMPLE_ARGS = {"Dense": (1,), "Conv1D": (1, 1), "Embedding": (1, 1),
                "TokenAndPositionEmbedding": (1, 1, 1), "PositionEmbedding": (1,),
                "MultiHeadAttention": (1, 1), "TransformerEncoder": (1, 1),
                "TransformerDecoder": (1, 1), "Activation": ("relu",), "Reshape": ((1,),),
                "Permute": ((1,),), "RepeatVector": (1,), "Dropout": (0.0,)}
_KEYS: dict = {}


def _config_keys(cls_name):
    if cls_name not in _KEYS:
        cls = getattr(layers_mod, cls_name)
        _KEYS[cls_name] = set(cls(*_SAMPLE_ARGS.get(cls_name, ())).get_config())
    return _KEYS[cls_name]


# What a Keras config holds where code would be: a serialized lambda or Python function.
_CODE_CLASSES = ("__lambda__", "function", "__function__", "Lambda", "TFOpLambda")


_HUB_NAMES = tuple(f"keras_hub>{name}" for name in _HUB)


def _refuse_code(reader, field, value):
    """Any serialized function or lambda anywhere in a layer config (an activation, an
    initializer) is code; seqattn reads data only."""
    stack = [(field, value)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, dict):
            registered = value.get("registered_name")
            custom = registered not in (None, value.get("class_name"), *_HUB_NAMES)
            if value.get("class_name") in _CODE_CLASSES or "code" in value or custom:
                reader.fail(field, f"holds {_describe(value)}: a Keras file's code (lambdas, "
                                   "functions, custom objects) is never loaded by seqattn")
            stack.extend((_join(field, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((_join(field, i), v) for i, v in enumerate(value))


def _describe(value):
    return (f"class_name {archive.brief(value.get('class_name'))}, registered_name "
            f"{archive.brief(value.get('registered_name'))}")


def translate(reader, config) -> dict:
    """config.json (already checked by reader.tree) -> seqattn's model config."""
    reader.object("", config)
    kind = reader.get("", config, "class_name")
    reader.require("class_name", kind, kind in ("Functional", "Sequential", "Model"),
                   "'Functional' or 'Sequential' (a subclassed Keras model is Python code, "
                   "which seqattn never loads)")
    body = reader.object("config", reader.get("", config, "config"))
    name = body.get("name")
    if name is not None:
        reader.string("config.name", name)
    entries = reader.list("config.layers", reader.get("config", body, "layers"))
    if len(entries) > _MAX_LAYERS:
        reader.fail("config.layers", f"holds {len(entries):,} layers; seqattn reads at most "
                                     f"{_MAX_LAYERS:,}")
    if kind == "Sequential":
        return _sequential(reader, config, body, entries, name)
    return _functional(reader, body, entries, name)


def _class(reader, field, entry):
    """The seqattn class name a Keras layer entry names, checked against module and
    registered_name so that a custom class cannot borrow a built-in name."""
    reader.object(field, entry)
    cls = reader.get(field, entry, "class_name")
    registered = entry.get("registered_name")
    module = entry.get("module")
    if cls in ("Lambda", "TFOpLambda"):
        reader.fail(_join(field, "class_name"), f"is {cls}: a Lambda layer holds Python code, "
                    "which seqattn never loads; rebuild the model without it")
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        reader.fail(field, f"is the Keras op {archive.brief(cls)} (module {archive.brief(module)}"
                    "), an operation on Keras tensors such as `x + y`; seqattn reads layers "
                    "only: build the model with the layer (layers.Add, ...)")
    keras_layer = (cls in _KERAS + ("InputLayer",) and registered in (None, cls)
                   and isinstance(module, str)
                   and (module == "keras.layers" or module.startswith("keras.src.layers")))
    hub_layer = cls in _HUB and registered == f"keras_hub>{cls}"
    if not (keras_layer or hub_layer):
        reader.fail(field, f"is the layer class {archive.brief(cls)} (module "
                    f"{archive.brief(module)}, registered_name {archive.brief(registered)}), "
                    "which seqattn does not have; seqattn reads the Keras layers "
                    + ", ".join(sorted(_KERAS)) + " and keras-hub's " + ", ".join(_HUB)
                    + " (custom classes are code, never loaded)")
    return cls


def _layer_config(reader, field, cls, config):
    config = dict(reader.object(field, config))
    _refuse_code(reader, field, config)
    keys = _config_keys(cls)
    for key in list(config):
        if key in keys and key not in ("dtype", "trainable"):
            continue
        if not tolerated(key, config[key]):
            reader.fail(_join(field, key), f"is {archive.brief(config[key])}: seqattn's {cls} "
                        "has no such option (it reads the Keras default only)")
        del config[key]
    for key in ONE_ELEMENT.get(cls, ()):
        value = config.get(key)
        if isinstance(value, list):
            reader.require(_join(field, key), value, len(value) == 1, "one integer (a 1-D layer)")
            config[key] = value[0]
    for key, value in config.items():  # Keras 3.x writes axes the initializers ignore
        if isinstance(value, dict) and isinstance(value.get("config"), dict):
            inner = value["config"]
            value = dict(value, config={k: v for k, v in inner.items()
                                        if not (k in ("input_axes", "output_axes") and v is None)})
            config[key] = value
    return config


def _input(reader, field, config):
    config = reader.object(field, config)
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    reader.require(_join(field, "batch_shape"), shape, isinstance(shape, list) and shape,
                   "a list [batch, ...]")
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, dict):  # a DTypePolicy
        inner = dtype.get("config")
        dtype = inner.get("name") if isinstance(inner, dict) else None
    kinds = {"float32": "float32", "float16": "float32", "float64": "float32",
             "int32": "int32", "int64": "int32"}
    reader.require(_join(field, "dtype"), dtype, dtype in kinds,
                   "a float or int dtype (seqattn reads float32 and int32 inputs)")
    for key in ("sparse", "ragged", "optional"):
        if config.get(key, False) is not False:
            reader.fail(_join(field, key), "is set: seqattn has dense inputs only")
    name = reader.string(_join(field, "name"), config.get("name"))
    return {"name": name, "shape": shape[1:], "dtype": kinds[dtype]}


def _tensor(reader, field, value, found):
    """Keras's {"class_name": "__keras_tensor__", ...} -> seqattn's {"__tensor__": ref}."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            inner = reader.object(_join(field, "config"), value.get("config"))
            history = inner.get("keras_history")
            reader.require(_join(field, "config.keras_history"), history,
                           isinstance(history, list) and len(history) == 3
                           and isinstance(history[0], str) and _is_int(history[1])
                           and 0 <= history[1] < _MAX_LAYERS and _is_int(history[2])
                           and 0 <= history[2] < 2,
                           "[layer name, node index, tensor index 0 or 1]")
            found.append((history[0], history[1]))
            return {"__tensor__": [history[0], history[2]] + ([history[1]] if history[1] else [])}
        if "__tensor__" in value:  # seqattn's own reference form: never in a Keras file
            reader.fail(field, "holds the key `__tensor__`, which Keras never writes")
        _refuse_code(reader, field, value)
        return {k: _tensor(reader, _join(field, k), v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensor(reader, _join(field, i), v, found) for i, v in enumerate(value)]
    return value


def _padding_mask_ops(reader, entries):
    """{name: input name} of Keras's `not_equal(ids, 0)` op nodes. Keras 3 writes the padding
    mask of an Embedding(mask_zero=True) into the graph as this op, passed as `mask=` to the
    layers that read it; seqattn carries that same mask with the tensor itself (checked after
    the build), so these ops and the mask arguments that name them are left out."""
    ops = {}
    for entry in entries:
        if not (isinstance(entry, dict) and entry.get("class_name") == "NotEqual"
                and entry.get("module") == "keras.src.ops.numpy"):
            continue
        nodes = entry.get("inbound_nodes")
        node = nodes[0] if isinstance(nodes, list) and len(nodes) == 1 else None
        args = node.get("args") if isinstance(node, dict) else None
        if not (isinstance(args, list) and len(args) == 2 and args[1] == 0
                and not node.get("kwargs") and isinstance(args[0], dict)
                and args[0].get("class_name") == "__keras_tensor__"):
            continue
        history = (args[0].get("config") or {}).get("keras_history")
        if isinstance(history, list) and len(history) == 3 and isinstance(history[0], str) \
                and history[1:] == [0, 0] and isinstance(entry.get("name"), str):
            ops[entry["name"]] = history[0]
    return ops


def _functional(reader, body, entries, name):
    inputs, classes, configs, nodes = [], {}, {}, []
    mask_ops, mask_checks = _padding_mask_ops(reader, entries), []
    for i, entry in enumerate(entries):
        field = f"config.layers[{i}]"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) \
                and entry["name"] in mask_ops \
                and entry.get("class_name") == "NotEqual":
            continue
        cls = _class(reader, field, entry)
        cfg = reader.object(_join(field, "config"), reader.get(field, entry, "config"))
        lname = reader.string(_join(field, "name"), entry.get("name", cfg.get("name")))
        if lname in classes:
            reader.fail(_join(field, "name"), f"repeats the layer name {archive.brief(lname)}")
        classes[lname] = cls
        if cls == "InputLayer":
            inputs.append(_input(reader, _join(field, "config"), cfg))
            continue
        configs[lname] = dict(_layer_config(reader, _join(field, "config"), cls, cfg),
                              name=lname)
        inbound = reader.list(_join(field, "inbound_nodes"), entry.get("inbound_nodes"))
        if not inbound:
            reader.fail(_join(field, "inbound_nodes"), "is empty: the layer is not called")
        for k, node in enumerate(inbound):
            nf = _join(field, "inbound_nodes") + f"[{k}]"
            reader.object(nf, node)
            found = []
            args = reader.list(_join(nf, "args"), _tensor(reader, _join(nf, "args"),
                                                          node.get("args", []), found))
            kwargs = reader.object(_join(nf, "kwargs"), _tensor(reader, _join(nf, "kwargs"),
                                                                node.get("kwargs", {}), found))
            # Keras writes the defaults of optional call arguments (mask=None): not passed
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            mask = kwargs.get("mask")
            if isinstance(mask, dict) and mask.get("__tensor__", [None])[0] in mask_ops:
                del kwargs["mask"]
                first = args[0] if args else None
                first = first[0] if isinstance(first, list) and first else first
                if not (isinstance(first, dict) and "__tensor__" in first):
                    reader.fail(_join(nf, "kwargs.mask"), "is a padding mask passed to a call "
                                                          "without a tensor argument")
                mask_checks.append((tuple(first["__tensor__"]), lname, _join(nf, "kwargs.mask")))
            found = [dep for dep in found if dep[0] not in mask_ops]
            for key, value in (*enumerate(args), *kwargs.items()):
                if _names_op(value, mask_ops):
                    reader.fail(_join(nf, f"args[{key}]" if isinstance(key, int) else key),
                                "reads the Keras op not_equal as data; seqattn reads it only as "
                                "an Embedding's padding mask (mask=)")
            nodes.append(((i, k), lname, args, kwargs, found))
    single, outputs = _endpoints(reader, body, "output_layers")
    _, input_refs = _endpoints(reader, body, "input_layers")
    by_name = {spec["name"]: spec for spec in inputs}
    for j, ref in enumerate(input_refs):
        if ref[0] not in by_name or ref[1:] != [0, 0]:
            reader.fail(f"config.input_layers[{j}]", f"must name an InputLayer, received "
                                                     f"{archive.brief(ref)}")
    ordered = _call_order(reader, nodes, set(by_name))
    layers, called = [], set()
    for _, lname, args, kwargs, _ in ordered:
        head = ({"shared": lname} if lname in called else
                {"class_name": classes[lname], "config": configs[lname]})
        called.add(lname)
        layers.append({**head, "args": args, "kwargs": kwargs})
    for j, ref in enumerate(outputs):
        if ref[0] in mask_ops:
            reader.fail(f"config.output_layers[{j}]", "is the Keras op not_equal (a padding "
                        "mask); seqattn's models output layer results")
    return {"_mask_checks": mask_checks, "class_name": "Functional", "name": name,
            "inputs": [by_name[ref[0]] for ref in input_refs], "layers": layers,
            "outputs": [[r[0], r[2]] + ([r[1]] if r[1] else []) for r in outputs],
            "single_output": single}


def _names_op(value, ops):
    if isinstance(value, dict):
        if "__tensor__" in value:
            return value["__tensor__"][0] in ops
        return any(_names_op(v, ops) for v in value.values())
    if isinstance(value, list):
        return any(_names_op(v, ops) for v in value)
    return False


def _endpoints(reader, body, key):
    value = reader.get("config", body, key)
    field = f"config.{key}"
    single = isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
    refs = [value] if single else reader.list(field, value)
    reader.require(field, value, refs, "a non-empty list")
    for j, ref in enumerate(refs):
        reader.require(f"{field}[{j}]", ref, isinstance(ref, list) and len(ref) == 3
                       and isinstance(ref[0], str) and _is_int(ref[1]) and 0 <= ref[1] < _MAX_LAYERS
                       and _is_int(ref[2]) and 0 <= ref[2] < 2,
                       "[layer name, node index, tensor index]")
    return single, refs


def _call_order(reader, nodes, inputs):
    """The layer calls in an order where every call comes after the calls whose outputs it
    reads (Keras's config lists each layer once, with all its calls): Kahn's algorithm, ties
    in config order."""
    index = {(lname, key[1]): n for n, (key, lname, *_rest) in enumerate(nodes)}
    waiting, readers, ready = {}, {}, []
    for n, (key, lname, args, kwargs, found) in enumerate(nodes):
        deps = {dep for dep in found if dep[0] not in inputs}
        for dep in deps:
            if dep not in index:
                reader.fail(f"config.layers[{key[0]}].inbound_nodes[{key[1]}]",
                            f"reads the output of {archive.brief(list(dep))}, which no input or "
                            "layer call of the model makes")
            readers.setdefault(index[dep], []).append(n)
        waiting[n] = len(deps)
        if not deps:
            heapq.heappush(ready, (key, n))
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(nodes[n])
        for m in readers.get(n, ()):
            waiting[m] -= 1
            if not waiting[m]:
                heapq.heappush(ready, (nodes[m][0], m))
    if len(order) != len(nodes):
        reader.fail("config.layers", "has layer calls that depend on each other in a cycle")
    return order


def _sequential(reader, config, body, entries, name):
    inputs, layers = None, []
    for i, entry in enumerate(entries):
        field = f"config.layers[{i}]"
        cls = _class(reader, field, entry)
        cfg = reader.object(_join(field, "config"), reader.get(field, entry, "config"))
        if cls == "InputLayer":
            if i:
                reader.fail(field, "is an InputLayer after other layers")
            inputs = _input(reader, _join(field, "config"), cfg)
            continue
        layers.append({"class_name": cls, "config": _layer_config(reader, _join(field, "config"),
                                                                  cls, cfg)})
    if inputs is None:
        build = config.get("build_config")
        shape = build.get("input_shape") if isinstance(build, dict) else None
        reader.require("build_config.input_shape", shape, isinstance(shape, list) and shape,
                       "the input shape of a built model (an unbuilt model has no weights)")
        inputs = {"name": "input_layer", "shape": shape[1:], "dtype": "float32"}
        if layers and layers[0]["class_name"] in ("Embedding", "TokenAndPositionEmbedding"):
            inputs["dtype"] = "int32"
    return {"class_name": "Sequential", "name": name, "inputs": [inputs], "layers": [
        {**entry, "args": [], "kwargs": {}} for entry in layers], "outputs": None}
