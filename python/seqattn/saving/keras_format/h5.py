"""h5py, imported only when a Keras file is written or read (`import seqattn` never needs
it): the optional extra `seqattn[keras]`."""

from __future__ import annotations


def require_h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras `.keras` files need h5py (Keras keeps the weights in an HDF5 "
                          "member): `pip install seqattn[keras]` (or `pip install h5py`).") \
            from None
    return h5py
