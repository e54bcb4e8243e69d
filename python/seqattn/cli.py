"""`python -m seqattn`: train a sentiment classifier from a dataset or a CSV, and predict.

    python -m seqattn train --data imdb --epochs 2 --out imdb.seqattn
    python -m seqattn predict imdb.seqattn "a gripping, beautifully acted film"
    python -m seqattn predict imdb.seqattn --input reviews.csv --text-column review
    mpirun -np 4 python -m seqattn train --data imdb --out imdb.seqattn   # data-parallel

`train` reads the data, adapts a TextVectorization on the training texts, builds the model
with the vectorizer as its first stage (so the saved file predicts on raw strings), trains
with a progress bar, prints the held-out metrics and saves. `predict` (cli_predict.py) gives,
per text, the label, its probability and the tokens the last attention layer looked at most,
for texts given as arguments, in a CSV file or on standard input.

Started by mpirun/mpiexec/srun (with mpi4py installed), `train` trains data-parallel over
the ranks (seqattn.distributed): --batch-size is per rank, threads default to this machine's
cores divided among its ranks, and only rank 0 prints and writes the model file (after every
epoch), which `--resume` continues from with any number of ranks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import cli_predict
from .cli_models import MODEL_NAMES, PAIR_VOCAB, build_model, recipe
from .cli_predict import positive_int as _positive_int

DATASETS = ("builtin", "imdb", "sst2", "mr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seqattn",
        description="Train and use self-attention sentiment classifiers (seqattn).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,predict}")

    train = sub.add_parser(
        "train", help="train a classifier and save it",
        description="Train a Transformer text classifier on a dataset or a CSV/TSV file and "
                    "save it (with its vectorizer) to one .seqattn file.")
    train.add_argument("--data", required=True, metavar="builtin|imdb|sst2|mr|PATH",
                       help="builtin: the embedded synthetic corpus; imdb: the IMDB reviews "
                            "(from --data-dir, else downloaded once); sst2, mr: the GLUE SST-2 "
                            "and rt-polarity files under --data-dir; PATH: a .csv or .tsv file "
                            "with a header row (see --text-column, --label-column)")
    train.add_argument("--data-dir", default=os.environ.get("SEQATTN_DATA") or None,
                       help="folder holding imdb/, sst2/, mr/ (default: $SEQATTN_DATA)")
    train.add_argument("--text-column", default=None,
                       help="text column of a CSV/TSV (default: text for CSV, sentence for TSV)")
    train.add_argument("--label-column", default="label",
                       help="label column of a CSV/TSV: integers 0..K-1 (default: label)")
    train.add_argument("--model", choices=MODEL_NAMES, default="small",
                       help="small: a Transformer with C=32, 2 heads, 1 block (keras.io sizes); "
                            "base: C=256, 8 heads, feed-forward 1024, 2 blocks; bow: a bag of "
                            "words and word pairs (fastText-style), the baseline that shows "
                            "what attention adds (default: small)")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="default: 2 (3 for sst2, mr and --model bow; 8 for builtin)")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    train.add_argument("--maxlen", type=_positive_int, default=None,
                       help="tokens kept per text (default: 512 for imdb and CSV, 64 for "
                            "sst2/mr, 24 for builtin; with --model bow, which counts words and "
                            "word pairs: 1500, 128 and 48)")
    train.add_argument("--truncation", choices=("pre", "post"), default=None,
                       help="which tokens a longer text keeps: pre, its last ones (as "
                            "keras.utils.pad_sequences); post, its first ones (as Keras' "
                            "TextVectorization) (default: post)")
    train.add_argument("--ngrams", type=int, choices=(1, 2), default=None,
                       help="1: words; 2: words and word pairs (bow: pairs in the bag; small, "
                            "base: each position also embeds the pair it starts, from a "
                            f"{PAIR_VOCAB:,}-pair vocabulary) (default: 2 with --model small on "
                            "imdb and CSV files and with --model bow, else 1)")
    train.add_argument("--vocab-size", type=_positive_int, default=None,
                       help="vocabulary size including padding and [UNK] (default: 20000; "
                            "200000 with --model bow)")
    train.add_argument("--tokenizer", choices=("word", "wordpiece", "bpe"), default="word",
                       help="word: whitespace-separated words; wordpiece, bpe: subword pieces "
                            "learned from the training texts (seqattn.text.SubwordTokenizer, "
                            'needs pip install "seqattn[subword]") (default: word)')
    train.add_argument("--subword-vocab-size", type=_positive_int, default=8000,
                       help="subword pieces the wordpiece/bpe tokenizer learns (default: 8000)")
    train.add_argument("--learning-rate", type=_positive_float, default=None,
                       help="Adam's (initial) learning rate (default: 1e-3; 3e-3 with "
                            "--model bow)")
    train.add_argument("--schedule", choices=("cosine", "constant"), default=None,
                       help="cosine: the rate falls to 0 along a cosine over all --epochs; "
                            "constant: it stays (default: cosine; constant with --model bow)")
    train.add_argument("--dropout", type=_rate, default=None,
                       help="dropout rate (default: 0.1; 0 with --model bow)")
    train.add_argument("--validation-split", type=_fraction, default=0.2,
                       help="held-out fraction when the data has no validation/test part "
                            "(default: 0.2)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--threads", type=_positive_int, default=None,
                       help="threads for the C++ core (default: all cores)")
    train.add_argument("--out", default="model.seqattn",
                       help="where to save the model (default: model.seqattn)")
    train.add_argument("--verbose", choices=("auto", "0", "1", "2"), default="auto",
                       help="progress: 0 silent, 1 bar, 2 a line per epoch (default: auto)")
    train.add_argument("--distributed", choices=("auto", "mpi", "off"), default="auto",
                       help="auto: data-parallel over MPI when started by mpirun/mpiexec/srun; "
                            "mpi: always through mpi4py; off: one process (default: auto)")
    train.add_argument("--resume", default=None, metavar="PATH",
                       help="continue training the model saved at PATH (by train, after any "
                            "epoch) up to --epochs; the data options must match its run")

    cli_predict.add_parser(sub)
    return parser


# ------------------------------------------------------------------ validation
def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def _fraction(text):
    value = _float_in(text, "a fraction in (0, 1)")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), received {text!r}")
    return value


def _rate(text):
    value = _float_in(text, "a rate in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), received {text!r}")
    return value


def _float_in(text, what):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}")


# ------------------------------------------------------------------------ data
def load_dataset(args):
    """(train texts, train labels, validation texts or None, validation labels or None)."""
    try:
        return _load_dataset(args)
    except OSError as e:  # missing files, failed download: say how to point at local data
        if args.data in ("imdb", "sst2", "mr") and args.data_dir is None:
            raise OSError(f"{e}\nhint: pass --data-dir DIR, the folder that holds "
                          f"{args.data}/ (or set SEQATTN_DATA)") from None
        raise


def _load_dataset(args):
    from . import datasets
    name = args.data
    where = (lambda sub: None if args.data_dir is None else os.path.join(args.data_dir, sub))
    if name == "builtin":
        texts, labels = datasets.synthetic_sentiment(n_samples=6000, seed=args.seed)
        val_texts, val_labels = datasets.synthetic_sentiment(n_samples=2000, seed=args.seed + 1)
        return texts, labels, val_texts, val_labels
    if name == "imdb":
        texts, labels = datasets.imdb.load_texts(where("imdb"), split="train", strip_html=True)
        return texts, labels, None, None
    if name == "sst2":
        (texts, labels), (val_texts, val_labels) = datasets.sst2.load_data(where("sst2"))
        return texts, labels, val_texts, val_labels
    if name == "mr":
        (texts, labels), (val_texts, val_labels) = datasets.mr.load_data(where("mr"))
        return texts, labels, val_texts, val_labels
    if not os.path.exists(name):
        raise FileNotFoundError(f"--data {name!r}: not one of {', '.join(DATASETS)} and no "
                                "such file.")
    tsv = name.lower().endswith(".tsv")
    column = args.text_column or ("sentence" if tsv else "text")
    loader = datasets.load_tsv if tsv else datasets.load_csv
    texts, labels = loader(name, text_column=column, label_column=args.label_column)
    return texts, labels, None, None


def _shuffle_split(texts, labels, fraction, seed):
    """A seeded shuffle, then the last `fraction` validates (files are often sorted)."""
    order = np.random.RandomState(seed).permutation(len(texts))
    texts = [texts[i] for i in order]
    labels = np.asarray(labels)[order]
    cut = len(texts) - max(1, int(round(len(texts) * fraction)))
    if cut < 1:
        raise ValueError(f"--validation-split {fraction} leaves no training texts "
                         f"({len(texts)} in total).")
    return texts[:cut], labels[:cut], texts[cut:], labels[cut:]


def _settings(args):
    """The recipe for --model on --data, with every flag the user gave in its place."""
    import dataclasses
    defaults = recipe(args.model, args.data)
    given = {field.name: getattr(args, field.name) for field in dataclasses.fields(defaults)
             if getattr(args, field.name) is not None}
    return dataclasses.replace(defaults, **given)


def _vectorizers(args, settings, texts):
    """The word vectorizer (words and pairs for --model bow) and, for an attention model with
    --ngrams 2, the pair vectorizer (None otherwise), adapted on the training texts."""
    import seqattn
    split = "whitespace"
    if args.tokenizer != "word":
        if args.tokenizer == "bpe" and args.subword_vocab_size < 256:
            raise ValueError("--subword-vocab-size must be at least 256 with --tokenizer bpe "
                             f"(its 256 bytes), received {args.subword_vocab_size}")
        split = seqattn.text.SubwordTokenizer(args.tokenizer, args.subword_vocab_size)
    bow = args.model == "bow"
    vectorizer = seqattn.text.TextVectorization(
        max_tokens=settings.vocab_size, output_sequence_length=settings.maxlen, split=split,
        ngrams=2 if bow and settings.ngrams == 2 else None, truncation=settings.truncation,
        strip_html=True, name="vectorizer")
    vectorizer.adapt(texts)
    if bow or settings.ngrams == 1 or args.resume is not None:  # a resumed model has its own
        return vectorizer, None
    pair_vectorizer = seqattn.text.TextVectorization(
        max_tokens=PAIR_VOCAB, output_sequence_length=settings.maxlen, split=split,
        ngrams=(2,), truncation=settings.truncation, strip_html=True, name="pair_vectorizer")
    pair_vectorizer.adapt(texts)
    return vectorizer, pair_vectorizer


# Set by the launchers: MPICH/Intel MPI and Slurm's PMI (PMI_SIZE), Open MPI's mpirun
# (OMPI_COMM_WORLD_SIZE), PMIx launchers such as `srun --mpi=pmix` (PMIX_RANK), MVAPICH.
_MPI_LAUNCH_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")


def _strategy(args):
    """An MPIStrategy when the run is data-parallel, else None."""
    if args.distributed == "off" or (args.distributed == "auto" and
                                     not any(v in os.environ for v in _MPI_LAUNCH_VARS)):
        return None
    from .distributed import MPIStrategy
    strategy = MPIStrategy(seed=args.seed)
    return strategy if strategy.num_replicas_in_sync > 1 or args.distributed == "mpi" else None


def train(args) -> int:
    strategy = _strategy(args)
    if strategy is None:
        return _train(args, None, print)
    # Only rank 0 prints; an error on any rank ends the job (no rank waits forever).
    with strategy.guard():
        return _train(args, strategy, print if strategy.is_chief else (lambda *a, **k: None))


def _train(args, strategy, say) -> int:
    import seqattn
    if args.threads is not None:
        seqattn.set_num_threads(args.threads)
    elif strategy is not None:  # cores of this machine shared by its ranks
        seqattn.set_num_threads(strategy.default_threads())
    seqattn.utils.set_random_seed(args.seed)
    t0 = time.perf_counter()
    texts, labels, val_texts, val_labels = load_dataset(args)
    labels = np.asarray(labels)
    if val_texts is None:
        texts, labels, val_texts, val_labels = _shuffle_split(texts, labels,
                                                              args.validation_split, args.seed)
    num_classes = max(2, int(labels.max()) + 1)
    settings = _settings(args)
    vectorizer, pair_vectorizer = _vectorizers(args, settings, texts)
    pairs = "" if pair_vectorizer is None else f" + {pair_vectorizer.vocabulary_size():,} pairs"
    say(f"seqattn {seqattn.__version__} | {seqattn.get_num_threads()} threads | data "
          f"{args.data}: {len(texts):,} training and {len(val_texts):,} validation texts, "
          f"{num_classes} classes | vocabulary {vectorizer.vocabulary_size():,}{pairs}, maxlen "
          f"{settings.maxlen} ({settings.truncation}) | read and vectorized in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    epochs = settings.epochs
    rate = settings.learning_rate
    if settings.schedule == "cosine":  # from --learning-rate to 0 over all --epochs' steps
        ranks = 1 if strategy is None else strategy.num_replicas_in_sync
        steps = epochs * -(-len(texts) // (args.batch_size * ranks))
        rate = seqattn.schedules.CosineDecay(rate, decay_steps=steps)
    initial_epoch = 0
    if args.resume is not None:
        model = seqattn.load_model(args.resume)
        initial_epoch = model._epoch
        if initial_epoch >= epochs:
            raise ValueError(f"--resume {args.resume}: that model has trained {initial_epoch} "
                             f"epochs already; pass --epochs above {initial_epoch}.")
        # A saved cosine ends at the old run's last step (rate 0 from there on): stretch it
        # over this run's --epochs and rank count. Adam's moments carry on as saved.
        if settings.schedule == "cosine":
            model.optimizer.learning_rate = rate
        say(f"resuming {args.resume} after epoch {initial_epoch}", flush=True)
    else:
        model = build_model(vectorizer, args.model, num_classes, settings.dropout,
                            pair_vectorizer)
        loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
        model.compile(optimizer=seqattn.optimizers.Adam(rate), loss=loss, metrics=["accuracy"])
    say(f"model {model.name}: {model.count_params():,} parameters", flush=True)
    callbacks = []
    if strategy is not None:
        strategy.distribute(model)
        ranks = strategy.num_replicas_in_sync
        say(f"data-parallel over {ranks} MPI ranks, {seqattn.get_num_threads()} threads each: "
            f"batch {args.batch_size} per rank ({args.batch_size * ranks} per step)", flush=True)
        # The model file after every epoch (rank 0 writes it), for --resume.
        callbacks.append(seqattn.callbacks.ModelCheckpoint(args.out, monitor="loss"))
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    t1 = time.perf_counter()
    model.fit(texts, labels, batch_size=args.batch_size, epochs=epochs,
              validation_data=(val_texts, val_labels), verbose=verbose, callbacks=callbacks,
              initial_epoch=initial_epoch)
    seconds = (time.perf_counter() - t1) / (epochs - initial_epoch)
    result = model.evaluate(val_texts, val_labels, batch_size=256, verbose=0, return_dict=True)
    say(f"validation: loss {result['loss']:.4f}, accuracy {result['accuracy']:.4f} "
        f"({len(val_texts):,} texts); {seconds:.1f} s per epoch", flush=True)
    if strategy is None or strategy.is_chief:
        model.save(args.out)
        say(f"saved to {args.out}", flush=True)
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .archive import FileFormatError
    try:
        return train(args) if args.command == "train" else cli_predict.predict(args)
    except (OSError, FileFormatError, ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
