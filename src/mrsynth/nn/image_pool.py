"""CycleGAN's history of generated images: the discriminator also sees older fakes, which damps oscillation."""

from __future__ import annotations

import torch


class ImagePool:
    """Buffer of up to `size` past fakes (Shrivastava et al. 2017; CycleGAN uses 50).

    `query(images)` goes image by image: while the pool is not full each image is stored and
    returned as is; once full, with probability `swap_probability` the image replaces a random
    stored one and the stored one is returned instead, otherwise the image itself is returned.
    Stored images are detached copies. Random draws use `generator` (torch's global RNG if None),
    so a seeded generator makes the sequence of answers reproducible. `size=0` disables the pool.
    """

    def __init__(self, size: int = 50, swap_probability: float = 0.5, generator: torch.Generator | None = None):
        if size < 0:
            raise ValueError(f"image pool size must be >= 0; got {size}")
        if not 0.0 <= swap_probability <= 1.0:
            raise ValueError(f"swap_probability must be in [0, 1]; got {swap_probability}")
        self.size = size
        self.swap_probability = swap_probability
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def _answer(self, image: torch.Tensor) -> torch.Tensor:
        """The image to return for one incoming `image`, updating the pool."""
        if len(self.images) < self.size:
            self.images.append(image.clone())
            return image
        if torch.rand((), generator=self.generator).item() >= self.swap_probability:
            return image
        index = int(torch.randint(len(self.images), (), generator=self.generator).item())
        stored, self.images[index] = self.images[index], image.clone()
        return stored

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch shaped like `images` (N, ...) mixing the new fakes with stored ones; never tracks gradients."""
        images = images.detach()
        if self.size == 0:
            return images
        return torch.stack([self._answer(image) for image in images])
