"""Data-parallel training over MPI (mpi4py): `MPIStrategy` and `DistributedSampler`.

Importing this module does not import mpi4py; creating an MPIStrategy does (install with
`pip install 'seqattn[mpi]'`). Run scripts with `mpirun -np N python script.py`.
"""

from .sampler import DistributedSampler
from .strategy import INSTALL_HINT, MPIStrategy

__all__ = ["DistributedSampler", "MPIStrategy", "INSTALL_HINT"]
