//! [`FaceParams`]: everything that decides one synthetic image, drawn from its own random stream.
//!
//! Geometry is in "face units": a 96 × 96 canvas with the head centred, whatever the output size. The nuisance
//! factors (face shape, tones, hair, background clutter, head pose, lighting) are scaled by
//! [`SynthConfig::nuisance`](super::SynthConfig::nuisance); the expression enters only through [`Actions`].

use super::expression::{expression, Actions};
use crate::error::{DataError, Result};
use rand::Rng;

/// Internal scale of the nuisance ranges: calibrated so that `nuisance = 1` gives a raw-pixel kNN (K = 11)
/// accuracy of about 50 % (see `docs/synthetic-data.md`).
pub const NUISANCE_UNIT: f32 = 0.5;

/// Parameters of one synthetic face image.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceParams {
    /// Facial actions after intensity scaling and jitter.
    pub actions: Actions,
    /// The face wears glasses.
    pub glasses: bool,
    /// Child proportions.
    pub child: bool,
    /// +1 or −1: which lip corner the contempt smirk raises (+1 = image right).
    pub smirk_side: f32,
    /// Face half-width and half-height, and the face centre's y.
    pub face: (f32, f32, f32),
    /// Eye centre y, horizontal distance of each eye from the midline, eye half-width, eye half-height at rest.
    pub eyes: (f32, f32, f32, f32),
    /// Iris radius.
    pub iris_r: f32,
    /// Distance from eye centre up to the brow at rest, and brow thickness.
    pub brow: (f32, f32),
    /// Nostril y and half-width of the nose.
    pub nose: (f32, f32),
    /// Mouth centre y, mouth half-width at rest, lip thickness.
    pub mouth: (f32, f32, f32),
    /// Grey levels: background, skin, hair, brows, lips, iris, clothes, glasses frame.
    pub tones: Tones,
    /// Hair: extra half-width beyond the face, and the fringe's lowest point as a fraction (0..1) of the free
    /// forehead.
    pub hair: (f32, f32),
    /// Background blobs: centre x, centre y, radii, grey level.
    pub blobs: Vec<(f32, f32, f32, f32, u8)>,
    /// Head pose: in-plane rotation (radians), scale, shift x, shift y (face units).
    pub pose: (f32, f32, f32, f32),
    /// Lighting: gradient (grey levels per half-image along x and y), global contrast factor, brightness offset.
    pub light: (f32, f32, f32, f32),
}

/// Grey levels of the parts of a face image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tones {
    /// Background.
    pub background: u8,
    /// Skin.
    pub skin: u8,
    /// Hair.
    pub hair: u8,
    /// Eyebrows.
    pub brow: u8,
    /// Lips.
    pub lips: u8,
    /// Iris.
    pub iris: u8,
    /// Clothes.
    pub clothes: u8,
    /// Glasses frame.
    pub frame: u8,
}

fn u8c(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

impl FaceParams {
    /// Draws the parameters of one image of expression `label`, sub-class `subclass`, with nuisance strength `n`.
    /// Errors when the label or sub-class is out of range.
    pub fn sample<R: Rng>(rng: &mut R, label: u32, subclass: u32, n: f32) -> Result<Self> {
        let (base, spec) = expression(label, subclass)
            .ok_or_else(|| DataError::Config(format!("synth: no expression {label} with sub-class {subclass}")))?;
        let n = n * NUISANCE_UNIT;
        let mut u = |lo: f32, hi: f32| -> f32 {
            if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            }
        };
        // Nuisance-scaled symmetric jitter.
        let intensity = u(spec.intensity.0, spec.intensity.1);
        let mut actions = base.scaled(intensity);
        for a in actions.strengths_mut() {
            *a += u(0.0, 0.15) * n;
        }

        // Identity geometry varies with `g`, picture factors with `n` (ranges calibrated so that nuisance 1 gives the
        // documented raw-pixel kNN accuracy).
        let g = 0.6 * n;
        let mut face = (27.0 + g * u(-3.0, 3.0), 35.0 + g * u(-3.5, 3.5), 50.0 + g * u(-1.0, 1.0));
        let mut eyes =
            (face.2 - 6.0 + g * u(-1.5, 1.5), 12.0 + g * u(-1.5, 1.5), 6.0 + g * u(-0.8, 0.8), 3.2 + g * u(-0.5, 0.5));
        let mut iris_r = 2.6 + g * u(-0.3, 0.3);
        let mut brow = (7.5 + g * u(-1.5, 1.5), 2.6 + g * u(-0.8, 1.0));
        let mut nose = (eyes.0 + 15.0 + g * u(-2.0, 2.0), 5.0 + g * u(-1.0, 1.0));
        let mut mouth = (nose.0 + 10.0 + g * u(-1.5, 1.5), 9.5 + g * u(-1.5, 1.5), 2.5 + g * u(-0.7, 0.7));
        if spec.child {
            face = (face.0 * 1.1, face.1 * 0.9, face.2 + 2.0);
            eyes = (face.2 + 1.0, eyes.1 * 0.95, eyes.2 * 1.15, eyes.3 * 1.4);
            iris_r *= 1.3;
            brow = (brow.0 * 0.9, (brow.1 - 0.8).max(1.2));
            nose = (eyes.0 + 11.0, nose.1 * 0.7);
            mouth = (nose.0 + 8.0, mouth.1 * 0.8, mouth.2 * 0.9);
        }

        let skin = 155.0 + n * u(-30.0, 30.0);
        let hair = if u(0.0, 1.0) < 0.8 { u(5.0, 110.0) } else { u(140.0, 220.0) };
        let brow_tone = (skin * 0.45).min(hair + 20.0) + if spec.child { 25.0 } else { 0.0 };
        let tones = Tones {
            background: u8c(128.0 + n * u(-45.0, 45.0)),
            skin: u8c(skin),
            hair: u8c(hair),
            brow: u8c(brow_tone),
            lips: u8c(skin - u(25.0, 55.0)),
            iris: u8c(u(10.0, 70.0)),
            clothes: u8c(u(0.0, 255.0)),
            frame: u8c(u(0.0, 50.0)),
        };
        let hair_geom = (u(1.0, 6.0), u(0.0, 1.0));
        let n_blobs = if n > 0.0 { (u(0.0, 2.6) * (2.0 * n).min(1.0)) as usize } else { 0 };
        let blobs = (0..n_blobs)
            .map(|_| (u(0.0, 96.0), u(0.0, 96.0), u(6.0, 25.0), u(6.0, 25.0), u8c(u(0.0, 255.0))))
            .collect();
        let pose = (n * u(-8.0, 8.0).to_radians(), 1.0 + n * u(-0.07, 0.07), n * u(-3.0, 3.0), n * u(-3.0, 3.0));
        let theta = u(0.0, std::f32::consts::TAU);
        let amp = n * u(0.0, 25.0);
        let light = (amp * theta.cos(), amp * theta.sin(), 1.0 + n * u(-0.12, 0.12), n * u(-10.0, 10.0));
        let smirk_side = if u(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
        Ok(FaceParams {
            actions,
            glasses: spec.glasses,
            child: spec.child,
            smirk_side,
            face,
            eyes,
            iris_r,
            brow,
            nose,
            mouth,
            tones,
            hair: hair_geom,
            blobs,
            pose,
            light,
        })
    }
}
