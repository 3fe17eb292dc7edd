//! Adam / AMSGrad against PyTorch 2.15's `torch.optim.Adam`, and its decoupled weight decay against
//! `torch.optim.AdamW`.
//!
//! ```python
//! import torch
//! P0 = [[0.5, -1.0, 0.25], [2.0, 0.0, -0.3]]
//! G = [[[0.1, -0.2, 0.3], [1.0, 0.0, -0.5]],
//!      [[-0.3, -0.1, 0.2], [0.5, 0.05, -0.4]],
//!      [[0.05, 0.4, -0.1], [-2.0, 0.01, 0.3]],
//!      [[0.001, -0.002, 0.0], [0.01, 0.0, 0.003]]]
//! for amsgrad, wd in ((True, 0.0), (True, 0.1), (False, 0.0)):
//!     p = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
//!     opt = torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.9), amsgrad=amsgrad, weight_decay=wd)
//!     for g in G:
//!         p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
//!     print(amsgrad, wd, p.detach().flatten().tolist())
//! for amsgrad in (True, False):  # AdamW, a decay large enough to dominate four steps
//!     p = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
//!     opt = torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.9), amsgrad=amsgrad, weight_decay=5.0)
//!     for g in G:
//!         p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
//!     print(amsgrad, ["%.12f" % x for x in p.detach().flatten().tolist()])
//! ```

use candle_core::{DType, Device, Tensor, Var};
use sgm_train::{Adam, AdamConfig};

const P0: [[f64; 3]; 2] = [[0.5, -1.0, 0.25], [2.0, 0.0, -0.3]];
const G: [[[f64; 3]; 2]; 4] = [
    [[0.1, -0.2, 0.3], [1.0, 0.0, -0.5]],
    [[-0.3, -0.1, 0.2], [0.5, 0.05, -0.4]],
    [[0.05, 0.4, -0.1], [-2.0, 0.01, 0.3]],
    [[0.001, -0.002, 0.0], [0.01, 0.0, 0.003]],
];

/// Runs the four steps; the gradient of `sum(p * g)` with respect to `p` is `g`.
fn run(dtype: DType, fused: bool, amsgrad: bool, weight_decay: f64) -> (Vec<f64>, Adam, Var) {
    run_with(dtype, fused, AdamConfig { amsgrad, weight_decay, ..AdamConfig::default() })
}

/// [`run`] with the decay decoupled (AdamW).
fn run_adamw(dtype: DType, fused: bool, amsgrad: bool, weight_decay: f64) -> Vec<f64> {
    let cfg = AdamConfig { amsgrad, weight_decay, decoupled_weight_decay: true, ..AdamConfig::default() };
    run_with(dtype, fused, cfg).0
}

/// The four steps at lr 0.01 and beta2 0.9 (the Python above), the rest of `cfg` as given.
fn run_with(dtype: DType, fused: bool, cfg: AdamConfig) -> (Vec<f64>, Adam, Var) {
    let dev = Device::Cpu;
    let p = Var::from_tensor(&Tensor::new(&P0, &dev).unwrap().to_dtype(dtype).unwrap()).unwrap();
    let cfg = AdamConfig { lr: 0.01, beta2: 0.9, ..cfg };
    let mut opt = Adam::with_fused(vec![("p".into(), p.clone())], cfg, fused).unwrap();
    for g in G {
        let g = Tensor::new(&g, &dev).unwrap().to_dtype(dtype).unwrap();
        let grads = (p.as_tensor() * &g).unwrap().sum_all().unwrap().backward().unwrap();
        opt.step(&grads).unwrap();
    }
    (p.as_tensor().to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap(), opt, p)
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: got {g}, want {w}");
    }
}

const AMSGRAD: [f64; 6] =
    [0.499652425525, -0.984108644258, 0.220050626387, 1.984108643482, -0.019275278727, -0.272395040552];
const AMSGRAD_WD: [f64; 6] =
    [0.492176812826, -0.976060393817, 0.218729097374, 1.980825876662, -0.018967366981, -0.271173821834];
const PLAIN: [f64; 6] =
    [0.499962549396, -0.984193901656, 0.219715500783, 1.984193900886, -0.019950824632, -0.272211638866];
const ADAMW_AMSGRAD: [f64; 6] =
    [0.407725526903, -0.800864415096, 0.176341193807, 1.615370664422, -0.018233838482, -0.219355918703];
const ADAMW_PLAIN: [f64; 6] =
    [0.408030336158, -0.800949672493, 0.176008547894, 1.615455921825, -0.018898886517, -0.219172517018];

