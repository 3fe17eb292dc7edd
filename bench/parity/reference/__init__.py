"""PyTorch reference of the authors' SGM training, for sgm's whole-pipeline parity check (see ../README.md).

Modules: loss (SGM / DGMMLoss), sampler (exact C x S batches), augment (the paper's augmentation with OpenCV, and
normalisation), data (FER+ and the `sgm data synth` folder), model (sgm's ResNet18 in torchvision), evaluate (kNN
validation and test scores), train (the loop and sgm's metrics.jsonl). Nothing is imported here, so that the smoke
check loads only torch.
"""
