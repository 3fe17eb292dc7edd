//! [`Builder`]: what a loader finds (pending images, exclusions, notes), then decoded in parallel and assembled
//! into a [`LoadedDataset`] with its [`LoadReport`].

use std::path::PathBuf;

use rayon::prelude::*;

use crate::classes::missing_classes;
use crate::dedup::{pixel_hash, DuplicateIndex, PixelHash};
use crate::error::{DataError, Result};
use crate::image_io::{self, Rect, ResizeFilter};
use crate::image_set::{ImageSet, SampleMeta, Split};

use super::{ExcludedItem, Format, LoadOptions, LoadReport, LoadedDataset, NativeSize, SkippedItem, SplitReport};

/// Where the pixels of a pending image come from.
#[derive(Debug, Clone)]
pub(crate) enum PixelSource {
    /// An image file.
    File(PathBuf),
    /// Pixels already at hand (FER2013 CSV rows): `width × height` luma bytes.
    Raw { width: u32, height: u32, pixels: Vec<u8> },
}

/// An image found by a loader, not yet decoded.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub split: Split,
    pub source: PixelSource,
    pub meta: SampleMeta,
    /// Face box to crop before resizing.
    pub crop: Option<Rect>,
    /// The index file and 1-based line that listed this image, for error messages.
    pub row: Option<(PathBuf, usize)>,
    /// False for images decoded only for the duplicate index (the label rule dropped them).
    pub keep: bool,
}

impl Pending {
    /// A kept image file with metadata.
    pub fn file(split: Split, path: PathBuf, meta: SampleMeta) -> Self {
        Self { split, source: PixelSource::File(path), meta, crop: None, row: None, keep: true }
    }
}

struct Decoded {
    pixels: Vec<u8>,
    size: (u32, u32),
    hash: Option<PixelHash>,
    /// Width, height (after the crop, before the resize) and colour of the image as stored.
    native: NativeFormat,
}

/// An image's stored size and whether it held colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct NativeFormat {
    width: u32,
    height: u32,
    colour: bool,
}

/// Collects what a loader finds, then decodes and assembles the [`LoadedDataset`].
pub(crate) struct Builder<'a> {
    opts: &'a LoadOptions,
    splits: Vec<Split>,
    pending: Vec<Pending>,
    pub report: LoadReport,
}

impl<'a> Builder<'a> {
    /// A builder for a data set with these splits (in output order).
    pub fn new(opts: &'a LoadOptions, splits: &[Split]) -> Self {
        let report = LoadReport { splits: splits.iter().map(|&s| SplitReport::new(s)).collect(), ..Default::default() };
        Self { opts, splits: splits.to_vec(), pending: Vec::new(), report }
    }

    /// True when the caller asked for `split` (see [`LoadOptions::splits`]).
    pub fn wants(&self, split: Split) -> bool {
        self.opts.splits.as_ref().is_none_or(|s| s.contains(&split))
    }

    fn split_report(&mut self, split: Split) -> &mut SplitReport {
        let i = self.splits.iter().position(|&s| s == split).unwrap_or(0);
        &mut self.report.splits[i]
    }

    /// Counts one image found in `split` (on disk or listed in an index).
    pub fn found(&mut self, split: Split) {
        self.split_report(split).found += 1;
    }

    /// Counts one image of `split` that the label rule drops.
    pub fn unlabelled(&mut self, split: Split) {
        self.split_report(split).unlabelled += 1;
    }

    /// Records an image excluded by a documented rule.
    pub fn exclude(&mut self, split: Split, source: PathBuf, reason: String) {
        self.split_report(split).excluded += 1;
        self.report.excluded.push(ExcludedItem { split, source, reason });
    }

    /// Handles bad input: an error, or with `skip_bad` a warning and a count.
    pub fn bad(&mut self, split: Split, err: DataError) -> Result<()> {
        if !self.opts.skip_bad {
            return Err(err);
        }
        tracing::warn!("skipping: {err}");
        self.split_report(split).skipped += 1;
        self.report.skipped.push(SkippedItem { split, reason: err.to_string() });
        Ok(())
    }

    /// Adds an image to decode.
    pub fn push(&mut self, p: Pending) {
        self.pending.push(p);
    }

    /// Adds a free-form note to the report.
    pub fn note(&mut self, note: impl Into<String>) {
        self.report.notes.push(note.into());
    }

