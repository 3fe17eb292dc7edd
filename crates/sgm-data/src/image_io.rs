//! Image decoding to 8-bit luma, cropping and resizing, one image or many in parallel.
//!
//! Decoding uses the `image` crate with only the PNG, JPEG, TIFF and BMP codecs. Colour images are converted to
//! luma with the `image` crate's Rec. 709 weights. 8-bit palette TIFFs (some JAFFE files are palette images with a
//! gray palette), which neither `image` nor `tiff` decode, are handled here: the palette indices are decoded as
//! gray and then looked up in the TIFF colour map, so the result is the true luma of the palette colour.
//!
//! Resizing uses `image::imageops::resize` with the filter chosen in [`ResizeFilter`]; the default is
//! [`ResizeFilter::Triangle`] (bilinear), a good choice for downscaling faces by small factors. Every error
//! names the file.

use std::path::{Path, PathBuf};

use image::{imageops, GrayImage};
use rayon::prelude::*;

use crate::error::{DataError, Result};

/// The resampling filter used to resize images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeFilter {
    /// Nearest neighbour: fastest, blocky.
    Nearest,
    /// Linear (bilinear) interpolation: the default; smooth, no ringing.
    #[default]
    Triangle,
    /// Cubic (Catmull–Rom): sharper than bilinear, slight ringing.
    CatmullRom,
    /// Lanczos with window 3: sharpest and slowest.
    Lanczos3,
}

impl ResizeFilter {
    fn to_image(self) -> imageops::FilterType {
        match self {
            ResizeFilter::Nearest => imageops::FilterType::Nearest,
            ResizeFilter::Triangle => imageops::FilterType::Triangle,
            ResizeFilter::CatmullRom => imageops::FilterType::CatmullRom,
            ResizeFilter::Lanczos3 => imageops::FilterType::Lanczos3,
        }
    }
}

/// A rectangle in pixel coordinates (for face-box crops).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
}

/// Reads and decodes the image file at `path` to 8-bit luma.
pub fn decode_luma(path: &Path) -> Result<GrayImage> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_luma_bytes(&bytes, path)
}

/// Decodes an encoded image (PNG, JPEG, TIFF incl. 8-bit palette TIFF, BMP) to 8-bit luma. `path` is used in
/// errors only.
pub fn decode_luma_bytes(bytes: &[u8], path: &Path) -> Result<GrayImage> {
    decode_luma_bytes_colour(bytes, path).map(|(img, _)| img)
}

/// As [`decode_luma`], and whether the file held colour (RGB, RGBA or a colour palette) before the conversion.
pub fn decode_luma_colour(path: &Path) -> Result<(GrayImage, bool)> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_luma_bytes_colour(&bytes, path)
}

/// As [`decode_luma_bytes`], and whether the image held colour before the conversion to luma.
pub fn decode_luma_bytes_colour(bytes: &[u8], path: &Path) -> Result<(GrayImage, bool)> {
    let bad = |reason: String| DataError::Image { path: path.to_path_buf(), reason };
    match palette_tiff::inspect(bytes) {
        Ok(Some((patched, lut, colour))) => {
            let mut img = image::load_from_memory(&patched).map_err(|e| bad(e.to_string()))?.into_luma8();
            for p in img.pixels_mut() {
                p.0[0] = lut[p.0[0] as usize];
            }
            Ok((img, colour))
        }
        Ok(None) => {
            let img = image::load_from_memory(bytes).map_err(|e| bad(e.to_string()))?;
            let colour = img.color().has_color();
            Ok((img.into_luma8(), colour))
        }
        Err(reason) => Err(bad(reason)),
    }
}

/// Crops `rect` out of `img`; errors (naming `path`) when the rectangle is empty or leaves the image.
pub fn crop(img: &GrayImage, rect: Rect, path: &Path) -> Result<GrayImage> {
    let fits = rect.width > 0
        && rect.height > 0
        && u64::from(rect.x) + u64::from(rect.width) <= u64::from(img.width())
        && u64::from(rect.y) + u64::from(rect.height) <= u64::from(img.height());
    if !fits {
        return Err(DataError::Image {
            path: path.to_path_buf(),
            reason: format!(
                "crop box x={} y={} w={} h={} does not fit in the {}x{} image",
                rect.x,
                rect.y,
                rect.width,
                rect.height,
                img.width(),
                img.height()
            ),
        });
    }
    Ok(imageops::crop_imm(img, rect.x, rect.y, rect.width, rect.height).to_image())
}

/// Resizes `img` to `width × height` (a copy when it already has that size).
pub fn resize(img: &GrayImage, width: u32, height: u32, filter: ResizeFilter) -> GrayImage {
    if img.width() == width && img.height() == height {
        return img.clone();
    }
    imageops::resize(img, width, height, filter.to_image())
}

