//! Loss values and gradients against PyTorch 2.15 (float64).
//!
//! The Python that produced every expected number:
//! ```python
//! import torch, torch.nn.functional as F
//! Z = [[0.5,-1.0,0.25],[0.1,0.3,-0.7],[1.2,0.4,0.0],[-0.3,0.8,1.1],[0.9,-0.2,0.6],[-1.1,0.05,0.35]]
//! Y = [0,0,2,2,5,5]
//! def sgm(z, y, sigma):
//!     classes = torch.unique(y)
//!     onehot = (y[:, None] == classes[None, :]).to(z.dtype)
//!     means = onehot.T @ z / onehot.sum(0)[:, None]
//!     d2 = ((z[:, None, :] - means[None, :, :])**2).sum(-1)
//!     logp = torch.log_softmax(-d2 / (2*sigma**2), dim=1)
//!     return ((logp.exp() - onehot)**2).sum(1).mean()
//! for sigma in (1.0, 0.5):
//!     z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
//!     loss = sgm(z, torch.tensor(Y), sigma); loss.backward()
//!     print(loss.item(), z.grad.flatten().tolist())
//! print(sgm(torch.tensor(Z, dtype=torch.float64) * 100, torch.tensor(Y), 1.0).item())
//! A = [[0.1,0.2,-0.3],[1.0,-0.5,0.2],[0.0,0.0,1.0],[-0.4,0.6,0.1]]
//! P = [[0.2,0.1,-0.2],[0.4,0.5,0.2],[0.3,-0.1,0.8],[-0.5,0.7,0.0]]
//! N = [[0.15,0.25,-0.1],[2.0,1.0,0.0],[0.9,0.9,0.9],[-0.4,0.55,0.12]]
//! a,p,n = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (A,P,N))
//! loss = F.triplet_margin_loss(a,p,n,margin=1.0,p=2) + 0.001*(a.norm()+p.norm()+n.norm())
//! loss.backward(); print(loss.item(), a.grad.flatten().tolist())
//! print(F.triplet_margin_loss(a,p,n,margin=1.0,p=2).item())
//! L = [[1.0,2.0,0.5,-1.0],[0.1,0.2,0.3,0.4],[-2.0,0.0,2.0,1.0],[0.5,0.5,-0.5,3.0],[1.5,-1.0,0.0,0.0]]
//! T = [1,3,2,3,0]; W = [0.5,2.0,1.0,4.0]
//! l = torch.tensor(L, dtype=torch.float64)
//! print(F.cross_entropy(l, torch.tensor(T)).item())
//! print(F.cross_entropy(l, torch.tensor(T), weight=torch.tensor(W, dtype=torch.float64)).item())
//! ```

use candle_core::{DType, Device, Tensor, Var};
use sgm_core::{CrossEntropyLoss, Miner, SgmLoss, TripletConfig, TripletLoss};

const Z: [[f64; 3]; 6] =
    [[0.5, -1.0, 0.25], [0.1, 0.3, -0.7], [1.2, 0.4, 0.0], [-0.3, 0.8, 1.1], [0.9, -0.2, 0.6], [-1.1, 0.05, 0.35]];
const Y: [u32; 6] = [0, 0, 2, 2, 5, 5];

fn z() -> Var {
    Var::from_tensor(&Tensor::new(&Z, &Device::Cpu).unwrap()).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: got {g}, want {w}");
    }
}

fn sgm_case(sigma: f64, want_loss: f64, want_grad: &[f64]) {
    let z = z();
    let labels = Tensor::new(&Y, &Device::Cpu).unwrap();
    let loss = SgmLoss::new(sigma).forward(z.as_tensor(), &labels).unwrap();
    assert_close(&[loss.to_scalar::<f64>().unwrap()], &[want_loss], 1e-12);
    let grad = loss.backward().unwrap().get(&z).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    assert_close(&grad, want_grad, 1e-11);
}

#[test]
fn sgm_matches_pytorch_sigma_1() {
    sgm_case(
        1.0,
        0.47872385308274534,
        &[
            -0.014078106752,
            0.061033807697,
            0.083224850432,
            -0.005737371107,
            0.071169663043,
            0.084263212566,
            -0.035737896475,
            -0.101357297316,
            -0.061324185703,
            -0.051640448547,
            -0.092339309272,
            -0.035381323374,
            0.057579191723,
            0.035824907242,
            -0.034660077165,
            0.049614631157,
            0.025668228607,
            -0.036122476756,
        ],
    );
}

