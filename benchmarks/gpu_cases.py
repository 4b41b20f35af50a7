"""The networks, data and bare training steps `bench_gpu.py` times (a helper module, not a benchmark itself).

Each case is a spec section at a paper's widths, built by the project's own builders; its data is synthetic,
in memory, served by the project's own training sets (paired or unpaired slices, 3D patches), so `fit` and
the bare loop see the same batches. The bare loop is plain PyTorch: move the batch, forward, two Adam steps
under one GradScaler, no loss bookkeeping and no per-step synchronisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mrsynth.nn import AdversarialLoss, ImagePool, gradient_difference_loss, ngf_loss
from mrsynth.train.batches import Batch, SliceArrays, UnpairedSlices
from mrsynth.train.patches3d import PatchSubject, PatchTrainingSet

RESNET_9 = {"kind": "resnet", "n_blocks": 9, "base_width": 64, "norm": "instance"}
PATCHGAN_64 = {"kind": "patchgan", "n_layers": 3, "base_width": 64, "norm": "batch"}


@dataclass(frozen=True)
class Case:
    name: str
    data: str
    """paired | unpaired | patches"""
    size: tuple[int, ...]
    batch: int
    spec: dict
    """model, loss and masking sections, merged over the defaults."""


PAPER = [
    Case("pix2pix U-Net256/PatchGAN", "paired", (256, 256), 16, {
        "model": {"generator": {"kind": "unet", "depth": 8, "base_width": 64, "max_width": 512, "dropout": 0.5},
                  "discriminator": PATCHGAN_64},
        "loss": {"l1": 100.0, "adversarial": 1.0, "adversarial_kind": "bce", "conditional": True}}),
    Case("pix2pix U-Net256/PatchGAN", "paired", (512, 512), 4, {
        "model": {"generator": {"kind": "unet", "depth": 8, "base_width": 64, "max_width": 512, "dropout": 0.5},
                  "discriminator": PATCHGAN_64},
        "loss": {"l1": 100.0, "adversarial": 1.0, "adversarial_kind": "bce", "conditional": True}}),
    Case("Nie 3D FCN/CNN", "patches", (32, 32, 32), 16, {
        "model": {"generator": {"kind": "dilated_fcn", "dims": 3, "widths": [32, 32, 32, 64, 64, 64, 32, 32, 1]},
                  "discriminator": {"kind": "cnn", "widths": [32, 64, 128, 256], "fc": [512, 128, 1]}},
        "loss": {"l1": 0.0, "l2": 1.0, "gdl": 1.0, "adversarial": 0.5, "adversarial_kind": "bce", "conditional": False}}),
    Case("NEC ResNet9/2-scale PatchGAN", "unpaired", (256, 256), 4, {
        "model": {"generator": RESNET_9, "discriminator": {**PATCHGAN_64, "norm": "instance", "scales": 2}},
        "loss": {"kind": "nec", "adversarial": 1.0, "adversarial_kind": "lsgan", "ngf": 1.0}}),
    Case("CycleGAN 2xResNet9/2xPatchGAN", "unpaired", (256, 256), 1, {
        "model": {"generator": RESNET_9, "discriminator": {**PATCHGAN_64, "norm": "instance"}},
        "loss": {"kind": "cyclegan", "cycle_a": 10.0, "cycle_b": 10.0, "identity": 0.5, "pool_size": 50}}),
]

TINY_NETWORKS = {
    "unet": {"depth": 5, "base_width": 4, "max_width": 16},
    "dilated_fcn": {"widths": [4, 4, 4, 8, 8, 8, 4, 4, 1]},
    "resnet": {"n_blocks": 1, "base_width": 4},
    "patchgan": {"base_width": 4, "n_layers": 2},
    "cnn": {"widths": [4, 8, 16, 32], "fc": [16, 8, 1]},
}


def tiny(case: Case) -> Case:
    """The same case at CPU size: narrow networks, 32-pixel slices or 16-voxel patches, batch 2."""
    model = {role: {**net, **TINY_NETWORKS[net["kind"]]} for role, net in case.spec["model"].items()}
    size = (16, 16, 16) if case.data == "patches" else (32, 32)
    return Case(case.name, case.data, size, 2, {**case.spec, "model": model})


def experiment_data(case: Case, amp: bool, device: torch.device) -> dict:
    """The spec of one run of `case` as JSON data: one epoch, no flips, as `mrsynth run` would train it."""
    data = {"slicing": {"size": list(case.size[:2])}, "dataset": {"kind": "bids", "paired": case.data != "unpaired"}}
    if case.data == "patches":
        data["patches"] = {"size": list(case.size), "stride": case.size[0] // 2}
    return {"name": "bench-gpu", "data": data, "masking": {"kind": "none"}, **case.spec,
            "train": {"epochs": 1, "decay_epochs": 0, "batch_size": case.batch, "amp": amp, "flips": False,
                      "device": device.type},
            "eval": {"every": 1}}


def smooth_pairs(n: int, size: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, *size) smooth random images in [-1, 1] and an (*size) uint8 ball as brain mask: content does not change step time."""
    rng = np.random.default_rng(seed)
    noise = torch.from_numpy(rng.standard_normal((n, 2, *(max(2, s // 8) for s in size))).astype(np.float32))
    images = torch.tanh(F.interpolate(noise, size=size, mode="bilinear" if len(size) == 2 else "trilinear")).numpy()
    grid = np.indices(size, dtype=np.float32)
    centre = (np.array(size, dtype=np.float32) - 1) / 2
    ball = (((grid - centre.reshape(-1, *[1] * len(size))) / (0.4 * np.array(size)).reshape(-1, *[1] * len(size))) ** 2).sum(0) < 1
    return images, ball.astype(np.uint8)


def training_set(case: Case, steps: int):
    """`steps` full batches of the case's kind, in memory."""
    if case.data == "patches":
        volume = tuple(2 * s for s in case.size)
        images, ball = smooth_pairs(2, volume)
        subjects = [PatchSubject(f"s{i}", images[i, 0], images[i, 1], [ball] * 3, np.arange(volume[2])) for i in range(2)]
        return PatchTrainingSet(subjects, case.size, -(-steps * case.batch // 2), axis=2)
    n = steps * case.batch
    images, ball = smooth_pairs(n, case.size)
    arrays = SliceArrays(images[:, 0], images[:, 1], np.broadcast_to(ball, (n, 3, *case.size)).copy(), np.arange(n))
    return arrays if case.data == "paired" else UnpairedSlices(arrays, np.arange(n) % 4)


def _real_fake(adversarial: AdversarialLoss, discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    logits = discriminator(torch.cat([real, fake.detach()]))
    n = real.shape[0]
    if isinstance(logits, torch.Tensor):
        return adversarial.discriminator(logits[:n], logits[n:])
    return adversarial.discriminator([m[:n] for m in logits], [m[n:] for m in logits])


def _paired(loss, g, d, adversarial):
    judged = (lambda batch, image: torch.cat([batch.source, image], 1)) if loss.conditional else (lambda batch, image: image)

    def generator_loss(batch: Batch, fake: dict) -> torch.Tensor:
        image, target = fake["target"], batch.target
        total = loss.adversarial * adversarial.generator(d(judged(batch, image)))
        if loss.l1:
            total = total + loss.l1 * (image - target).abs().float().mean()
        if loss.l2:
            total = total + loss.l2 * (image - target).square().float().mean()
        if loss.gdl:
            total = total + loss.gdl * gradient_difference_loss(image, target, loss.gdl_exponent)
        return total

    return (lambda batch: {"target": g(batch.source)},
            lambda batch, fake: _real_fake(adversarial, d, judged(batch, batch.target), judged(batch, fake["target"])),
            generator_loss)


def _nec(loss, g, d, adversarial):
    return (lambda batch: {"target": g(batch.source)},
            lambda batch, fake: _real_fake(adversarial, d, batch.target, fake["target"]),
            lambda batch, fake: (loss.ngf * ngf_loss(batch.source, fake["target"], loss.ngf_eps)
                                 + loss.adversarial * adversarial.generator(d(fake["target"]))))


def _cyclegan(loss, g, d, adversarial):
    pools = ImagePool(loss.pool_size), ImagePool(loss.pool_size)
    forward, backward = g.forward_net, g.backward_net

    def generator_loss(batch: Batch, fake: dict) -> torch.Tensor:
        l1 = lambda a, b: (a - b).abs().float().mean()  # noqa: E731
        total = loss.adversarial * (adversarial.generator(d.target(fake["target"])) + adversarial.generator(d.source(fake["source"])))
        total = total + loss.cycle_a * l1(backward(fake["target"]), batch.source) + loss.cycle_b * l1(forward(fake["source"]), batch.target)
        return total + loss.identity * (loss.cycle_b * l1(forward(batch.target), batch.target)
                                        + loss.cycle_a * l1(backward(batch.source), batch.source))

    return (lambda batch: {"target": forward(batch.source), "source": backward(batch.target)},
            lambda batch, fake: (_real_fake(adversarial, d.target, batch.target, pools[0].query(fake["target"]))
                                 + _real_fake(adversarial, d.source, batch.source, pools[1].query(fake["source"]))),
            generator_loss)


BARE_LOSSES = {"paired": _paired, "nec": _nec, "cyclegan": _cyclegan}


def bare_step(exp, nets, device: torch.device) -> Callable[[Batch], None]:
    """One plain PyTorch training step of `nets` for `exp`'s loss, with Adam and AMP as `fit` sets them up."""
    g, d, train = nets.generator.to(device), nets.discriminator.to(device), exp.train
    amp = train.amp and device.type == "cuda"
    opt_g = torch.optim.Adam(g.parameters(), lr=train.lr_g, betas=tuple(train.betas))
    opt_d = torch.optim.Adam(d.parameters(), lr=train.lr_d, betas=tuple(train.betas))
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    forward, d_loss, g_loss = BARE_LOSSES[exp.loss.kind](exp.loss, g, d, AdversarialLoss(exp.loss.adversarial_kind))

    def step(batch: Batch) -> None:
        batch = batch.to(device, non_blocking=device.type == "cuda")
        with torch.autocast(device.type, enabled=amp):
            fake = forward(batch)
        opt_d.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=amp):
            loss = d_loss(batch, fake)
        scaler.scale(loss).backward()
        scaler.step(opt_d)
        opt_g.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=amp):
            loss = g_loss(batch, fake)
        scaler.scale(loss).backward()
        scaler.step(opt_g)
        scaler.update()

    return step
