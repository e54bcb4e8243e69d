"""keras.io's "Text classification with Transformer" (Apostolos Nikolaos, Keras 3 version),
written as a Keras user writes it: subclassed blocks, `ops.arange`, `x + y` on tensors, a
`Sequential` inside a layer. Only the imports differ from keras.io; the test suite runs this
very file under Keras 3 too (the imports swapped back) and checks both give the same
predictions with the same weights (tests/test_keras_io_examples.py).

Data: keras.io reads `keras.datasets.imdb.load_data(num_words=20000)`, whose test split is
the validation data. The repository's copy of IMDB (../shared/data/imdb/train.csv) holds the
25,000 training reviews only, so the last 5,000 of them (after Keras's seeded shuffle) are
held out for validation here, and the model never trains on them.

    python examples/keras_io/text_classification_with_transformer.py [--samples N]
        [--epochs 2] [--data ../shared/data/imdb/train.csv]
"""

import argparse
from pathlib import Path

import seqattn as keras
from seqattn import layers, ops

ROOT = Path(__file__).resolve().parents[2]


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def build_model(maxlen=200, vocab_size=20000, embed_dim=32, num_heads=2, ff_dim=32):
    inputs = layers.Input(shape=(maxlen,))
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
    x = transformer_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/imdb/train.csv"))
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N of the 20,000 training reviews")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)

    vocab_size = 20000  # Only consider the top 20k words
    maxlen = 200  # Only consider the first 200 words of each movie review
    (x_all, y_all), _ = keras.datasets.imdb.load_data(path=args.data, num_words=vocab_size)
    x_train, y_train = x_all[:-5000], y_all[:-5000]
    x_val, y_val = x_all[-5000:], y_all[-5000:]
    if args.samples:
        x_train, y_train = x_train[:args.samples], y_train[:args.samples]
    print(len(x_train), "Training sequences")
    print(len(x_val), "Validation sequences")
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

    model = build_model(maxlen, vocab_size)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=args.epochs,
                        validation_data=(x_val, y_val))
    return model, history


if __name__ == "__main__":
    main()
