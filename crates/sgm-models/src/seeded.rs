//! A `VarBuilder` whose fresh variables are drawn from a seeded ChaCha8 generator.
//!
//! candle's CPU random number generator cannot be seeded, so `VarBuilder::from_varmap` initialises differently on
//! every run. [`seeded_var_builder`] keeps the [`VarMap`] semantics (variables live in the map, an existing name is
//! returned as it is) but draws every new variable from `ChaCha8Rng` seeded by the pair (seed, hash of the full
//! variable name). The weights therefore depend only on the seed and the name, never on construction order.

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, Init, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// 64-bit FNV-1a: a hash that is stable across Rust versions and platforms (unlike `DefaultHasher`).
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser: mixes two words into one well-spread seed.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Draws `n` values following the initialisation hint, from `rng`.
pub(crate) fn draw_init(init: Init, shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = shape.elem_count();
    let uniform = |rng: &mut ChaCha8Rng, lo: f64, up: f64| -> Vec<f32> {
        (0..n).map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32).collect()
    };
    let normal = |rng: &mut ChaCha8Rng, mean: f64, std: f64| -> Vec<f32> {
        (0..n).map(|_| (mean + std * rng.sample::<f64, _>(StandardNormal)) as f32).collect()
    };
    match init {
        Init::Const(c) => vec![c as f32; n],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming { dist, fan, non_linearity } => {
            let fan = fan.for_shape(shape).max(1);
            let std = non_linearity.gain() / (fan as f64).sqrt();
            match dist {
                NormalOrUniform::Normal => normal(rng, 0.0, std),
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(rng, -bound, bound)
                }
            }
        }
    }
}

/// The [`SimpleBackend`] behind [`seeded_var_builder`].
#[derive(Clone)]
pub struct SeededVarMapBackend {
    varmap: VarMap,
    seed: u64,
}

impl SeededVarMapBackend {
    /// A backend storing its variables in `varmap` and drawing new ones from `seed`.
    pub fn new(varmap: &VarMap, seed: u64) -> Self {
        SeededVarMapBackend { varmap: varmap.clone(), seed }
    }

    /// The generator used for the variable called `name`.
    pub fn rng_for(&self, name: &str) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(mix(self.seed, stable_hash(name.as_bytes())))
    }
}

impl SimpleBackend for SeededVarMapBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let mut data = self.varmap.data().lock().map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?;
        if let Some(var) = data.get(name) {
            if var.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: requested {s:?}, the VarMap holds {:?}", var.shape())
            }
            return Ok(var.as_tensor().clone());
        }
        let values = draw_init(h, &s, &mut self.rng_for(name));
        let tensor = Tensor::from_vec(values, s, &Device::Cpu)?.to_dtype(dtype)?.to_device(dev)?;
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let data = self.varmap.data().lock().map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?;
        match data.get(name) {
            Some(var) if var.dtype() == dtype && var.device().same_device(dev) => Ok(var.as_tensor().clone()),
            Some(var) => var.as_tensor().to_dtype(dtype)?.to_device(dev),
            None => candle_core::bail!("cannot find {name} in the VarMap (a shape is needed to create it)"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap.data().lock().map(|d| d.contains_key(name)).unwrap_or(false)
    }
}

/// A [`VarBuilder`] over `varmap` whose new variables are drawn deterministically from `seed`.
///
/// A variable already in `varmap` (for instance loaded from a checkpoint) is returned unchanged; a missing one is
/// drawn from `ChaCha8Rng` seeded by `(seed, FNV-1a hash of its full name)` following the layer's [`Init`] hint
/// (constant, normal, uniform, or Kaiming with fan-in/fan-out computed from the shape as PyTorch does), then
/// inserted into `varmap` as a [`Var`]. Values are drawn in `f32` and converted to `dtype`.
pub fn seeded_var_builder(varmap: &VarMap, seed: u64, dtype: DType, device: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(SeededVarMapBackend::new(varmap, seed)), dtype, device.clone())
}