/// Decodes many files in parallel (rayon), optionally resizing each to `size = (width, height)`. The result has
/// one entry per path, in order; a failure of one file does not stop the others.
pub fn decode_many(paths: &[PathBuf], size: Option<(u32, u32)>, filter: ResizeFilter) -> Vec<Result<GrayImage>> {
    paths
        .par_iter()
        .map(|p| {
            let img = decode_luma(p)?;
            Ok(match size {
                Some((w, h)) => resize(&img, w, h, filter),
                None => img,
            })
        })
        .collect()
}

/// Writes an 8-bit PNG atomically: to a temporary file in the same folder, then renamed over `path`, so `path`
/// is either the old file or the complete new one. `channels` is 1 (gray) or 3 (RGB); `pixels` holds
/// `width × height × channels` bytes, row-major.
pub fn write_png_atomic(path: &Path, width: u32, height: u32, channels: u8, pixels: &[u8]) -> Result<()> {
    let color = match channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        c => return Err(DataError::Config(format!("write_png_atomic: {c} channels (expected 1 or 3)"))),
    };
    if pixels.len() != width as usize * height as usize * channels as usize {
        return Err(DataError::Config(format!(
            "write_png_atomic: {} bytes for a {width}x{height}x{channels} image",
            pixels.len()
        )));
    }
    let mut bytes = Vec::new();
    image::ImageEncoder::write_image(image::codecs::png::PngEncoder::new(&mut bytes), pixels, width, height, color)
        .map_err(|e| DataError::Image { path: path.to_path_buf(), reason: format!("cannot encode PNG: {e}") })?;
    Ok(sgm_core::fs::write_atomic(path, &bytes)?)
}

/// Support for 8-bit palette TIFFs, by rewriting the photometric interpretation in memory.
mod palette_tiff {
    const PHOTOMETRIC: u16 = 262;
    const BITS_PER_SAMPLE: u16 = 258;
    const COLOR_MAP: u16 = 320;
    const PALETTE: u16 = 3;
    const BLACK_IS_ZERO: u16 = 1;

    /// A copy of the file that reads as gray, the index → luma table, and whether the palette holds colour.
    pub(super) type Patched = (Vec<u8>, [u8; 256], bool);

