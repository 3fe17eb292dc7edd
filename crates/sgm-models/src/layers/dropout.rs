//! Dropout whose masks come from a seeded generator.
//!
//! candle's `Dropout` draws its mask from the device RNG, which cannot be seeded on the CPU; this one draws it from
//! the [`ForwardCtx`] generator, so a training run is reproducible from its seed.

use candle_core::Tensor;
use rand::Rng;

use super::ForwardCtx;
use crate::error::{invalid_config, Result};

/// Inverted dropout: in training each element is zeroed with probability `p` and the survivors are scaled by
/// 1/(1 − p); in evaluation it is the identity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeededDropout {
    p: f64,
}

impl SeededDropout {
    /// Dropout with drop probability `p` ∈ [0, 1).
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(invalid_config(format!("dropout must be in [0, 1), got {p}")));
        }
        Ok(SeededDropout { p })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Applies dropout when `ctx.train`, drawing the mask from `ctx.rng`.
    pub fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        if !ctx.train || self.p == 0.0 {
            return Ok(x.clone());
        }
        let scale = (1.0 / (1.0 - self.p)) as f32;
        let p = self.p;
        let mask: Vec<f32> =
            (0..x.elem_count()).map(|_| if ctx.rng.random::<f64>() < p { 0.0 } else { scale }).collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        Ok(x.mul(&mask)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn train_masks_and_scales_eval_is_identity() {
        let x = Tensor::ones((100, 100), DType::F32, &Device::Cpu).unwrap();
        let d = SeededDropout::new(0.5).unwrap();
        let mut ctx = ForwardCtx::new(true, ChaCha8Rng::seed_from_u64(3));
        let y = d.forward(&x, &mut ctx).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(y.iter().all(|v| *v == 0.0 || *v == 2.0));
        let kept = y.iter().filter(|v| **v > 0.0).count();
        assert!((4500..5500).contains(&kept), "{kept}");
        let again = d.forward(&x, &mut ForwardCtx::new(true, ChaCha8Rng::seed_from_u64(3))).unwrap();
        assert_eq!(again.flatten_all().unwrap().to_vec1::<f32>().unwrap(), y);
        let mut eval = ForwardCtx::new(false, ChaCha8Rng::seed_from_u64(3));
        let z = d.forward(&x, &mut eval).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(z.iter().all(|v| *v == 1.0));
        assert!(SeededDropout::new(1.0).is_err());
    }
}
