"""Converters of datasets to the layouts the datasets read (the logic behind the thin command
lines of ``tools/dataset_converters/``):

- :mod:`.sens_reader`: reader of ScanNet ``.sens`` streams;
- :mod:`.export_sens`: ``.sens`` -> the ScanNet frames layout;
- :mod:`.preconvert_frames`: a frames root -> one that loads ~2-4x faster in pre-training
  (:mod:`.preconvert_marker`: its output's source and settings, what a rerun may continue);
- :mod:`.scannet_to_coco`: ScanNet instance maps -> COCO json (needs pycocotools);
- :mod:`.nyuv2`: NYUv2's ``.mat`` files -> PNG folders (needs h5py).

Submodules are imported on use (their optional dependencies stay optional).
"""
