"""Lambda: a function of seqattn ops as a layer, as Keras's `layers.Lambda`."""

from __future__ import annotations

from .base import Layer, is_symbolic


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)`, written with `seqattn.ops` and operators
    (`lambda x: x * 2.0 - ops.exp(x)`), as a layer. Like a custom layer, it is traced once into
    the model's C++ graph; on arrays it runs eagerly.

    Unlike Keras, a model holding a Lambda cannot be saved to a file: seqattn files hold data,
    never code (Keras refuses to load one too unless `safe_mode=False`). Write a custom layer
    class instead and register it (`seqattn.saving.register_keras_serializable`).

    Args:
        function: the function of the input (tensor or list of tensors).
        output_shape, mask: accepted for Keras code and unused (seqattn infers both).
        arguments: keyword arguments passed to `function`.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, name=None,
                 **kwargs):
        if not callable(function):
            raise TypeError(f"Lambda expects a callable `function`; received {function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda `arguments` must be a dict; received {arguments!r}")
        super().__init__(name=name, **kwargs)
        self.function = function
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        out = self.function(inputs, **self.arguments)
        if out is inputs and is_symbolic(inputs):
            out = inputs * 1.0  # an identity still makes a node the layer can own
        return out

    def get_config(self):
        raise TypeError(f"Layer '{self.name}' (Lambda) holds Python code, and a seqattn file "
                        "holds data only: write a custom layer class (subclass "
                        "seqattn.layers.Layer with a `call`) and register it with "
                        "seqattn.saving.register_keras_serializable to save this model.")
