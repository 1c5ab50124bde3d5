"""Lucent's runner (torch-lucent 0.1.8 on PyTorch CPU, its own venv): render.render_vis.

The model is VGG16's conv stack built by hand in torch up to the target layer: caffe
preprocessing first (RGB in [0, 1] -> x255 -> BGR -> minus the ImageNet mean), then the conv
layers named as Keras names them, Keras kernels (3, 3, in, out) transposed to torch's
(out, in, 3, 3), ReLUs separate and not in place, so the hook on the target conv sees its
output before the ReLU. Lucent at its defaults: param.image(128, batch=N) (fft + decorrelate),
standard transforms, Adam 0.05, and its upsampling of images under 224 px to 224 before the
model (--model-size N: render_vis(fixed_image_size=N) instead); preprocess=False (its own is
torchvision's normalization, not VGG16's caffe input).
Objective: the sum of objectives.channel(layer, filter, batch=i). Timed: the render_vis call.
"""

from __future__ import annotations

import common  # first: the set-up clock starts at its import

# (name, output channels) in network order, pools after each block but the one ending the stack
BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def layer_names():
    return [f"block{b}_conv{c}" for b, (_, convs) in enumerate(BLOCKS, 1) for c in range(1, convs + 1)]


def torch_vgg(torch, weights: dict, upto: str):
    """nn.Sequential: caffe, then conv / ReLU / max-pool as VGG16 up to `upto` (its conv, no ReLU)."""
    from collections import OrderedDict

    nn = torch.nn
    mean = torch.tensor(common.CAFFE_MEAN_BGR, dtype=torch.float32).view(1, 3, 1, 1)

    class Caffe(nn.Module):
        def forward(self, x):
            return torch.flip(x, dims=[1]) * 255.0 - mean

    modules = OrderedDict(caffe=Caffe())
    for name in layer_names():
        kernel, bias = weights[name]
        conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
        conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        conv.bias.data = torch.from_numpy(bias.copy())
        modules[name] = conv
        if name == upto:
            break
        modules[name.replace("conv", "relu")] = nn.ReLU(inplace=False)
        block, number = name.split("_conv")
        if int(number) == BLOCKS[int(block[5:]) - 1][1]:
            modules[f"{block}_pool"] = nn.MaxPool2d(2, 2)
    return nn.Sequential(modules).eval()


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(__doc__, argv, extend=lambda parser: parser.add_argument(
        "--model-size", type=int, default=None, help="render_vis(fixed_image_size=N): the model's input side"))
    import numpy as np
    import torch
    import lucent
    from lucent.optvis import objectives, param, render

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = torch_vgg(torch, common.conv_weights(args.work), args.layer)
    for p in model.parameters():
        p.requires_grad_(False)
    objective = sum(objectives.channel(args.layer, f, batch=i) for i, f in enumerate(range(args.filters)))
    setup = common.setup_seconds()
    images, seconds = common.timed(lambda: render.render_vis(
        model, objective, param_f=lambda: param.image(args.size, batch=args.filters), thresholds=(args.steps,),
        preprocess=False, progress=False, show_image=False, fixed_image_size=args.model_size))
    final = common.unit_to_uint8(images[-1])
    canvas = (f"{args.model_size} px (fixed_image_size)" if args.model_size
              else f"{max(224, args.size)} px (Lucent upsamples images under 224 px)")
    notes = [f"spectral + decorrelated, Adam 0.05, standard transforms, pre-ReLU objective; model input "
             f"{canvas}, {torch.get_num_threads()} torch threads"]
    versions = {"torch-lucent": lucent.__version__, "torch": torch.__version__}
    common.save_result(args, "lucent", final, seconds, setup, versions, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
