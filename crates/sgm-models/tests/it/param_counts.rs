//! Parameter counts against PyTorch equivalents.
//!
//! `param_counts.py` (beside this file) defines the same networks in PyTorch by hand (torchvision's and
//! kuangliu's layouts) and prints their trainable-parameter counts. Its output, with PyTorch 2.15:
//!
//! ```text
//! ("fmpnet", 1, 48, 64, None, true, 6131776),
//! ("fmpnet", 3, 64, 64, 8, true, 9805512),
//! ("cvgg13", 1, 48, 64, None, true, 5930496),
//! ("cvgg13", 3, 64, 64, 8, true, 7767176),
//! ("alexnet", 1, 48, 64, None, true, 57244416),
//! ("alexnet", 3, 64, 64, 8, true, 57248136),
//! ("alexnet", 3, 224, 64, None, true, 57266048),
//! ("resnet18", 1, 48, 64, None, true, 11203072),
//! ("resnet18", 3, 224, 64, 8, true, 11209864),
//! ("resnet18", 3, 64, 64, None, false, 11199744),
//! ("preact-resnet18", 1, 48, 64, None, true, 11197696),
//! ("preact-resnet18", 3, 32, 64, 8, true, 11199368),
//! ("preact-resnet18", 3, 64, 128, None, false, 11224896),
//! ```
//!
//! Columns: backbone, in_channels, input_size, embedding_dim, num_classes, batch_norm, parameters.
//! (Sanity check: torchvision's ResNet18 has 11,689,512 parameters with its 1000-way FC; replacing that FC by
//! Linear(512, 64) gives 11,209,344 for 3 channels, + 520 for an 8-way head = 11,209,864, the row above.)

use sgm_models::{model_info, BackboneKind, ModelConfig};

/// (backbone, in_channels, input_size, embedding_dim, num_classes, batch_norm, PyTorch parameter count).
type Row = (&'static str, usize, usize, usize, Option<usize>, bool, usize);

const PYTORCH: &[Row] = &[
    ("fmpnet", 1, 48, 64, None, true, 6131776),
    ("fmpnet", 3, 64, 64, Some(8), true, 9805512),
    ("cvgg13", 1, 48, 64, None, true, 5930496),
    ("cvgg13", 3, 64, 64, Some(8), true, 7767176),
    ("alexnet", 1, 48, 64, None, true, 57244416),
    ("alexnet", 3, 64, 64, Some(8), true, 57248136),
    ("alexnet", 3, 224, 64, None, true, 57266048),
    ("resnet18", 1, 48, 64, None, true, 11203072),
    ("resnet18", 3, 224, 64, Some(8), true, 11209864),
    ("resnet18", 3, 64, 64, None, false, 11199744),
    ("preact-resnet18", 1, 48, 64, None, true, 11197696),
    ("preact-resnet18", 3, 32, 64, Some(8), true, 11199368),
    ("preact-resnet18", 3, 64, 128, None, false, 11224896),
];

#[test]
fn parameter_counts_match_pytorch() {
    for &(name, in_channels, input_size, embedding_dim, num_classes, batch_norm, want) in PYTORCH {
        let cfg = ModelConfig {
            backbone: name.parse::<BackboneKind>().unwrap(),
            in_channels,
            input_size,
            embedding_dim,
            num_classes,
            batch_norm,
            dropout: 0.5,
            normalize_embedding: false,
        };
        let info = model_info(&cfg).unwrap();
        assert_eq!(info.params, want, "{cfg:?}");
        assert_eq!(info.name, name);
    }
}

#[test]
fn flops_follow_the_layer_arithmetic() {
    // CVGG13 at 48×48, 1 channel: conv multiply-adds per image, then the two FC layers.
    let convs: [(usize, usize, usize); 10] = [
        (1, 64, 48),
        (64, 64, 48),
        (64, 128, 24),
        (128, 128, 24),
        (128, 256, 12),
        (256, 256, 12),
        (256, 256, 12),
        (256, 256, 6),
        (256, 256, 6),
        (256, 256, 6),
    ];
    let macs: usize = convs.iter().map(|(i, o, s)| i * o * 9 * s * s).sum::<usize>() + 256 * 9 * 1024 + 1024 * 64;
    let info = model_info(&ModelConfig { input_size: 48, ..ModelConfig::new(BackboneKind::Cvgg13) }).unwrap();
    assert_eq!(info.flops, 2 * macs as u64);
    // ResNet18 at 224, 3 channels: torchvision's well-known 1.82 GMACs (with a 512→1000 FC; here 512→64).
    let info = model_info(&ModelConfig { in_channels: 3, input_size: 224, ..ModelConfig::new(BackboneKind::ResNet18) })
        .unwrap();
    let gmacs = info.flops as f64 / 2e9;
    assert!((1.80..1.83).contains(&gmacs), "{gmacs}");
}
