from __future__ import annotations

import torch

from mrsynth.nn import UNetGenerator, init_weights, masked_l1


def test_unet_overfits_one_pair_with_masked_l1():
    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    source = (torch.sin(3 * xx) * torch.cos(2 * yy)).view(1, 1, 32, 32)
    target = 0.8 * torch.tanh(2 * source + yy)  # a smooth nonlinear mapping of the source
    mask = (xx**2 + yy**2 < 0.8).view(1, 1, 32, 32)
    net = init_weights(UNetGenerator(depth=3, base_width=8), "normal", 0.02)
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = masked_l1(net(source), target, mask)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
