//! The common class space: the eight FER+ expressions, in the FER+ index order, and the mapping of every
//! data set's own expression codes onto it.
//!
//! All loaders label images with [`Expression::index`], so models trained on one data set can be evaluated on
//! another (cross-domain evaluation). A data set that has fewer expressions (JAFFE and BU-3DFE have no
//! contempt, FER2013 has no contempt) reports the ones it lacks through [`missing_classes`].

use std::fmt;
use std::str::FromStr;

/// One of the eight FER+ expression classes. The discriminant is the FER+ class index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expression {
    /// Index 0.
    Neutral = 0,
    /// Index 1.
    Happiness = 1,
    /// Index 2.
    Surprise = 2,
    /// Index 3.
    Sadness = 3,
    /// Index 4.
    Anger = 4,
    /// Index 5.
    Disgust = 5,
    /// Index 6.
    Fear = 6,
    /// Index 7.
    Contempt = 7,
}

/// Number of FER+ classes.
pub const NUM_CLASSES: usize = 8;

impl Expression {
    /// All classes, in FER+ index order.
    pub const ALL: [Expression; NUM_CLASSES] = [
        Expression::Neutral,
        Expression::Happiness,
        Expression::Surprise,
        Expression::Sadness,
        Expression::Anger,
        Expression::Disgust,
        Expression::Fear,
        Expression::Contempt,
    ];

    /// The FER+ class index (0..8).
    pub fn index(self) -> u32 {
        self as u32
    }

    /// The class with FER+ index `i`, if `i < 8`.
    pub fn from_index(i: u32) -> Option<Self> {
        Self::ALL.get(i as usize).copied()
    }

    /// The FER+ name, lower case (e.g. "happiness").
    pub fn name(self) -> &'static str {
        match self {
            Expression::Neutral => "neutral",
            Expression::Happiness => "happiness",
            Expression::Surprise => "surprise",
            Expression::Sadness => "sadness",
            Expression::Anger => "anger",
            Expression::Disgust => "disgust",
            Expression::Fear => "fear",
            Expression::Contempt => "contempt",
        }
    }

    /// The eight FER+ names in index order, as the `class_names` of an [`crate::ImageSet`].
    pub fn class_names() -> Vec<String> {
        Self::ALL.iter().map(|e| e.name().to_string()).collect()
    }

    /// The two-letter code used by JAFFE and BU-3DFE file names (`AN`, `DI`, `FE`, `HA`, `NE`, `SA`, `SU`).
    /// Contempt has none in those sets; `CO` is accepted for it.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.to_ascii_uppercase().as_str() {
            "NE" => Some(Expression::Neutral),
            "HA" => Some(Expression::Happiness),
            "SU" => Some(Expression::Surprise),
            "SA" => Some(Expression::Sadness),
            "AN" => Some(Expression::Anger),
            "DI" => Some(Expression::Disgust),
            "FE" => Some(Expression::Fear),
            "CO" => Some(Expression::Contempt),
            _ => None,
        }
    }

    /// FER2013 original label (`fer2013.csv` column `emotion`): 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad,
    /// 5 surprise, 6 neutral.
    pub fn from_fer2013(code: u32) -> Option<Self> {
        use Expression::*;
        [Anger, Disgust, Fear, Happiness, Sadness, Surprise, Neutral].get(code as usize).copied()
    }

    /// CK+ emotion code (the float in `*_emotion.txt`): 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear,
    /// 5 happy, 6 sadness, 7 surprise.
    pub fn from_ckplus(code: u32) -> Option<Self> {
        use Expression::*;
        [Neutral, Anger, Contempt, Disgust, Fear, Happiness, Sadness, Surprise].get(code as usize).copied()
    }

    /// AffectNet expression code: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt.
    /// Codes 8 (none), 9 (uncertain) and 10 (no face) have no expression and give `None`.
    pub fn from_affectnet(code: u32) -> Option<Self> {
        use Expression::*;
        [Neutral, Happiness, Sadness, Surprise, Fear, Disgust, Anger, Contempt].get(code as usize).copied()
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Expression {
    type Err = String;

    /// Parses a FER+ name or a common synonym used by other data sets' folder names (`happy`, `sad`, `angry`,
    /// `surprised`, `fearful`, `disgusted`, …), case-insensitively, or a two-letter JAFFE/BU-3DFE code.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let e = match lower.as_str() {
            "neutral" | "neutrality" => Expression::Neutral,
            "happiness" | "happy" | "joy" => Expression::Happiness,
            "surprise" | "surprised" => Expression::Surprise,
            "sadness" | "sad" => Expression::Sadness,
            "anger" | "angry" => Expression::Anger,
            "disgust" | "disgusted" => Expression::Disgust,
            "fear" | "fearful" | "afraid" => Expression::Fear,
            "contempt" | "contemptuous" => Expression::Contempt,
            _ => {
                return Expression::from_code(&lower).ok_or_else(|| {
                    format!(
                        "unknown expression '{s}' (expected one of neutral, happiness, surprise, sadness, anger, \
                         disgust, fear, contempt)"
                    )
                })
            }
        };
        Ok(e)
    }
}

/// The FER+ classes that do not occur among `labels` (FER+ indices), in index order. Indices of 8 or more are
/// ignored.
pub fn missing_classes(labels: impl IntoIterator<Item = u32>) -> Vec<Expression> {
    let mut seen = [false; NUM_CLASSES];
    for l in labels {
        if let Some(s) = seen.get_mut(l as usize) {
            *s = true;
        }
    }
    Expression::ALL.iter().copied().filter(|e| !seen[e.index() as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_ferplus_order() {
        let names: Vec<_> = Expression::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]);
        for (i, e) in Expression::ALL.iter().enumerate() {
            assert_eq!(e.index() as usize, i);
            assert_eq!(Expression::from_index(i as u32), Some(*e));
            assert_eq!(e.name().parse::<Expression>().unwrap(), *e);
        }
        assert_eq!(Expression::from_index(8), None);
    }

    #[test]
    fn dataset_codes_map_to_ferplus() {
        assert_eq!(Expression::from_fer2013(0), Some(Expression::Anger));
        assert_eq!(Expression::from_fer2013(3), Some(Expression::Happiness));
        assert_eq!(Expression::from_fer2013(6), Some(Expression::Neutral));
        assert_eq!(Expression::from_fer2013(7), None);
        assert_eq!(Expression::from_ckplus(2), Some(Expression::Contempt));
        assert_eq!(Expression::from_ckplus(7), Some(Expression::Surprise));
        assert_eq!(Expression::from_ckplus(8), None);
        assert_eq!(Expression::from_affectnet(2), Some(Expression::Sadness));
        assert_eq!(Expression::from_affectnet(6), Some(Expression::Anger));
        for code in 8..=10 {
            assert_eq!(Expression::from_affectnet(code), None);
        }
        assert_eq!(Expression::from_code("su"), Some(Expression::Surprise));
        assert_eq!("Happy".parse::<Expression>(), Ok(Expression::Happiness));
        assert!("smirk".parse::<Expression>().is_err());
    }

    #[test]
    fn missing_classes_lists_absent_ones() {
        assert_eq!(missing_classes([0, 1, 2, 3, 4, 5, 6]), vec![Expression::Contempt]);
        assert_eq!(missing_classes([1, 1, 9]).len(), 7);
        assert!(missing_classes(0..8).is_empty());
    }
}