#[test]
fn sgm_matches_pytorch_sigma_half() {
    sgm_case(
        0.5,
        0.22957718950998865,
        &[
            0.026937956901,
            0.104400617878,
            0.125546257253,
            0.056493050414,
            0.110287030117,
            0.099641576418,
            0.039747713991,
            -0.234912964825,
            -0.134786015515,
            -0.052464070714,
            -0.249247149014,
            -0.049991917533,
            0.037378610623,
            0.195684757814,
            -0.038184566248,
            -0.108093261214,
            0.073787708031,
            -0.002225334375,
        ],
    );
}

#[test]
fn sgm_is_finite_for_far_points_where_plain_exp_underflows() {
    let z = (Tensor::new(&Z, &Device::Cpu).unwrap() * 100.0).unwrap();
    let labels = Tensor::new(&Y, &Device::Cpu).unwrap();
    let loss = SgmLoss::new(1.0).forward(&z, &labels).unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[loss], &[0.3333333333333333], 1e-12);
}

#[test]
fn sgm_accepts_i64_and_u32_labels_alike_in_f32() {
    let z = Tensor::new(&Z, &Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
    let a = SgmLoss::new(1.0).forward(&z, &Tensor::new(&Y, &Device::Cpu).unwrap()).unwrap();
    let y64: Vec<i64> = Y.iter().map(|&y| y as i64).collect();
    let b = SgmLoss::new(1.0).forward(&z, &Tensor::new(y64, &Device::Cpu).unwrap()).unwrap();
    assert_eq!(a.dtype(), DType::F32);
    let (a, b) = (a.to_scalar::<f32>().unwrap(), b.to_scalar::<f32>().unwrap());
    assert_eq!(a, b);
    assert!((a as f64 - 0.47872385308274534).abs() < 1e-6);
}

#[test]
fn sgm_rejects_bad_input() {
    let z = Tensor::new(&Z, &Device::Cpu).unwrap();
    let short = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
    let err = SgmLoss::new(1.0).forward(&z, &short).unwrap_err().to_string();
    assert!(err.contains("2 labels for a batch of 6"), "{err}");
    let neg = Tensor::new(&[0i64, 1, -1, 0, 1, 0], &Device::Cpu).unwrap();
    let err = SgmLoss::new(1.0).forward(&z, &neg).unwrap_err().to_string();
    assert!(err.contains("label -1 at index 2"), "{err}");
    let labels = Tensor::new(&Y, &Device::Cpu).unwrap();
    assert!(SgmLoss::new(0.0).forward(&z, &labels).is_err());
    assert!(SgmLoss::new(f64::NAN).forward(&z, &labels).is_err());
}

const A: [[f64; 3]; 4] = [[0.1, 0.2, -0.3], [1.0, -0.5, 0.2], [0.0, 0.0, 1.0], [-0.4, 0.6, 0.1]];
const P: [[f64; 3]; 4] = [[0.2, 0.1, -0.2], [0.4, 0.5, 0.2], [0.3, -0.1, 0.8], [-0.5, 0.7, 0.0]];
const N: [[f64; 3]; 4] = [[0.15, 0.25, -0.1], [2.0, 1.0, 0.0], [0.9, 0.9, 0.9], [-0.4, 0.55, 0.12]];

#[test]
fn triplet_matches_pytorch_with_and_without_regulariser() {
    let dev = Device::Cpu;
    let a = Var::from_tensor(&Tensor::new(&A, &dev).unwrap()).unwrap();
    let (p, n) = (Tensor::new(&P, &dev).unwrap(), Tensor::new(&N, &dev).unwrap());
    let loss = TripletLoss::default().forward(a.as_tensor(), &p, &n).unwrap();
    assert_close(&[loss.to_scalar::<f64>().unwrap()], &[0.6385293606311608], 1e-12);
    let grad = loss.backward().unwrap().get(&a).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    assert_close(
        &grad,
        &[
            -0.085353701799,
            0.203380518856,
            0.091191676737,
            0.267034849385,
            -0.007919500092,
            -0.02744958741,
            -0.024211674045,
            0.243049567865,
            0.114630799814,
            0.144101391925,
            -0.376108313621,
            0.237238719584,
        ],
        1e-11,
    );
    let plain = TripletLoss::new(TripletConfig { frobenius_weight: 0.0, ..TripletConfig::default() }).unwrap();
    let loss = plain.forward(a.as_tensor(), &p, &n).unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[loss], &[0.6325588655568701], 1e-12);
}

