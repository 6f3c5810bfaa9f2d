from .rgbd_data_preprocessor import RGBDDataPreprocessor  # noqa: F401