    /// Decodes everything pending (in parallel), builds the duplicate index when `dedup` is set, and assembles one
    /// [`ImageSet`] per split. `ferplus_order` says the labels are FER+ class indices (so missing classes are
    /// reported).
    pub fn finish(
        mut self,
        format: Format,
        class_names: Vec<String>,
        ferplus_order: bool,
        dedup: bool,
    ) -> Result<LoadedDataset> {
        let opts = self.opts;
        let target = opts.size.map(|[h, w]| (w, h));
        if let Some((w, h)) = target {
            let kept = self.pending.iter().filter(|p| p.keep).count();
            // The decoded images and the assembled sets each hold every kept image once.
            crate::memory::probe((kept as u128) * u128::from(w) * u128::from(h) * 2, || {
                format!("{kept} images of {format} at {w}x{h} (the target size)")
            })?;
        }
        let results: Vec<Result<Decoded>> =
            self.pending.par_iter().map(|p| decode_one(p, target, opts.filter, dedup)).collect();
        let pending = std::mem::take(&mut self.pending);
        let mut items: Vec<(Pending, Decoded)> = Vec::with_capacity(pending.len());
        for (p, r) in pending.into_iter().zip(results) {
            match r {
                Ok(d) => items.push((p, d)),
                Err(e) => {
                    let e = match &p.row {
                        Some((file, line)) => DataError::record(file, *line, e.to_string()),
                        None => e,
                    };
                    self.bad(p.split, e)?;
                }
            }
        }
        self.check_native_formats(format, target, &mut items)?;
        // Without a target size, all kept images must share the size of the first one.
        let size = match target {
            Some(s) => s,
            None => items.iter().find(|(p, _)| p.keep).map(|(_, d)| d.size).unwrap_or((0, 0)),
        };
        let mut checked = Vec::with_capacity(items.len());
        for (p, d) in items {
            if p.keep && d.size != size {
                let e = DataError::Image {
                    path: p.meta.source.clone(),
                    reason: format!(
                        "size {}x{} differs from {}x{} of the other images; set a target size",
                        d.size.0, d.size.1, size.0, size.1
                    ),
                };
                self.bad(p.split, e)?;
                continue;
            }
            checked.push((p, d));
        }
        let index = dedup.then(|| {
            let entries: Vec<(Split, PixelHash)> =
                checked.iter().filter_map(|(p, d)| d.hash.map(|h| (p.split, h))).collect();
            DuplicateIndex::build(&entries)
        });
        let (width, height) = (size.0 as usize, size.1 as usize);
        let mut sets: Vec<ImageSet> = self
            .splits
            .iter()
            .map(|&split| ImageSet {
                name: format.as_str().to_string(),
                split,
                height,
                width,
                pixels: Vec::new(),
                samples: Vec::new(),
                class_names: class_names.clone(),
            })
            .collect();
        let mut per_split_pixels = vec![0usize; self.splits.len()];
        for (p, d) in checked.iter().filter(|(p, _)| p.keep) {
            let i = self.splits.iter().position(|&s| s == p.split).unwrap_or(0);
            per_split_pixels[i] += d.pixels.len();
        }
        for (k, (p, d)) in checked.into_iter().enumerate() {
            if !p.keep {
                continue;
            }
            let mut meta = p.meta;
            if let Some(idx) = &index {
                meta.group = idx.group_of[k];
                if opts.drop_cross_split_duplicates && meta.group.is_some_and(|g| idx.leaks_into(g, p.split)) {
                    self.split_report(p.split).dropped_duplicates += 1;
                    continue;
                }
            }
            let i = self.splits.iter().position(|&s| s == p.split).unwrap_or(0);
            if sets[i].pixels.capacity() == 0 {
                let n = per_split_pixels[i];
                crate::memory::reserve(&mut sets[i].pixels, n, || format!("the {} split of {format}", p.split))?;
            }
            sets[i].pixels.extend_from_slice(&d.pixels);
            sets[i].samples.push(meta);
        }
        for (set, rep) in sets.iter().zip(self.report.splits.iter_mut()) {
            rep.kept = set.len();
            rep.class_counts = set.class_counts();
        }
        self.report.duplicates = index.map(|i| i.stats);
        self.report.dedup_mode = dedup.then(|| {
            if opts.drop_cross_split_duplicates {
                "cross-split copies dropped from valid/test".to_string()
            } else {
                "duplicates kept (group ids set)".to_string()
            }
        });
        let keep_split = |s: &Split| opts.splits.as_ref().is_none_or(|w| w.contains(s));
        let mut report = self.report;
        report.splits.retain(|r| keep_split(&r.split));
        sets.retain(|s| keep_split(&s.split));
        if ferplus_order {
            report.missing_classes = missing_classes(sets.iter().flat_map(|s| s.samples.iter().map(|m| m.label)));
        }
        Ok(LoadedDataset { format, splits: sets, report })
    }
}