/// Kaiming-normal initialisation in fan-out mode with the ReLU gain, as torchvision's ResNet and VGG use for conv
/// weights: N(0, 2 / (out_channels · kh · kw)).
pub const KAIMING_NORMAL_FAN_OUT: Init = Init::Kaiming {
    dist: NormalOrUniform::Normal,
    fan: FanInOut::FanOut,
    non_linearity: candle_nn::init::NonLinearity::ReLU,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn build(seed: u64, order: &[&str]) -> VarMap {
        let vm = VarMap::new();
        let vb = seeded_var_builder(&vm, seed, DType::F32, &Device::Cpu);
        for name in order {
            vb.get_with_hints((4, 3), name, KAIMING_NORMAL_FAN_OUT).unwrap();
        }
        vm
    }

    fn values(vm: &VarMap, name: &str) -> Vec<f32> {
        vm.data().lock().unwrap()[name].as_tensor().flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn same_seed_same_weights_regardless_of_order() {
        let a = build(7, &["a.weight", "b.weight"]);
        let b = build(7, &["b.weight", "a.weight"]);
        assert_eq!(values(&a, "a.weight"), values(&b, "a.weight"));
        assert_eq!(values(&a, "b.weight"), values(&b, "b.weight"));
        assert_ne!(values(&a, "a.weight"), values(&a, "b.weight"));
    }

    #[test]
    fn different_seed_different_weights() {
        let a = build(7, &["a.weight"]);
        let b = build(8, &["a.weight"]);
        assert_ne!(values(&a, "a.weight"), values(&b, "a.weight"));
    }

    #[test]
    fn existing_variables_are_kept() {
        let vm = VarMap::new();
        vm.data().lock().unwrap().insert("w".into(), Var::ones((2, 2), DType::F32, &Device::Cpu).unwrap());
        let vb = seeded_var_builder(&vm, 1, DType::F32, &Device::Cpu);
        let t = vb.get_with_hints((2, 2), "w", KAIMING_NORMAL_FAN_OUT).unwrap();
        assert_eq!(t.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![1.0; 4]);
        assert!(vb.get_with_hints((3, 2), "w", KAIMING_NORMAL_FAN_OUT).is_err());
    }

    #[test]
    fn init_hints_have_the_right_statistics() {
        let vm = VarMap::new();
        let vb = seeded_var_builder(&vm, 3, DType::F32, &Device::Cpu);
        let c = vb.get_with_hints(5, "c", Init::Const(0.25)).unwrap();
        assert_eq!(c.to_vec1::<f32>().unwrap(), vec![0.25; 5]);
        let u = vb.get_with_hints(20_000, "u", Init::Uniform { lo: -2.0, up: -1.0 }).unwrap().to_vec1::<f32>().unwrap();
        assert!(u.iter().all(|v| (-2.0..-1.0).contains(v)));
        let n =
            vb.get_with_hints(20_000, "n", Init::Randn { mean: 1.0, stdev: 0.01 }).unwrap().to_vec1::<f32>().unwrap();
        let (m, s) = mean_std(&n);
        assert!((m - 1.0).abs() < 1e-3 && (s - 0.01).abs() < 1e-3, "{m} {s}");
        // Kaiming normal, fan-out of (64, 16, 3, 3) = 64·9 = 576: std = sqrt(2/576).
        let k = vb.get_with_hints((64, 16, 3, 3), "k", KAIMING_NORMAL_FAN_OUT).unwrap().flatten_all().unwrap();
        let (m, s) = mean_std(&k.to_vec1::<f32>().unwrap());
        assert!(m.abs() < 0.01 && (s - (2.0f64 / 576.0).sqrt()).abs() < 0.005, "{m} {s}");
        assert_eq!(vm.all_vars().len(), 4);
    }

    fn mean_std(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().map(|x| *x as f64).sum::<f64>() / n;
        let var = v.iter().map(|x| (*x as f64 - m).powi(2)).sum::<f64>() / n;
        (m, var.sqrt())
    }
}