#[test]
fn decoupled_weight_decay_matches_pytorch_adamw_on_both_paths() {
    for (amsgrad, want) in [(true, ADAMW_AMSGRAD), (false, ADAMW_PLAIN)] {
        assert_close(&run_adamw(DType::F64, false, amsgrad, 5.0), &want, 1e-11);
        assert_close(&run_adamw(DType::F32, true, amsgrad, 5.0), &want, 2e-6);
    }
    // Decoupled and coupled decay differ, and a decoupled decay of 0 is plain Adam to the last bit.
    let coupled = run(DType::F64, false, true, 5.0).0;
    assert!(coupled.iter().zip(&ADAMW_AMSGRAD).any(|(c, w)| (c - w).abs() > 1e-3));
    assert_eq!(run_adamw(DType::F32, true, true, 0.0), run(DType::F32, true, true, 0.0).0);
}

#[test]
fn tensor_path_matches_pytorch_in_f64() {
    assert_close(&run(DType::F64, false, true, 0.0).0, &AMSGRAD, 1e-11);
    assert_close(&run(DType::F64, false, true, 0.1).0, &AMSGRAD_WD, 1e-11);
    assert_close(&run(DType::F64, false, false, 0.0).0, &PLAIN, 1e-11);
}

#[test]
fn fused_kernel_matches_pytorch_in_f32() {
    for (amsgrad, wd, want) in [(true, 0.0, AMSGRAD), (true, 0.1, AMSGRAD_WD), (false, 0.0, PLAIN)] {
        let (got, opt, _) = run(DType::F32, true, amsgrad, wd);
        assert!(opt.is_fused());
        assert_close(&got, &want, 2e-6);
    }
}

#[test]
fn fused_kernel_equals_the_tensor_path_on_a_large_parameter() {
    // Large enough for the parallel chunked loop.
    let n = 300_000;
    let dev = Device::Cpu;
    let init: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.37).sin()).collect();
    let grad: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.11).cos() * 0.1).collect();
    let g = Tensor::from_vec(grad, n, &dev).unwrap();
    let mut results = Vec::new();
    for fused in [true, false] {
        let p = Var::from_tensor(&Tensor::from_vec(init.clone(), n, &dev).unwrap()).unwrap();
        let mut opt = Adam::with_fused(vec![("p".into(), p.clone())], AdamConfig::default(), fused).unwrap();
        for _ in 0..3 {
            let grads = (p.as_tensor() * &g).unwrap().sum_all().unwrap().backward().unwrap();
            opt.step(&grads).unwrap();
        }
        results.push(p.as_tensor().to_vec1::<f32>().unwrap());
    }
    let worst = results[0].iter().zip(&results[1]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-6, "fused and tensor paths differ by {worst}");
}

#[test]
fn state_round_trips_and_resumes_identically() {
    let (_, mut opt, p) = run(DType::F32, true, true, 0.0);
    let state: std::collections::HashMap<String, Tensor> = opt.state().unwrap().into_iter().collect();
    assert_eq!(state["step"].to_vec1::<i64>().unwrap(), vec![4]);
    for key in ["p.m", "p.v", "p.v_max"] {
        assert_eq!(state[key].dims(), &[2, 3]);
    }
    // A fresh optimiser loaded with the state continues exactly like the original.
    let q = Var::from_tensor(&p.as_tensor().copy().unwrap()).unwrap();
    let mut fresh = Adam::new(vec![("p".into(), q.clone())], opt.config().clone()).unwrap();
    fresh.load_state(&state).unwrap();
    assert_eq!(fresh.step_count(), 4);
    let g = Tensor::new(&[[0.3f32, -0.1, 0.7], [0.2, 0.0, -0.9]], &Device::Cpu).unwrap();
    for (var, optimiser) in [(&p, &mut opt), (&q, &mut fresh)] {
        let grads = (var.as_tensor() * &g).unwrap().sum_all().unwrap().backward().unwrap();
        optimiser.step(&grads).unwrap();
    }
    assert_eq!(p.as_tensor().to_vec2::<f32>().unwrap(), q.as_tensor().to_vec2::<f32>().unwrap());
    let mut missing = state.clone();
    missing.remove("p.v_max");
    let err = fresh.load_state(&missing).unwrap_err().to_string();
    assert!(err.contains("lacks 'p.v_max'"), "{err}");
}

#[test]
fn invalid_configuration_is_rejected() {
    let p = Var::new(&[1f32], &Device::Cpu).unwrap();
    for cfg in [
        AdamConfig { lr: 0.0, ..AdamConfig::default() },
        AdamConfig { beta1: 1.0, ..AdamConfig::default() },
        AdamConfig { eps: -1.0, ..AdamConfig::default() },
        AdamConfig { weight_decay: f64::NAN, ..AdamConfig::default() },
    ] {
        assert!(Adam::new(vec![("p".into(), p.clone())], cfg).is_err());
    }
}
