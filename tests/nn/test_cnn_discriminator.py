from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsynth.nn import AdversarialLoss, CNNDiscriminator, count_parameters


def _expected_parameters(dims, input_size, widths=(32, 64, 128, 256), fc=(512, 128, 1), in_channels=1):
    """Bias-free 3-wide convs + batch-norm affine per stage, then linear layers with biases."""
    channels = (in_channels, *widths)
    convs = sum(channels[i] * channels[i + 1] * 3**dims + 2 * channels[i + 1] for i in range(len(widths)))
    flat = widths[-1]
    for side in input_size:
        flat *= side // 8  # three 2x max-pools, each flooring
    features = (flat, *fc)
    return convs + sum(features[i] * features[i + 1] + features[i + 1] for i in range(len(fc)))


@pytest.mark.parametrize(("dims", "size"), [(2, (32, 32)), (3, (32, 32, 32)), (2, (36, 44))])
def test_one_logit_per_sample_and_parameter_count(dims, size):
    torch.manual_seed(0)
    net = CNNDiscriminator(dims=dims, input_size=size)
    logits = net(torch.randn(3, 1, *size))
    assert logits.shape == (3, 1)
    assert count_parameters(net) == _expected_parameters(dims, size)


def test_layout_three_pooled_stages_then_one_conv_then_linear():
    net = CNNDiscriminator(widths=(4, 8, 8, 16), fc=(16, 8, 1))
    kinds = [type(m) for m in net.features]
    assert kinds.count(nn.MaxPool2d) == 3 and kinds.count(nn.Conv2d) == 4
    assert kinds[-1] is nn.LeakyReLU  # the fourth conv stage is not pooled
    assert [m.out_features for m in net.classifier if isinstance(m, nn.Linear)] == [16, 8, 1]
    assert not any(isinstance(m, nn.Sigmoid) for m in net.modules())


def test_logits_train_with_bce_loss():
    torch.manual_seed(0)
    net = CNNDiscriminator(input_size=(16, 16), widths=(4, 8, 8, 8), fc=(16, 8, 1))
    real, fake = torch.randn(4, 1, 16, 16) + 1, torch.randn(4, 1, 16, 16) - 1
    loss_fn, optimiser = AdversarialLoss("bce"), torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(15):
        optimiser.zero_grad()
        loss = loss_fn.discriminator(net(real), net(fake))
        loss.backward()
        optimiser.step()
    net.eval()
    assert (net(real) > 0).all() and (net(fake) < 0).all()


def test_wrong_input_size_is_named():
    net = CNNDiscriminator(input_size=(32, 32))
    with pytest.raises(ValueError, match=r"input_size \(32, 32\).*\(64, 64\)"):
        net(torch.randn(1, 1, 64, 64))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="3 sides"):
        CNNDiscriminator(dims=3, input_size=(32, 32))
    with pytest.raises(ValueError, match=">= 8"):
        CNNDiscriminator(input_size=(4, 32))
    with pytest.raises(ValueError, match="widths"):
        CNNDiscriminator(widths=(8, 16))
    with pytest.raises(ValueError, match="kernel_size"):
        CNNDiscriminator(kernel_size=4)
