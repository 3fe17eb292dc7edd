//! Every backbone runs at the edges of its documented input-size range (one image, zero weights, via
//! `model_info`), and the FLOP count grows with the input as expected.

use sgm_models::{model_info, BackboneKind, ModelConfig};

fn runs(kind: BackboneKind, size: usize) -> u64 {
    let cfg = ModelConfig { input_size: size, ..ModelConfig::new(kind) };
    model_info(&cfg).unwrap_or_else(|e| panic!("{kind} at {size}: {e}")).flops
}

#[test]
fn smallest_accepted_sizes_run() {
    for kind in BackboneKind::ALL {
        let (lo, _) = kind.input_size_range();
        assert!(runs(kind, lo) > 0);
        // Odd sizes too (floors everywhere).
        assert!(runs(kind, lo + 1) > 0);
    }
}

#[test]
fn largest_accepted_sizes_and_stem_switch_run() {
    // The cheap ends; CVGG13 at 256 and PreActResNet18 at 256 are covered by the same shape arithmetic.
    runs(BackboneKind::FmpNet, 128);
    runs(BackboneKind::AlexNet, 127); // largest with the 5×5/2 stem
    runs(BackboneKind::AlexNet, 128); // smallest with torchvision's 11×11/4 stem
    runs(BackboneKind::ResNet18, 512);
}

#[test]
fn flops_grow_with_the_input() {
    for kind in [BackboneKind::ResNet18, BackboneKind::PreActResNet18] {
        let (a, b) = (runs(kind, 48), runs(kind, 64));
        assert!(b > a, "{kind}: {a} at 48, {b} at 64");
    }
    // PreActResNet18's stride-1 stem: FLOPs scale with the area (up to the FC layer).
    let ratio = runs(BackboneKind::PreActResNet18, 64) as f64 / runs(BackboneKind::PreActResNet18, 32) as f64;
    assert!((ratio - 4.0).abs() < 0.01, "{ratio}");
}