#[test]
fn mined_triplets_are_valid_rows_of_the_batch_and_their_loss_is_forward_mined() {
    let dev = Device::Cpu;
    // The anchors of A as a batch of two classes, and the same batch with a single class.
    let z = Tensor::new(&A, &dev).unwrap();
    let labels = [0u32, 0, 1, 1];
    let y = Tensor::new(&labels, &dev).unwrap();
    let loss = TripletLoss::default();
    let (a, p, n) = loss.mine(&z, &y, Miner::AllValid).unwrap().unwrap();
    // All valid triplets: 4 anchors × 1 positive × 2 negatives, each a row of the batch with its label's rule.
    let rows = |t: &Tensor| t.to_vec2::<f64>().unwrap();
    let label_of = |row: &Vec<f64>| labels[A.iter().position(|r| r.as_slice() == row.as_slice()).unwrap()];
    let (a, p, n) = (rows(&a), rows(&p), rows(&n));
    assert_eq!(a.len(), 8);
    for i in 0..a.len() {
        assert_ne!(a[i], p[i]);
        assert_eq!(label_of(&a[i]), label_of(&p[i]));
        assert_ne!(label_of(&a[i]), label_of(&n[i]));
    }
    let t = |v: &Vec<Vec<f64>>| Tensor::new(v.clone(), &dev).unwrap();
    let direct = loss.forward(&t(&a), &t(&p), &t(&n)).unwrap().to_scalar::<f64>().unwrap();
    let mined = loss.forward_mined(&z, &y, Miner::AllValid).unwrap().unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[mined], &[direct], 1e-15);
    let one_class = Tensor::new(&[0u32; 4], &dev).unwrap();
    assert!(loss.mine(&z, &one_class, Miner::SemiHard).unwrap().is_none());
}

// Batch-all against PyTorch 2.15 (float64): every valid triplet, the hinge averaged over those still positive, and
// the regulariser over the rows those triplets gather.
// ```python
// import torch, torch.nn.functional as F
// z = torch.tensor([[0.3, -0.2, 0.9], [0.1, 0.4, 0.5], [1.2, 0.0, -0.3], [0.8, 0.6, 0.1], [-0.5, 0.9, 0.2],
//                   [0.0, -0.7, 0.4]], dtype=torch.float64, requires_grad=True)
// y = [0, 0, 1, 1, 2, 0]
// t = [(a, p, n) for a in range(6) for p in range(6) for n in range(6) if p != a and y[p] == y[a] and y[n] != y[a]]
// a, p, n = (torch.tensor([x[i] for x in t]) for i in range(3))
// h = F.triplet_margin_loss(z[a], z[p], z[n], margin=0.5, p=2, eps=1e-6, reduction="none")
// on = h > 0   # 11 of the 26 valid triplets; no hinge within 0.011 of 0 before the clamp
// loss = h[on].mean() + 0.001 * (z[a[on]].norm() + z[p[on]].norm() + z[n[on]].norm())
// loss.backward(); print(loss.item(), z.grad.flatten().tolist())
// ```
const BATCH_ALL_Z: [[f64; 3]; 6] =
    [[0.3, -0.2, 0.9], [0.1, 0.4, 0.5], [1.2, 0.0, -0.3], [0.8, 0.6, 0.1], [-0.5, 0.9, 0.2], [0.0, -0.7, 0.4]];

