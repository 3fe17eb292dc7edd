"""sgm's ResNet18 (crates/sgm-models/src/backbones/resnet18.rs) as a torchvision ResNet.

torchvision's resnet18 layout with:
- conv1 = Conv2d(channels, 64, 7, stride 2, padding 3, bias=False);
- the last layer Linear(512, dim) registered as `embedding` (torchvision's `fc` removed), so the state-dict names
  are sgm's: conv1.weight, bn1.*, layerL.B.*, layerL.0.downsample.{0,1}.*, embedding.weight, embedding.bias;
- adaptive average pool (any input side from 32 up), BatchNorm eps 1e-5, momentum 0.1;
- batch_norm=False: every BatchNorm is the identity (no parameters), the convolutions stay bias-free (the authors'
  metric-learning variant).
Init as torchvision (and sgm): convs Kaiming normal (fan_out, ReLU), BN weight 1 / bias 0, the Linear PyTorch's
default (U(+-1/sqrt(512)) for weight and bias).
"""
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet


class _NoNorm(nn.Identity):
    def __init__(self, *args, **kwargs):
        super().__init__()


class EmbeddingResNet18(ResNet):
    def __init__(self, channels=1, dim=64, batch_norm=True):
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=dim,
                         norm_layer=nn.BatchNorm2d if batch_norm else _NoNorm)
        self.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.embedding = self.fc
        del self.fc

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.embedding(torch.flatten(self.avgpool(x), 1))


def build(channels=1, dim=64, batch_norm=True):
    return EmbeddingResNet18(channels, dim, batch_norm)
