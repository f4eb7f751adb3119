"""UEA/UCR classification datasets with honest evaluation protocols.

:func:`load_dataset` finds ``NAME_TRAIN.ts`` (and ``NAME_TEST.ts`` if present) locally or downloads the
official UEA archive once into a verified cache, reads the files with aeon's maintained ``.ts`` reader,
splits the labelled cases according to a *protocol*, standardizes every channel with statistics of the
``train`` part only, and returns a :class:`Dataset` of float32 tensors ``[n, length, channels]``.

Protocols (all stratified, seeded, deterministic):

``official``
    train/val = stratified split of TRAIN (``val_fraction``), test = TEST.
``resample``
    pool TRAIN (+ TEST if present); stratified test part (``test_fraction``), then val
    (``val_fraction`` of the remainder), train = rest. The usual UEA "resample" practice.
``tslib``
    train = TRAIN, val = test = TEST, as Time-Series-Library and the reproduced study did
    (model selection on the test set: optimistic, for comparison only).
``cv``
    stratified ``n_folds``-fold split of all pooled cases; ``fold`` is the test fold, val is a
    stratified ``val_fraction`` of the other folds. Over all folds every case is tested once.
``auto``
    ``official`` if a TEST file exists, else ``resample``.

Case ids (``Split.index``) are positions in the pooled array TRAIN followed by TEST.

Things to know about aeon's reader (``aeon.datasets.load_from_ts_file``): it returns
``[n, channels, length]`` float64 for equal-length data and a *list* of ``[channels, length_i]``
arrays for unequal length; it lower-cases every data line, so class labels come back lower-case
(``"Badminton"`` -> ``"badminton"``) and the substring ``nan`` inside a label becomes ``NaN``
(``"banana"`` -> ``"baNaNa"``; we map such labels back to the header's ``@classLabel`` values);
it silently returns zero cases for a file without ``@data``; and it rejects blank lines after
``@data`` (we then re-read a copy without them, with a note).
"""

from .containers import Dataset, Split
from .load import load_dataset, subsample
from .locate import (DEFAULT_BASE_URL, KNOWN_CHECKSUMS, available, cache_dir,
                     git_blob_sha1, known_dataset_names)
from .splits import PROTOCOLS

__all__ = [
    "DEFAULT_BASE_URL",
    "KNOWN_CHECKSUMS",
    "PROTOCOLS",
    "Dataset",
    "Split",
    "available",
    "cache_dir",
    "git_blob_sha1",
    "known_dataset_names",
    "load_dataset",
    "subsample",
]
