from .resnet32 import BBNResNet32, ResNet32, ZeroPadShortcut
from .ride_resnet32 import RIDEResNet32

__all__ = ['ResNet32', 'BBNResNet32', 'RIDEResNet32', 'ZeroPadShortcut']
