"""keras.io's "Text classification from scratch" (Mark Omernick, François Chollet; Keras 3
version), written as a Keras user writes it: raw review text through a TextVectorization
layer adapted on the training reviews, then Embedding -> Dropout -> two strided Conv1D ->
GlobalMaxPooling1D -> Dense -> Dropout -> Dense(1, sigmoid), and at the end an end-to-end
model that takes raw strings. The model code is keras.io's, in a `build_model` function so
the tests can call it, and only the imports differ; the test suite runs `build_model` under
Keras 3 too (the imports swapped back) and checks both give the same predictions with the
same weights (tests/test_keras_io_text_cnn.py).

Differences from keras.io, all in reading the data (keras.io uses tf.data and TensorFlow
string ops, which a NumPy program does not have):
- keras.io reads aclImdb/train with `text_dataset_from_directory(validation_split=0.2,
  seed=1337)` and evaluates on aclImdb/test. The repository's copy of IMDB
  (../shared/data/imdb/train.csv) holds the 25,000 training reviews only: a seeded
  shuffle keeps 20% of them for validation, and the final evaluation runs on those (the
  model never trains on them).
- `custom_standardization` receives one review as a Python `str` (keras.io: a batch
  tensor, `tf.strings`); it applies the same rules: lowercase, `<br />` to a space, every
  character of `string.punctuation` deleted.
- the datasets are NumPy arrays given to `fit(batch_size=32)`.

    python examples/keras_io/text_classification_from_scratch.py [--samples N]
        [--epochs 3] [--sequence-length 500] [--data ../shared/data/imdb/train.csv]
"""

import argparse
import re
import string
from pathlib import Path

import numpy as np

import seqattn as keras
from seqattn import layers

ROOT = Path(__file__).resolve().parents[2]

# Model constants.
max_features = 20000
embedding_dim = 128
sequence_length = 500


def custom_standardization(input_data):
    lowercase = input_data.lower()
    stripped_html = lowercase.replace("<br />", " ")
    return re.sub(f"[{re.escape(string.punctuation)}]", "", stripped_html)


def build_model(max_features=max_features, embedding_dim=embedding_dim):
    # A integer input for vocab indices.
    inputs = keras.Input(shape=(None,), dtype="int64")

    # Next, we add a layer to map those vocab indices into a space of dimensionality
    # 'embedding_dim'.
    x = layers.Embedding(max_features, embedding_dim)(inputs)
    x = layers.Dropout(0.5)(x)

    # Conv1D + global max pooling
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)

    # We add a vanilla hidden layer:
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)

    # We project onto a single unit output layer, and squash it with a sigmoid:
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

    model = keras.Model(inputs, predictions)

    # Compile the model with binary crossentropy loss and an adam optimizer.
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def load_reviews(path, samples=None, seed=1337):
    """(train_texts, train_labels), (val_texts, val_labels): an 80/20 seeded split of the
    training reviews; `samples` keeps the first N training reviews (and N // 4 for
    validation) for a quick run."""
    texts, labels = keras.datasets.imdb.load_texts(path=path)
    order = np.random.default_rng(seed).permutation(len(texts))
    n_val = len(texts) // 5
    train, val = order[n_val:], order[:n_val]
    if samples:
        train, val = train[:samples], val[:max(samples // 4, 1)]
    return (([texts[i] for i in train], labels[train]),
            ([texts[i] for i in val], labels[val]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/imdb/train.csv"))
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N of the 20,000 training reviews")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sequence-length", type=int, default=sequence_length)
    args = parser.parse_args(argv)

    (train_texts, train_labels), (val_texts, val_labels) = load_reviews(args.data, args.samples)
    print(len(train_texts), "training reviews,", len(val_texts), "validation reviews")

    # Now that we have our custom standardization, we can instantiate our text
    # vectorization layer. We are using this layer to normalize, split, and map
    # strings to integers, so we set our 'output_mode' to 'int'.
    vectorize_layer = layers.TextVectorization(
        standardize=custom_standardization,
        max_tokens=max_features,
        output_mode="int",
        output_sequence_length=args.sequence_length,
    )
    # Let's call `adapt` on the training text to build the vocabulary.
    vectorize_layer.adapt(train_texts)

    x_train, x_val = vectorize_layer(train_texts), vectorize_layer(val_texts)
    model = build_model()
    history = model.fit(x_train, train_labels, validation_data=(x_val, val_labels),
                        epochs=args.epochs, batch_size=32)
    model.evaluate(x_val, val_labels)

    # A string input
    inputs = keras.Input(shape=(1,), dtype="string")
    # Turn strings into vocab indices
    indices = vectorize_layer(inputs)
    # Turn vocab indices into predictions
    outputs = model(indices)

    # Our end to end model
    end_to_end_model = keras.Model(inputs, outputs)
    end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

    # Test it with the validation reviews, raw strings
    end_to_end_model.evaluate(np.array(val_texts, dtype=object)[:, None], val_labels)
    return model, end_to_end_model, history


if __name__ == "__main__":
    main()
