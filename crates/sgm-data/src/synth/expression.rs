//! The eight expressions as facial-action changes, and the hidden sub-classes of each.
//!
//! An expression is a set of [`Actions`] (a simplified Facial Action Coding System: each field is one action
//! unit's strength, 0 = relaxed, 1 = full), scaled by a per-image intensity. The sub-classes are hidden factors
//! inside each class (glasses, child proportions, open vs closed mouth, intensity), listed in
//! [`SUBCLASS_NAMES`].

/// Class names of the synthetic set, in the FER+ index order.
pub const EXPRESSION_NAMES: [&str; 8] =
    ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"];

/// Number of hidden sub-classes in every expression class.
pub const SUBCLASSES_PER_CLASS: usize = 3;

/// Human-readable name of every sub-class, indexed `[label][subclass]`.
pub const SUBCLASS_NAMES: [[&str; SUBCLASSES_PER_CLASS]; 8] = [
    ["adult", "glasses", "child"],
    ["closed-mouth smile", "open-mouth laugh", "child"],
    ["jaw drop", "closed mouth", "glasses"],
    ["adult", "intense (eyes squeezed)", "glasses"],
    ["lips pressed", "shouting", "child"],
    ["adult", "glasses", "child"],
    ["open stretched mouth", "closed stretched mouth", "glasses"],
    ["adult smirk", "glasses", "child"],
];

/// Strength of each facial action (FACS action unit in brackets), each in 0..=1.5 after intensity scaling.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Actions {
    /// Whole brow raised (AU1+2).
    pub brow_raise: f32,
    /// Inner brow raised, oblique "worried" brows (AU1).
    pub brow_inner_raise: f32,
    /// Brows lowered and drawn together (AU4).
    pub brow_lower: f32,
    /// Upper lid raised, eyes wide open (AU5).
    pub eye_widen: f32,
    /// Lids tightened / eyes narrowed (AU7).
    pub lid_tighten: f32,
    /// Cheeks raised, lower lids pushed up, nasolabial folds (AU6).
    pub cheek_raise: f32,
    /// Nose wrinkled (AU9).
    pub nose_wrinkle: f32,
    /// Upper lip raised (AU10).
    pub upper_lip_raise: f32,
    /// Lip corners pulled up and out (AU12).
    pub lip_corner_pull: f32,
    /// Lip corners depressed (AU15).
    pub lip_corner_depress: f32,
    /// Lips stretched horizontally (AU20).
    pub lip_stretch: f32,
    /// Lips pressed thin (AU24).
    pub lip_press: f32,
    /// One lip corner tightened and raised (AU14, unilateral), the contempt smirk.
    pub smirk: f32,
    /// Jaw dropped, mouth open (AU26/27).
    pub jaw_drop: f32,
    /// Teeth shown when the mouth is open (0 = dark opening, 1 = white teeth band).
    pub teeth: f32,
}

impl Actions {
    /// Every action multiplied by `k` (teeth visibility is left as is).
    pub fn scaled(self, k: f32) -> Self {
        Self {
            brow_raise: self.brow_raise * k,
            brow_inner_raise: self.brow_inner_raise * k,
            brow_lower: self.brow_lower * k,
            eye_widen: self.eye_widen * k,
            lid_tighten: self.lid_tighten * k,
            cheek_raise: self.cheek_raise * k,
            nose_wrinkle: self.nose_wrinkle * k,
            upper_lip_raise: self.upper_lip_raise * k,
            lip_corner_pull: self.lip_corner_pull * k,
            lip_corner_depress: self.lip_corner_depress * k,
            lip_stretch: self.lip_stretch * k,
            lip_press: self.lip_press * k,
            smirk: self.smirk * k,
            jaw_drop: self.jaw_drop * k,
            teeth: self.teeth,
        }
    }

    /// Mutable references to every action strength except `teeth`, for adding small random jitter.
    pub fn strengths_mut(&mut self) -> [&mut f32; 14] {
        [
            &mut self.brow_raise,
            &mut self.brow_inner_raise,
            &mut self.brow_lower,
            &mut self.eye_widen,
            &mut self.lid_tighten,
            &mut self.cheek_raise,
            &mut self.nose_wrinkle,
            &mut self.upper_lip_raise,
            &mut self.lip_corner_pull,
            &mut self.lip_corner_depress,
            &mut self.lip_stretch,
            &mut self.lip_press,
            &mut self.smirk,
            &mut self.jaw_drop,
        ]
    }
}

/// What a sub-class changes besides the expression's actions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubclassSpec {
    /// The face wears glasses.
    pub glasses: bool,
    /// Child proportions: rounder face, features lower and larger eyes.
    pub child: bool,
    /// Range of the intensity multiplier applied to the actions.
    pub intensity: (f32, f32),
}

const ADULT: SubclassSpec = SubclassSpec { glasses: false, child: false, intensity: (0.55, 1.0) };
const GLASSES: SubclassSpec = SubclassSpec { glasses: true, ..ADULT };
const CHILD: SubclassSpec = SubclassSpec { child: true, ..ADULT };
const INTENSE: SubclassSpec = SubclassSpec { intensity: (0.95, 1.25), ..ADULT };

