"""
seqattn C++ core: layers (forward and backward), losses, optimizers, graph execution

The boundary between the languages, for readers and tools: everything Python calls in C++
(cpp/bindings.cpp is the only pybind11 file). Generated with pybind11-stubgen, then kept by
tests/test_core_stub.py, which fails when a binding is added, removed or renamed without this
file: regenerate with `pip install pybind11-stubgen && pybind11-stubgen seqattn._core -o /tmp/s
&& cp /tmp/s/seqattn/_core.pyi python/seqattn/` and keep this paragraph.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Activation', 'Adam', 'Add', 'AttentionScores', 'AveragePooling1D', 'BinaryCrossentropy', 'Conv1D', 'Dense', 'Dropout', 'Embedding', 'Flatten', 'GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'Graph', 'Layer', 'LayerNormalization', 'Loss', 'MaxPooling1D', 'MultiHeadAttention', 'Optimizer', 'PositionEmbedding', 'SGD', 'SinePositionEncoding', 'SparseCategoricalCrossentropy', 'TokenAndPositionEmbedding', 'build_info', 'fma_peak_gflops', 'get_num_threads', 'run_layer', 'set_num_threads']
class Layer:
    name: str
    def check_weights(self, arg0: typing.Any) -> None:
        """
        Raises as set_weights would, changing nothing (models check every layer first).
        """
    def get_grads(self) -> list:
        ...
    def get_regularization(self) -> list[tuple[float, float]]:
        ...
    def get_weights(self) -> list:
        ...
    def output_shape(self, arg0: collections.abc.Sequence[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]]) -> list[int]:
        ...
    def param_names(self) -> list[str]:
        ...
    def set_regularization(self, index: typing.SupportsInt | typing.SupportsIndex, l1: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex) -> None:
        """
        Keras weight regularizer of weight `index`: the training loss gains l1*sum|w| + l2*sum(w^2).
        """
    def set_weights(self, arg0: typing.Any) -> None:
        ...
    @property
    def kind(self) -> str:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Embedding(Layer):
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, output_dim: typing.SupportsInt | typing.SupportsIndex, mask_zero: bool) -> None:
        ...
class TokenAndPositionEmbedding(Layer):
    def __init__(self, vocabulary_size: typing.SupportsInt | typing.SupportsIndex, sequence_length: typing.SupportsInt | typing.SupportsIndex, embedding_dim: typing.SupportsInt | typing.SupportsIndex, mask_zero: bool) -> None:
        ...
class Dense(Layer):
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, units: typing.SupportsInt | typing.SupportsIndex, activation: str, use_bias: bool) -> None:
        ...
class GlobalAveragePooling1D(Layer):
    def __init__(self) -> None:
        ...
class GlobalMaxPooling1D(Layer):
    def __init__(self) -> None:
        ...
class MultiHeadAttention(Layer):
    use_causal_mask: bool
    use_reference_kernel: bool
    def __init__(self, query_dim: typing.SupportsInt | typing.SupportsIndex, value_dim_in: typing.SupportsInt | typing.SupportsIndex, key_dim_in: typing.SupportsInt | typing.SupportsIndex, num_heads: typing.SupportsInt | typing.SupportsIndex, key_dim: typing.SupportsInt | typing.SupportsIndex, value_dim: typing.SupportsInt | typing.SupportsIndex, dropout: typing.SupportsFloat | typing.SupportsIndex, use_bias: bool, output_dim: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def attention_scores(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def cache_bytes(self) -> int:
        ...
class LayerNormalization(Layer):
    def __init__(self, channels: typing.SupportsInt | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, center: bool, scale: bool) -> None:
        ...
class Dropout(Layer):
    def __init__(self, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Merge(Layer):
    def __init__(self, op: str) -> None:
        ...
    @property
    def op(self) -> str:
        ...
class Add(Merge):
    def __init__(self) -> None:
        ...
class Concatenate(Layer):
    def __init__(self, axis: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def axis(self) -> int:
        ...
class Reshape(Layer):
    def __init__(self, target_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def target_shape(self) -> list[int]:
        ...
class Permute(Layer):
    def __init__(self, perm: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def perm(self) -> list[int]:
        ...
class RepeatVector(Layer):
    def __init__(self, n: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n(self) -> int:
        ...
class PositionEmbedding(Layer):
    def __init__(self, sequence_length: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class SinePositionEncoding(Layer):
    def __init__(self, max_wavelength: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Activation(Layer):
    def __init__(self, activation: str) -> None:
        ...
    @property
    def activation(self) -> str:
        ...
class Flatten(Layer):
    def __init__(self) -> None:
        ...
class Conv1D(Layer):
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, filters: typing.SupportsInt | typing.SupportsIndex, kernel_size: typing.SupportsInt | typing.SupportsIndex, strides: typing.SupportsInt | typing.SupportsIndex, padding: str, dilation_rate: typing.SupportsInt | typing.SupportsIndex, activation: str, use_bias: bool) -> None:
        ...
class MaxPooling1D(Layer):
    def __init__(self, pool_size: typing.SupportsInt | typing.SupportsIndex, strides: typing.SupportsInt | typing.SupportsIndex, padding: str) -> None:
        ...
class AveragePooling1D(Layer):
    def __init__(self, pool_size: typing.SupportsInt | typing.SupportsIndex, strides: typing.SupportsInt | typing.SupportsIndex, padding: str) -> None:
        ...
class BinaryOp(Layer):
    def __init__(self, op: str) -> None:
        ...
    @property
    def op(self) -> str:
        ...
class UnaryOp(Layer):
    def __init__(self, op: str, scale: float = 1.0, shift: float = 0.0) -> None:
        ...
    @property
    def op(self) -> str:
        ...
class Where(Layer):
    def __init__(self) -> None:
        ...
class MatMul(Layer):
    def __init__(self) -> None:
        ...
class Reduce(Layer):
    def __init__(self, op: str, axis: typing.SupportsInt | typing.SupportsIndex, keepdims: bool) -> None:
        ...
    @property
    def op(self) -> str:
        ...
class Constant(Layer):
    def __init__(self, value: numpy.ndarray) -> None:
        ...
    @property
    def value(self) -> numpy.ndarray:
        ...
class AttentionScores(Layer):
    def __init__(self, attention: MultiHeadAttention) -> None:
        ...
class Loss:
    def __call__(self, y_true: typing.Any, y_pred: typing.Any, sample_weight: typing.Any = None) -> tuple[float, numpy.typing.NDArray[numpy.float32]]:
        ...
    def prepare_targets(self, y: typing.Any, pred_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], who: str) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def sample_losses(self, y_true: typing.Any, y_pred: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
        """
        Keras's loss functions: one loss per sample (pred.shape[:-1]; (B,) for 1-D predictions).
        """
    @property
    def from_logits(self) -> bool:
        ...
    @property
    def name(self) -> str:
        ...
class SparseCategoricalCrossentropy(Loss):
    def __init__(self, from_logits: bool) -> None:
        ...
class BinaryCrossentropy(Loss):
    def __init__(self, from_logits: bool, label_smoothing: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def label_smoothing(self) -> float:
        ...
class CategoricalCrossentropy(Loss):
    def __init__(self, from_logits: bool, label_smoothing: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def label_smoothing(self) -> float:
        ...
class MeanSquaredError(Loss):
    def __init__(self) -> None:
        ...
class MeanAbsoluteError(Loss):
    def __init__(self) -> None:
        ...
class Huber(Loss):
    def __init__(self, delta: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def delta(self) -> float:
        ...
class Optimizer:
    def apply_to(self, arg0: collections.abc.Sequence[Layer]) -> None:
        """
        One update of the given layers' params from their current grads (tests use it).
        """
    def get_slots(self) -> list:
        ...
    def set_slots(self, arg0: list) -> None:
        """
        Copies saved slot values into the (already allocated) slots, in get_slots order.
        """
    @property
    def clipnorm(self) -> float:
        ...
    @clipnorm.setter
    def clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipvalue(self) -> float:
        ...
    @clipvalue.setter
    def clipvalue(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def iterations(self) -> int:
        ...
    @iterations.setter
    def iterations(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def learning_rate(self) -> float:
        ...
    @learning_rate.setter
    def learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def weight_decay(self) -> float:
        ...
    @weight_decay.setter
    def weight_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class SGD(Optimizer):
    def __init__(self, learning_rate: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, clipnorm: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Adam(Optimizer):
    def __init__(self, learning_rate: typing.SupportsFloat | typing.SupportsIndex, beta_1: typing.SupportsFloat | typing.SupportsIndex, beta_2: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, clipnorm: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class RMSprop(Optimizer):
    def __init__(self, learning_rate: typing.SupportsFloat | typing.SupportsIndex, rho: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, centered: bool, clipnorm: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Adagrad(Optimizer):
    def __init__(self, learning_rate: typing.SupportsFloat | typing.SupportsIndex, initial_accumulator_value: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, clipnorm: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Graph:
    def __init__(self, num_inputs: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def add_node(self, layer: Layer, inputs: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], causal: bool = False, shares: Layer = None) -> int:
        ...
    def compile(self, losses: collections.abc.Sequence[Loss], loss_weights: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], optimizer: Optimizer) -> None:
        ...
    def compute_gradients(self, inputs: list, ys: typing.Any, training: bool = False) -> tuple[float, list]:
        """
        Total loss and dL/dparam for every weight (get_weights order), without an update.
        """
    def init_optimizer_slots(self) -> None:
        """
        Allocates the compiled optimizer's slots for this graph's parameters (zeros).
        """
    def predict_step(self, inputs: list, scores_of: collections.abc.Sequence[MultiHeadAttention] = []) -> typing.Any:
        """
        Inference-mode outputs; with scores_of (attention layers of this graph), (outputs, their attention probabilities) from the same step.
        """
    def prepare_input(self, index: typing.SupportsInt | typing.SupportsIndex, x: typing.Any, expected_shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], who: str) -> numpy.ndarray:
        """
        Input `index` as the step will read it (int32 ids or float32 features), checked whole: dtype, shape (-1 = any), token-id range. The data adapter calls it once per fit/predict on the caller's arrays, so errors give positions in the caller's data.
        """
    def profile(self) -> dict:
        """
        Seconds per node (forward, backward), loss and update, summed since reset_profile().
        """
    def reset_profile(self) -> None:
        ...
    def set_outputs(self, values: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    def test_step(self, inputs: list, ys: typing.Any, sample_weight: typing.Any = None) -> tuple[float, list[float], list, list]:
        """
        Inference-mode loss: (total loss, each output's loss, outputs, their padding masks).
        """
    def gradient_step(self, inputs: list, ys: typing.Any, sample_weight: typing.Any = None, with_outputs: bool = False, pack_scale: typing.SupportsFloat = 1.0) -> tuple[float, list[float], typing.Any]:
        """
        Forward, loss and backward in training mode, no update; the gradients times pack_scale are packed into gradient_buffer(). Returns what train_step returns.
        """
    def gradient_buffer(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        Every parameter gradient back to back (params order), float32 (P,): a writable view to reduce in place between gradient_step and apply_gradients.
        """
    def apply_gradients(self, scale: typing.SupportsFloat = 1.0) -> None:
        """
        Copies gradient_buffer()·scale back into the gradients, then the optimizer update (clipping, weight decay) and the step count.
        """
    replica: int
    replicas: int
    def train_step(self, inputs: list, ys: typing.Any, sample_weight: typing.Any = None, with_outputs: bool = False) -> tuple[float, list[float], typing.Any]:
        """
        One training step: (total loss, each output's loss, training-mode outputs and their padding masks, or None and None).
        """
    @property
    def profiling(self) -> bool:
        """
        Time every node's forward and backward, the loss and the update.
        """
    @profiling.setter
    def profiling(self, arg0: bool) -> None:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class IncrementalDecoder:
    def __init__(self, graph: Graph) -> None:
        """
        Checks that the graph is made of position-wise layers and causal self-attention (ValueError naming the first layer that is not).
        """
    def reset(self, batch: typing.SupportsInt | typing.SupportsIndex, capacity: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Empties the cache: `batch` rows of up to `capacity` positions.
        """
    def step(self, ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], start: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], out: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> None:
        """
        Appends ids (B, n) at positions start[b] .. start[b]+n-1 of each row and writes the outputs there into out (B, n, K) float32; the GIL is released, the graph locked.
        """
    @property
    def max_length(self) -> int:
        """
        Positions the position encodings hold (0: no limit).
        """
    @property
    def vocabulary(self) -> int:
        """
        Token ids the input embedding reads: [0, vocabulary).
        """
def _gemm(a: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], c: numpy.ndarray, accumulate: bool, bias: typing.Any, transpose_a: bool, transpose_b: bool, reference: bool, relu: bool = False) -> None:
    ...
def build_info() -> dict:
    ...
def fma_peak_gflops(threads: typing.SupportsInt | typing.SupportsIndex, seconds: typing.SupportsFloat | typing.SupportsIndex) -> float:
    """
    GFLOP/s of independent FMA chains on `threads` threads for about `seconds` (2 FLOPs per lane per FMA).
    """
def get_num_threads() -> int:
    ...
def run_layer(layer: Layer, inputs: list, masks: list = [], dy: typing.Any = None, training: bool = False, step: typing.SupportsInt | typing.SupportsIndex = 0, causal: typing.Any = None, scores: bool = False) -> dict:
    """
    One layer alone on arrays (eager calls, tests): forward, then backward when dy is given. causal=None leaves the layer's use_causal_mask as it is.
    """
def set_num_threads(arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
