//! The device choice: `cpu`, `cuda`, `cuda:N` or `metal`, as the command line names it.
//!
//! ```
//! let dev = sgm_train::device::parse("cpu")?;
//! assert!(dev.is_cpu());
//! assert!(sgm_train::device::parse("tpu").is_err());
//! # Ok::<(), sgm_train::TrainError>(())
//! ```

use candle_core::Device;

use crate::error::{Result, TrainError};

/// What a device name asks for, before any device is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    /// The CPU.
    Cpu,
    /// CUDA device number `n` (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The (first) Metal device.
    Metal,
}

impl DeviceRequest {
    /// Parses `cpu`, `cuda`, `cuda:N` or `metal` (surrounding blanks ignored, case-sensitive as the flags are).
    pub fn from_name(name: &str) -> Result<Self> {
        let unknown = || TrainError::Device {
            name: name.to_string(),
            reason: "unknown device (expected cpu, cuda, cuda:N or metal)".to_string(),
        };
        match name.trim() {
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" => Ok(DeviceRequest::Cuda(0)),
            "metal" => Ok(DeviceRequest::Metal),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceRequest::Cuda(n)),
                _ => Err(unknown()),
            },
        }
    }

    /// Whether this build of sgm can open such a device at all (`cuda` and `metal` need the cargo features of
    /// the same names).
    pub fn compiled_in(self) -> bool {
        match self {
            DeviceRequest::Cpu => true,
            DeviceRequest::Cuda(_) => cfg!(feature = "cuda"),
            DeviceRequest::Metal => cfg!(feature = "metal"),
        }
    }

    /// Opens the device.
    pub fn open(self, name: &str) -> Result<Device> {
        let err = |reason: String| TrainError::Device { name: name.to_string(), reason };
        // candle's errors carry a backtrace (with RUST_BACKTRACE set) after their first line: keep the message.
        let first_line = |e: candle_core::Error| e.to_string().lines().next().unwrap_or_default().to_string();
        if !self.compiled_in() {
            let feature = if matches!(self, DeviceRequest::Metal) { "metal" } else { "cuda" };
            return Err(err(format!(
                "this sgm was built without GPU support; rebuild with `--features {feature}` \
                 (docs/gpu.md), or use --device cpu"
            )));
        }
        match self {
            DeviceRequest::Cpu => Ok(Device::Cpu),
            DeviceRequest::Cuda(n) => Device::new_cuda(n).map_err(|e| {
                err(format!(
                    "cannot open CUDA device {n} (is there an NVIDIA GPU and driver on this machine?): {}",
                    first_line(e)
                ))
            }),
            DeviceRequest::Metal => {
                Device::new_metal(0).map_err(|e| err(format!("cannot open the Metal device: {}", first_line(e))))
            }
        }
    }
}

/// Parses and opens the device `name` (`cpu`, `cuda`, `cuda:N` or `metal`). Unknown names, GPU names on a build
/// without that GPU's feature, and GPUs that cannot be opened are [`TrainError::Device`] errors that say which.
pub fn parse(name: &str) -> Result<Device> {
    DeviceRequest::from_name(name)?.open(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(DeviceRequest::from_name("cpu").unwrap(), DeviceRequest::Cpu);
        assert_eq!(DeviceRequest::from_name(" cuda ").unwrap(), DeviceRequest::Cuda(0));
        assert_eq!(DeviceRequest::from_name("cuda:3").unwrap(), DeviceRequest::Cuda(3));
        assert_eq!(DeviceRequest::from_name("metal").unwrap(), DeviceRequest::Metal);
        for bad in ["", "gpu", "cuda:", "cuda:x", "cuda:-1", "CPU"] {
            let e = DeviceRequest::from_name(bad).unwrap_err().to_string();
            assert!(e.contains("unknown device") && e.contains("cuda:N"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn cpu_opens() {
        assert!(parse("cpu").unwrap().is_cpu());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let e = parse("cuda:1").unwrap_err().to_string();
        assert!(e.contains("cuda:1") && e.contains("--features cuda") && e.contains("--device cpu"), "{e}");
    }

    #[cfg(not(feature = "metal"))]
    #[test]
    fn metal_without_the_feature_says_how_to_get_it() {
        let e = parse("metal").unwrap_err().to_string();
        assert!(e.contains("--features metal"), "{e}");
    }
}
