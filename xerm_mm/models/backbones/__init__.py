from .resnet32 import BBNResNet32, ResNet32, ZeroPadShortcut

__all__ = ['ResNet32', 'BBNResNet32', 'ZeroPadShortcut']
