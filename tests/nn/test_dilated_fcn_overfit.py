from __future__ import annotations

import torch

from mrsynth.nn import DilatedFCN, gradient_difference_loss, masked_l2


def test_dilated_fcn_overfits_one_pair_with_l2_and_gdl():
    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    source = (torch.sin(3 * xx) * torch.cos(2 * yy)).view(1, 1, 32, 32)
    target = 0.8 * torch.tanh(-2 * source + 0.5 * yy)  # an inverted, nonlinear contrast
    net = DilatedFCN(widths=(8, 8, 8, 16, 16, 16, 8, 8, 1))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        pred = net(source)
        loss = masked_l2(pred, target) + gradient_difference_loss(pred, target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