#[test]
fn batch_all_matches_pytorch_densely_and_as_mined_triplets() {
    let dev = Device::Cpu;
    let z = Var::from_tensor(&Tensor::new(&BATCH_ALL_Z, &dev).unwrap()).unwrap();
    let y = Tensor::new(&[0u32, 0, 1, 1, 2, 0], &dev).unwrap();
    let loss = TripletLoss::new(TripletConfig { margin: 0.5, ..TripletConfig::default() }).unwrap();
    let step = loss.step_mined(z.as_tensor(), &y, Miner::BatchAll).unwrap().unwrap();
    assert_close(&[step.loss.to_scalar::<f64>().unwrap()], &[0.30931255405137076], 1e-12);
    let grad = step.loss.backward().unwrap().get(&z).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let want = [
        0.21915096770344872,
        0.016556414307198924,
        0.030102310385013743,
        0.13838446903791202,
        0.819437848494701,
        -0.35103893062510616,
        -0.05095470067269457,
        -0.1475502342530886,
        0.003632194844160011,
        -0.47325310116091135,
        -0.18440996909102886,
        0.41366674830158595,
        0.13009599016339152,
        -0.10812995612718009,
        0.0653115591246803,
        0.04038594313370921,
        -0.39459649891314774,
        -0.15776509636786915,
    ];
    assert_close(&grad, &want, 1e-11);
    // The miner hands out the same 11 triplets, and the plain forward over them is the same loss.
    let (a, p, n) = loss.mine(z.as_tensor(), &y, Miner::BatchAll).unwrap().unwrap();
    assert_eq!(a.dims(), [11, 3]);
    let sparse = loss.forward(&a, &p, &n).unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[sparse], &[0.30931255405137076], 1e-12);
    // The logged distances are the active triplets' means; without the regulariser the loss is the hinge alone.
    let (ap, an) = (step.mean_ap.to_scalar::<f64>().unwrap(), step.mean_an.to_scalar::<f64>().unwrap());
    assert!(ap > 0.0 && an > 0.0 && ap - an + 0.5 > 0.0, "{ap} {an}");
    // 11 of the batch's 26 valid triplets are active (class 0: 3 × 2 ordered pairs × 3 negatives; class 1:
    // 2 × 1 × 4; class 2 has no positive); the mined triplets, taken as given, are all active.
    assert_eq!(step.active_fraction.to_scalar::<f64>().unwrap(), 11.0 / 26.0);
    assert_eq!(loss.step(&a, &p, &n).unwrap().active_fraction.to_scalar::<f64>().unwrap(), 1.0);
    // Given triplets count their own positive hinges: swapping positives and negatives of the 11 leaves those whose
    // d(a,n) − d(a,p) was under the margin both ways.
    let swapped = loss.step(&a, &n, &p).unwrap().active_fraction.to_scalar::<f64>().unwrap();
    let d = |x: &Tensor, y: &Tensor| (x - y).unwrap().sqr().unwrap().sum(1).unwrap().sqrt().unwrap();
    let (dap, dan) = (d(&a, &p).to_vec1::<f64>().unwrap(), d(&a, &n).to_vec1::<f64>().unwrap());
    let both = dap.iter().zip(&dan).filter(|(p, n)| (*n - *p + 0.5) > 1e-6).count();
    assert_eq!(swapped, both as f64 / 11.0);
    let plain = TripletLoss::new(TripletConfig { margin: 0.5, frobenius_weight: 0.0, ..TripletConfig::default() });
    let hinge = plain.unwrap().step_mined(z.as_tensor(), &y, Miner::BatchAll).unwrap().unwrap().loss;
    assert!(hinge.to_scalar::<f64>().unwrap() < 0.30931255405137076 - 1e-4);
    // A batch whose valid triplets all meet the margin gives no step; so does a batch of one class.
    let far = TripletLoss::new(TripletConfig { margin: 0.0, ..TripletConfig::default() }).unwrap();
    let split = Tensor::new(&[[0.0f64, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]], &dev).unwrap();
    let two = Tensor::new(&[0u32, 0, 1, 1], &dev).unwrap();
    assert!(far.step_mined(&split, &two, Miner::BatchAll).unwrap().is_none());
    assert!(loss.step_mined(&split, &Tensor::new(&[3u32; 4], &dev).unwrap(), Miner::BatchAll).unwrap().is_none());
}

const L: [[f64; 4]; 5] =
    [[1.0, 2.0, 0.5, -1.0], [0.1, 0.2, 0.3, 0.4], [-2.0, 0.0, 2.0, 1.0], [0.5, 0.5, -0.5, 3.0], [1.5, -1.0, 0.0, 0.0]];

#[test]
fn cross_entropy_matches_pytorch() {
    let logits = Tensor::new(&L, &Device::Cpu).unwrap();
    let t = Tensor::new(&[1u32, 3, 2, 3, 0], &Device::Cpu).unwrap();
    let plain = CrossEntropyLoss::new().forward(&logits, &t).unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[plain], &[0.5518472779546537], 1e-12);
    let weighted = CrossEntropyLoss::weighted(vec![0.5, 2.0, 1.0, 4.0]).unwrap();
    let w = weighted.forward(&logits, &t).unwrap().to_scalar::<f64>().unwrap();
    assert_close(&[w], &[0.6350245231766714], 1e-7); // weights are f32
    let bad = Tensor::new(&[1u32, 3, 2, 4, 0], &Device::Cpu).unwrap();
    let err = CrossEntropyLoss::new().forward(&logits, &bad).unwrap_err().to_string();
    assert!(err.contains("target 4 at index 3"), "{err}");
}

#[test]
fn balanced_weights_are_inverse_frequency() {
    // Counts 10, 30, 0, 60: weights ∝ 1/10, 1/30, 0, 1/60, normalised to mean 1 over present classes.
    let ce = CrossEntropyLoss::balanced(&[10, 30, 0, 60]).unwrap();
    let logits = Tensor::new(&[[0.0f32, 0.0, 0.0, 0.0]], &Device::Cpu).unwrap();
    // A uniform prediction gives ln 4 whatever the weights.
    let loss = ce.forward(&logits, &Tensor::new(&[1u32], &Device::Cpu).unwrap()).unwrap();
    assert!((loss.to_scalar::<f32>().unwrap() - 4f32.ln()).abs() < 1e-6);
    assert!(CrossEntropyLoss::balanced(&[0, 0]).is_err());
}
