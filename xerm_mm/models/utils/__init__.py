from .class_prior import check_tau, log_class_prior
from .pixel_aug_data_preprocessor import PixelAugClsDataPreprocessor
from .random_pad_crop_flip import RandomPadCropFlip, pad_crop_flip

__all__ = [
    'PixelAugClsDataPreprocessor', 'RandomPadCropFlip', 'pad_crop_flip',
    'check_tau', 'log_class_prior'
]
