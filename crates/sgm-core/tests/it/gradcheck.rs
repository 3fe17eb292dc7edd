//! Finite-difference gradient checks: candle's autograd of every loss against central differences in f64.

use candle_core::{Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sgm_core::loss::{KnnConsistencyConfig, MixupConfig, MixupDraw};
use sgm_core::{CrossEntropyLoss, Miner, SgmConfig, SgmLoss, TripletLoss};

fn random(rows: usize, cols: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows * cols).map(|_| rng.random_range(-1.5..1.5)).collect()
}

/// Compares the autograd gradient of `f` at `x` with central differences.
fn check(x: Vec<f64>, shape: (usize, usize), f: impl Fn(&Tensor) -> Tensor) {
    let var = Var::from_tensor(&Tensor::from_vec(x.clone(), shape, &Device::Cpu).unwrap()).unwrap();
    let grad = f(var.as_tensor()).backward().unwrap().get(&var).unwrap().flatten_all().unwrap();
    let grad = grad.to_vec1::<f64>().unwrap();
    let h = 1e-6;
    for i in 0..x.len() {
        let eval = |delta: f64| {
            let mut y = x.clone();
            y[i] += delta;
            f(&Tensor::from_vec(y, shape, &Device::Cpu).unwrap()).to_scalar::<f64>().unwrap()
        };
        let numeric = (eval(h) - eval(-h)) / (2.0 * h);
        assert!(
            (numeric - grad[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
            "element {i}: autograd {} vs finite difference {numeric}",
            grad[i]
        );
    }
}

fn labels(v: &[u32]) -> Tensor {
    Tensor::new(v, &Device::Cpu).unwrap()
}

#[test]
fn sgm_gradient() {
    let y = labels(&[0, 1, 1, 3, 0, 3, 1, 0]);
    for sigma in [1.0, 0.5, 2.0] {
        check(random(8, 4, 7), (8, 4), |z| SgmLoss::new(sigma).forward(z, &y).unwrap());
    }
}

#[test]
fn sgm_with_extras_gradient() {
    let y = labels(&[0, 1, 1, 3, 0, 3, 1, 0]);
    let cfg = SgmConfig {
        sigma: 1.0,
        mixup: Some(MixupConfig { alpha: 2.0, seed: 3, draw: MixupDraw::PerSample }),
        knn_consistency: Some(KnnConsistencyConfig { weight: 0.01, k: 3 }),
        l2_weight: 0.05,
    };
    // Each call draws new mixup pairs, so every evaluation uses a fresh loss with the same seed.
    check(random(8, 4, 11), (8, 4), |z| SgmLoss::with_config(cfg.clone()).unwrap().forward(z, &y).unwrap());
}

#[test]
fn triplet_gradient_through_every_miner() {
    let y = labels(&[0, 0, 1, 1, 2, 2, 0, 1]);
    for miner in [Miner::AllValid, Miner::BatchAll, Miner::BatchHard, Miner::SemiHard] {
        let loss = TripletLoss::default();
        check(random(8, 3, 5), (8, 3), |z| {
            loss.forward_mined(z, &y, miner).unwrap().unwrap_or_else(|| z.sum_all().unwrap().affine(0.0, 0.0).unwrap())
        });
    }
}

#[test]
fn weighted_cross_entropy_gradient() {
    let y = labels(&[2, 0, 1, 2, 2]);
    let ce = CrossEntropyLoss::weighted(vec![1.0, 3.0, 0.5]).unwrap();
    check(random(5, 3, 9), (5, 3), |l| ce.forward(l, &y).unwrap());
}