/// The actions of expression `label` in sub-class `subclass` at intensity 1, and the sub-class's other factors;
/// `None` when `label >= 8` or `subclass >= SUBCLASSES_PER_CLASS`.
pub fn expression(label: u32, subclass: u32) -> Option<(Actions, SubclassSpec)> {
    if label as usize >= EXPRESSION_NAMES.len() || subclass as usize >= SUBCLASSES_PER_CLASS {
        return None;
    }
    let a = Actions::default();
    let spec = [ADULT, GLASSES, CHILD];
    Some(match (label, subclass) {
        // neutral: no action; sub-classes differ only in appearance.
        (0, s) => (a, spec[s as usize]),
        // happiness: AU6 + AU12; sub-class 1 laughs with the jaw dropped and teeth showing.
        (1, 0) => (Actions { cheek_raise: 0.7, lip_corner_pull: 1.0, ..a }, ADULT),
        (1, 1) => (
            Actions { cheek_raise: 1.0, lid_tighten: 0.3, lip_corner_pull: 1.0, jaw_drop: 0.7, teeth: 1.0, ..a },
            INTENSE,
        ),
        (1, _) => (Actions { cheek_raise: 0.7, lip_corner_pull: 1.0, jaw_drop: 0.15, ..a }, CHILD),
        // surprise: AU1+2, AU5, AU26; sub-class 1 keeps the mouth closed.
        (2, 1) => (Actions { brow_raise: 1.0, eye_widen: 1.0, jaw_drop: 0.05, ..a }, ADULT),
        (2, s) => (Actions { brow_raise: 1.0, eye_widen: 1.0, jaw_drop: 1.0, ..a }, spec[if s == 2 { 1 } else { 0 }]),
        // sadness: AU1 + AU4 (light) + AU15; sub-class 1 squeezes the eyes (crying).
        (3, 1) => (
            Actions { brow_inner_raise: 1.0, brow_lower: 0.3, lid_tighten: 0.9, lip_corner_depress: 1.0, ..a },
            INTENSE,
        ),
        (3, s) => (
            Actions { brow_inner_raise: 1.0, brow_lower: 0.2, lid_tighten: 0.3, lip_corner_depress: 1.0, ..a },
            spec[if s == 2 { 1 } else { 0 }],
        ),
        // anger: AU4 + AU7 + AU24; sub-class 1 shouts (jaw drop, teeth).
        (4, 1) => (
            Actions { brow_lower: 1.0, lid_tighten: 0.7, jaw_drop: 0.75, teeth: 1.0, upper_lip_raise: 0.4, ..a },
            ADULT,
        ),
        (4, s) => {
            (Actions { brow_lower: 1.0, lid_tighten: 0.7, lip_press: 1.0, ..a }, spec[if s == 2 { 2 } else { 0 }])
        }
        // disgust: AU9 + AU10 (+ AU4, AU15 light).
        (5, s) => (
            Actions {
                nose_wrinkle: 1.0,
                upper_lip_raise: 1.0,
                brow_lower: 0.5,
                lid_tighten: 0.5,
                lip_corner_depress: 0.4,
                cheek_raise: 0.3,
                ..a
            },
            spec[s as usize],
        ),
        // fear: AU1+2+4, AU5, AU20 (+ AU26); sub-class 1 keeps the mouth closed.
        (6, 1) => (
            Actions { brow_raise: 0.6, brow_inner_raise: 0.7, brow_lower: 0.3, eye_widen: 1.0, lip_stretch: 1.0, ..a },
            ADULT,
        ),
        (6, s) => (
            Actions {
                brow_raise: 0.6,
                brow_inner_raise: 0.7,
                brow_lower: 0.3,
                eye_widen: 1.0,
                lip_stretch: 1.0,
                jaw_drop: 0.5,
                teeth: 0.6,
                ..a
            },
            spec[if s == 2 { 1 } else { 0 }],
        ),
        // contempt (label 7, the only one left after the range check): unilateral AU14, slight lid tightening.
        (_, s) => (Actions { smirk: 1.0, lid_tighten: 0.2, ..a }, spec[s as usize]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_and_subclass_is_defined_and_distinct_from_neutral() {
        for label in 0..8u32 {
            for s in 0..SUBCLASSES_PER_CLASS as u32 {
                let (a, spec) = expression(label, s).unwrap();
                assert!(spec.intensity.0 > 0.0 && spec.intensity.0 < spec.intensity.1);
                if label > 0 {
                    assert_ne!(a, Actions::default(), "class {label} sub-class {s} has no action");
                }
            }
        }
    }

    #[test]
    fn subclasses_of_a_class_differ() {
        for label in 0..8u32 {
            let specs: Vec<_> = (0..3).map(|s| expression(label, s).unwrap()).collect();
            for i in 0..3 {
                for j in i + 1..3 {
                    assert_ne!(specs[i], specs[j], "class {label}: sub-classes {i} and {j} are identical");
                }
            }
        }
    }

    #[test]
    fn scaling_by_zero_relaxes_the_face() {
        let (a, _) = expression(2, 0).unwrap();
        assert!(expression(8, 0).is_none() && expression(0, 3).is_none());
        let z = a.scaled(0.0);
        assert_eq!(Actions { teeth: a.teeth, ..Actions::default() }, z);
    }
}
