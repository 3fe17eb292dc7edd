//! The duplicate index: groups of images with identical pixels, within and across splits.
//!
//! FER2013 (and so FER+) holds exact duplicates, some of them in two or three splits. Retrieval and clustering
//! evaluation must be able to discount such leaked copies, so every loader of FER2013 pixels hashes each
//! decoded image (SHA-256 of its size and luma bytes, before any resize) and sets [`crate::SampleMeta::group`]:
//! images with identical pixels share a group id; an image with no duplicate has `None`.
//!
//! Split-spanning groups are counted by the exact set of splits they hold: a group with images in train and valid
//! only counts as train–valid, one in all three splits counts only as "all three". The four counts sum to
//! [`DuplicateStats::cross_split_groups`].

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::image_set::Split;

/// SHA-256 of an image's size and pixels.
pub type PixelHash = [u8; 32];

/// Hashes an 8-bit gray image of `width × height` pixels.
pub fn pixel_hash(width: u32, height: u32, pixels: &[u8]) -> PixelHash {
    let mut h = Sha256::new();
    h.update(width.to_le_bytes());
    h.update(height.to_le_bytes());
    h.update(pixels);
    h.finalize().into()
}

/// Summary of the duplicate groups of a data set.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DuplicateStats {
    /// Images indexed.
    pub indexed: usize,
    /// Groups of two or more images with identical pixels.
    pub groups: usize,
    /// Images in those groups.
    pub images: usize,
    /// Groups whose images lie in more than one split.
    pub cross_split_groups: usize,
    /// Groups spanning exactly train and valid.
    pub train_valid: usize,
    /// Groups spanning exactly train and test.
    pub train_test: usize,
    /// Groups spanning exactly valid and test.
    pub valid_test: usize,
    /// Groups spanning train, valid and test.
    pub all_three: usize,
}

/// Duplicate groups over a list of (split, hash) entries, e.g. all images of a data set.
#[derive(Debug, Clone, Default)]
pub struct DuplicateIndex {
    /// Group id of each entry, in the order given to [`DuplicateIndex::build`]; `None` for unique images.
    /// Group ids are numbered 0.. in order of the group's first entry.
    pub group_of: Vec<Option<u32>>,
    /// For each group, the splits that hold one of its images.
    pub group_splits: Vec<Vec<Split>>,
    /// Counts.
    pub stats: DuplicateStats,
}

impl DuplicateIndex {
    /// Builds the index.
    pub fn build(entries: &[(Split, PixelHash)]) -> Self {
        let mut members: HashMap<&PixelHash, Vec<usize>> = HashMap::new();
        let mut order: Vec<&PixelHash> = Vec::new();
        for (i, (_, h)) in entries.iter().enumerate() {
            let m = members.entry(h).or_default();
            if m.is_empty() {
                order.push(h);
            }
            m.push(i);
        }
        let mut group_of = vec![None; entries.len()];
        let mut group_splits = Vec::new();
        let mut stats = DuplicateStats { indexed: entries.len(), ..Default::default() };
        for h in order {
            let m = &members[h];
            if m.len() < 2 {
                continue;
            }
            let id = group_splits.len() as u32;
            let mut splits: Vec<Split> = Vec::new();
            for &i in m {
                group_of[i] = Some(id);
                if !splits.contains(&entries[i].0) {
                    splits.push(entries[i].0);
                }
            }
            stats.groups += 1;
            stats.images += m.len();
            if splits.len() > 1 {
                stats.cross_split_groups += 1;
                let has = |s| splits.contains(&s);
                match (has(Split::Train), has(Split::Valid), has(Split::Test)) {
                    (true, true, true) => stats.all_three += 1,
                    (true, true, false) => stats.train_valid += 1,
                    (true, false, true) => stats.train_test += 1,
                    (false, true, true) => stats.valid_test += 1,
                    _ => {}
                }
            }
            group_splits.push(splits);
        }
        Self { group_of, group_splits, stats }
    }

    /// True when `group` also holds an image of a split that comes before `split` in the order
    /// train → valid → test: such an image in `split` is a leaked copy. Always false for train and for
    /// [`Split::All`].
    pub fn leaks_into(&self, group: u32, split: Split) -> bool {
        let earlier: &[Split] = match split {
            Split::Valid => &[Split::Train],
            Split::Test => &[Split::Train, Split::Valid],
            Split::Train | Split::All => &[],
        };
        self.group_splits.get(group as usize).is_some_and(|s| s.iter().any(|x| earlier.contains(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_split_spans_are_counted() {
        let a = pixel_hash(2, 1, &[1, 2]);
        let b = pixel_hash(2, 1, &[3, 4]);
        let c = pixel_hash(2, 1, &[5, 6]);
        let d = pixel_hash(2, 1, &[7, 8]);
        let u = pixel_hash(2, 1, &[9, 9]);
        assert_ne!(pixel_hash(1, 2, &[1, 2]), a, "the size is part of the hash");
        let entries = vec![
            (Split::Train, a),
            (Split::Train, a),
            (Split::Train, b),
            (Split::Valid, b),
            (Split::Test, b),
            (Split::Valid, c),
            (Split::Test, c),
            (Split::Train, d),
            (Split::Test, d),
            (Split::Test, u),
        ];
        let idx = DuplicateIndex::build(&entries);
        let s = &idx.stats;
        assert_eq!((s.indexed, s.groups, s.images, s.cross_split_groups), (10, 4, 9, 3));
        assert_eq!((s.train_valid, s.train_test, s.valid_test, s.all_three), (0, 1, 1, 1));
        assert_eq!(idx.group_of[0], Some(0));
        assert_eq!(idx.group_of[1], Some(0));
        assert_eq!(idx.group_of[4], Some(1));
        assert_eq!(idx.group_of[9], None);
        assert!(idx.leaks_into(1, Split::Valid));
        assert!(!idx.leaks_into(2, Split::Valid));
        assert!(idx.leaks_into(2, Split::Test));
        assert!(!idx.leaks_into(0, Split::Train));
    }
}