    struct Reader<'a> {
        b: &'a [u8],
        little: bool,
    }

    impl Reader<'_> {
        fn u16(&self, at: usize) -> Result<u16, String> {
            let s = self.b.get(at..at + 2).ok_or("truncated TIFF header")?;
            Ok(if self.little { u16::from_le_bytes([s[0], s[1]]) } else { u16::from_be_bytes([s[0], s[1]]) })
        }
        fn u32(&self, at: usize) -> Result<u32, String> {
            let s = self.b.get(at..at + 4).ok_or("truncated TIFF header")?;
            let a = [s[0], s[1], s[2], s[3]];
            Ok(if self.little { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
        }
    }

    /// For an 8-bit palette TIFF: a copy of the file that reads as 8-bit gray (the palette indices) and the
    /// index → luma lookup table. `Ok(None)` for any other file (which the `image` crate then decodes itself).
    pub(super) fn inspect(bytes: &[u8]) -> Result<Option<Patched>, String> {
        let little = match bytes.get(..4) {
            Some([b'I', b'I', 42, 0]) => true,
            Some([b'M', b'M', 0, 42]) => false,
            _ => return Ok(None),
        };
        let r = Reader { b: bytes, little };
        let ifd = r.u32(4)? as usize;
        let n = r.u16(ifd)? as usize;
        let (mut photometric_at, mut photometric, mut bits, mut colormap) = (None, None, 1u16, None);
        for i in 0..n {
            let e = ifd + 2 + 12 * i;
            let tag = r.u16(e)?;
            match tag {
                PHOTOMETRIC => {
                    photometric_at = Some(e + 8);
                    photometric = Some(r.u16(e + 8)?);
                }
                BITS_PER_SAMPLE => bits = r.u16(e + 8)?,
                COLOR_MAP => colormap = Some((r.u32(e + 4)? as usize, r.u32(e + 8)? as usize)),
                _ => {}
            }
        }
        if photometric != Some(PALETTE) {
            return Ok(None);
        }
        if bits != 8 {
            return Err(format!("palette TIFF with {bits} bits per sample is not supported (only 8)"));
        }
        let (count, offset) = colormap.ok_or("palette TIFF without a ColorMap tag")?;
        if count != 3 * 256 {
            return Err(format!("palette TIFF ColorMap has {count} entries, expected 768"));
        }
        let mut lut = [0u8; 256];
        let mut colour = false;
        for (i, v) in lut.iter_mut().enumerate() {
            let red = f64::from(r.u16(offset + 2 * i)?);
            let green = f64::from(r.u16(offset + 2 * (256 + i))?);
            let blue = f64::from(r.u16(offset + 2 * (512 + i))?);
            colour |= red != green || green != blue;
            // Rec. 709 luma, as image's own RGB → luma conversion, from 16-bit palette entries.
            let luma = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 257.0;
            *v = luma.round().clamp(0.0, 255.0) as u8;
        }
        let at = photometric_at.ok_or("palette TIFF without a photometric tag")?;
        let mut patched = bytes.to_vec();
        let value = if little { BLACK_IS_ZERO.to_le_bytes() } else { BLACK_IS_ZERO.to_be_bytes() };
        patched[at..at + 2].copy_from_slice(&value);
        Ok(Some((patched, lut, colour)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal uncompressed little-endian 8-bit palette TIFF whose palette maps index i to gray 255 - i.
    fn palette_tiff(width: u32, height: u32, indices: &[u8]) -> Vec<u8> {
        let mut entries: Vec<(u16, u16, u32, u32)> = Vec::new();
        let header = 8u32;
        let n_entries = 10u32;
        let ifd_len = 2 + 12 * n_entries + 4;
        let cmap_off = header + ifd_len;
        let data_off = cmap_off + 768 * 2;
        entries.push((256, 4, 1, width));
        entries.push((257, 4, 1, height));
        entries.push((258, 3, 1, 8));
        entries.push((259, 3, 1, 1));
        entries.push((262, 3, 1, 3));
        entries.push((273, 4, 1, data_off));
        entries.push((277, 3, 1, 1));
        entries.push((278, 4, 1, height));
        entries.push((279, 4, 1, width * height));
        entries.push((320, 3, 768, cmap_off));
        let mut b = vec![b'I', b'I', 42, 0];
        b.extend_from_slice(&header.to_le_bytes());
        b.extend_from_slice(&(n_entries as u16).to_le_bytes());
        for (tag, ty, count, value) in entries {
            b.extend_from_slice(&tag.to_le_bytes());
            b.extend_from_slice(&ty.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            if ty == 3 && count == 1 {
                b.extend_from_slice(&(value as u16).to_le_bytes());
                b.extend_from_slice(&[0, 0]);
            } else {
                b.extend_from_slice(&value.to_le_bytes());
            }
        }
        b.extend_from_slice(&0u32.to_le_bytes());
        for _channel in 0..3 {
            for i in 0..256u32 {
                b.extend_from_slice(&(((255 - i) * 257) as u16).to_le_bytes());
            }
        }
        b.extend_from_slice(indices);
        b
    }

    #[test]
    fn palette_tiff_decodes_to_palette_luma() {
        let indices: Vec<u8> = (0..12).map(|i| i * 20).collect();
        let bytes = palette_tiff(4, 3, &indices);
        let img = decode_luma_bytes(&bytes, Path::new("x.tiff")).unwrap();
        assert_eq!((img.width(), img.height()), (4, 3));
        let expected: Vec<u8> = indices.iter().map(|i| 255 - i).collect();
        assert_eq!(img.into_raw(), expected);
    }

    #[test]
    fn gray_png_round_trips_and_resizes() {
        let img = GrayImage::from_fn(6, 4, |x, y| image::Luma([(x * 40 + y) as u8]));
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        let back = decode_luma_bytes(&bytes, Path::new("a.png")).unwrap();
        assert_eq!(back, img);
        let small = resize(&back, 3, 2, ResizeFilter::Triangle);
        assert_eq!((small.width(), small.height()), (3, 2));
        let cropped = crop(&back, Rect { x: 1, y: 1, width: 2, height: 3 }, Path::new("a.png")).unwrap();
        assert_eq!(cropped.get_pixel(0, 0).0[0], 41);
        let err = crop(&back, Rect { x: 5, y: 0, width: 2, height: 1 }, Path::new("a.png")).unwrap_err();
        assert!(err.to_string().contains("a.png"), "{err}");
    }

    #[test]
    fn png_writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        write_png_atomic(&path, 2, 3, 3, &rgb).unwrap();
        let back = image::open(&path).unwrap().into_rgb8();
        assert_eq!(back.into_raw(), rgb);
        assert!(write_png_atomic(&path, 2, 3, 3, &rgb[1..]).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let err = decode_luma_bytes(b"not an image", Path::new("dir/bad.png")).unwrap_err();
        assert!(err.to_string().contains("dir/bad.png"), "{err}");
        let err = decode_luma(Path::new("/nonexistent/file.png")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/file.png"), "{err}");
    }
}
