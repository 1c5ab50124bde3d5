"""A stand-in for `torchvision.transforms`, copied into the Lucent venv (see envs.py).

torch-lucent imports torchvision only for `Normalize`, used by `preprocess=True`; the bench
passes preprocess=False and puts caffe preprocessing in the model, so this is never called
there. It is still a faithful Normalize: (x - mean) / std per channel of a (C, H, W) tensor.
"""

import torch


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, tensor):
        return (tensor - self.mean.to(tensor)) / self.std.to(tensor)