fn decode_one(p: &Pending, target: Option<(u32, u32)>, filter: ResizeFilter, want_hash: bool) -> Result<Decoded> {
    let path = p.meta.source.as_path();
    let (mut img, colour) = match &p.source {
        PixelSource::File(f) => image_io::decode_luma_colour(f)?,
        PixelSource::Raw { width, height, pixels } => {
            let img = image::GrayImage::from_raw(*width, *height, pixels.clone()).ok_or_else(|| DataError::Image {
                path: path.to_path_buf(),
                reason: "pixel count does not match size".into(),
            })?;
            (img, false)
        }
    };
    if let Some(rect) = p.crop {
        img = image_io::crop(&img, rect, path)?;
    }
    let native = NativeFormat { width: img.width(), height: img.height(), colour };
    let hash = want_hash.then(|| pixel_hash(img.width(), img.height(), img.as_raw()));
    if !p.keep {
        return Ok(Decoded { pixels: Vec::new(), size: (img.width(), img.height()), hash, native });
    }
    let img = match target {
        Some((w, h)) => image_io::resize(&img, w, h, filter),
        None => img,
    };
    Ok(Decoded { size: (img.width(), img.height()), pixels: img.into_raw(), hash, native })
}

impl Builder<'_> {
    /// Counts the kept images by stored size and colour, logs each size or colour other than the target once (a
    /// warning unless it is the data set's own, most common, format), records the counts in the report, and with
    /// [`LoadOptions::strict_size`] refuses every image that would be resized or converted from colour.
    fn check_native_formats(
        &mut self,
        format: Format,
        target: Option<(u32, u32)>,
        items: &mut Vec<(Pending, Decoded)>,
    ) -> Result<()> {
        let mut counts: std::collections::BTreeMap<NativeFormat, (usize, PathBuf)> = Default::default();
        for (p, d) in items.iter().filter(|(p, _)| p.keep) {
            counts.entry(d.native).or_insert((0, p.meta.source.clone())).0 += 1;
        }
        let fits = |n: &NativeFormat| !n.colour && target.is_none_or(|(w, h)| (n.width, n.height) == (w, h));
        let dominant = counts.iter().max_by_key(|(_, (c, _))| *c).map(|(n, _)| *n);
        let target_text = target.map_or("their first image's size".to_string(), |(w, h)| format!("{w}x{h}"));
        for (n, (count, example)) in &counts {
            self.report.native_sizes.push(NativeSize {
                width: n.width,
                height: n.height,
                colour: n.colour,
                count: *count,
                example: example.clone(),
                converted: !fits(n),
            });
            if fits(n) || self.opts.strict_size {
                continue;
            }
            let kind = if n.colour { "colour " } else { "" };
            let s = if *count == 1 { "" } else { "s" };
            let resized = target.is_some_and(|(w, h)| (n.width, n.height) != (w, h));
            let what = match (resized, n.colour) {
                (true, true) => format!("resized to {target_text} and converted to gray"),
                (true, false) => format!("resized to {target_text}"),
                _ => "converted to gray".to_string(),
            };
            let msg = format!(
                "{format}: {count} {kind}image{s} of {}x{} (e.g. {}) {what}",
                n.width,
                n.height,
                example.display()
            );
            if Some(*n) == dominant {
                tracing::info!("{msg}");
            } else {
                tracing::warn!("{msg}; --strict-size refuses such images");
            }
        }
        if self.opts.strict_size {
            let taken = std::mem::take(items);
            for (p, d) in taken {
                if p.keep && !fits(&d.native) {
                    let reason = format!(
                        "image is {}x{}{}, the data set's images are {target_text} gray (--strict-size)",
                        d.native.width,
                        d.native.height,
                        if d.native.colour { " colour" } else { "" }
                    );
                    let e = DataError::Layout { path: p.meta.source.clone(), reason };
                    self.bad(p.split, e)?;
                    continue;
                }
                items.push((p, d));
            }
        }
        Ok(())
    }
}
