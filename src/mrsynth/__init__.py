"""mrsynth: configuration-as-data experiment registry for MRI image-to-image translation."""

__version__ = "0.1.0"
