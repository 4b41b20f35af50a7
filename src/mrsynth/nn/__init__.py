"""Networks and losses for image-to-image translation: pix2pix, Nie et al.'s FCN GAN, NEC and CycleGAN."""

from __future__ import annotations

from mrsynth.nn.cnn_discriminator import CNNDiscriminator
from mrsynth.nn.dilated_fcn import DilatedFCN, fcn_receptive_field
from mrsynth.nn.gradient_losses import gradient_difference_loss, ngf_loss, normalized_gradient_field
from mrsynth.nn.image_pool import ImagePool
from mrsynth.nn.init import count_parameters, eval_mode, init_weights
from mrsynth.nn.losses import AdversarialLoss, masked_l1, masked_l2
from mrsynth.nn.norm import NORM_KINDS, norm_layer
from mrsynth.nn.patches import (
    extract_patches,
    grid_corners,
    predict_volume_by_patches,
    reconstruct_from_patches,
    sample_patches,
)
from mrsynth.nn.patchgan import MultiScaleDiscriminator, PatchDiscriminator, patch_receptive_field
from mrsynth.nn.residual import InputResidual
from mrsynth.nn.resnet import ResidualBlock, ResNetGenerator
from mrsynth.nn.unet import UNetGenerator

__all__ = [
    "InputResidual",
    "NORM_KINDS",
    "AdversarialLoss",
    "CNNDiscriminator",
    "DilatedFCN",
    "ImagePool",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "ResNetGenerator",
    "ResidualBlock",
    "UNetGenerator",
    "count_parameters",
    "eval_mode",
    "extract_patches",
    "fcn_receptive_field",
    "gradient_difference_loss",
    "grid_corners",
    "init_weights",
    "masked_l1",
    "masked_l2",
    "ngf_loss",
    "norm_layer",
    "normalized_gradient_field",
    "patch_receptive_field",
    "predict_volume_by_patches",
    "reconstruct_from_patches",
    "sample_patches",
]
